import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_autoindex: a listing for a directory without an index file when
/// `Options Indexes` allows it, and 403 when it does not. The icon and description
/// directives of Debian's `autoindex.conf` are accepted; the listing is Apache's
/// `HTMLTable` form without icons.
public struct AutoindexModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "autoindex_module", sourceName: "mod_autoindex.c", directives: [
        DirectiveSpec("IndexIgnore", .iterate, .anywhere, help: "wildcards of file names to leave out of listings") { d, scope throws(ConfigError) in
            scope.directory[AutoindexConfig.self].ignore += d.arguments
        },
        DirectiveSpec("IndexIgnoreReset", .flag, .anywhere, help: "On to forget the enclosing IndexIgnore list") { d, scope throws(ConfigError) in
            if try d.flag() { scope.directory[AutoindexConfig.self].resetIgnore = true }
        },
        accepted("IndexOptions", .iterate), accepted("AddIcon", .iterate2), accepted("AddIconByType", .iterate2),
        accepted("AddIconByEncoding", .iterate2), accepted("AddAlt", .iterate2), accepted("AddAltByType", .iterate2),
        accepted("AddAltByEncoding", .iterate2), accepted("AddDescription", .iterate2), accepted("DefaultIcon", .take1),
        accepted("HeaderName", .take1), accepted("ReadmeName", .take1), accepted("IndexOrderDefault", .take2),
        accepted("IndexStyleSheet", .take1), accepted("IndexHeadInsert", .take1),
    ], overrides: [
        "IndexIgnore": .indexes,
        "IndexIgnoreReset": .indexes,
        "IndexOptions": .indexes,
        "AddIcon": .indexes,
        "AddIconByType": .indexes,
        "AddIconByEncoding": .indexes,
        "AddAlt": .indexes,
        "AddAltByType": .indexes,
        "AddAltByEncoding": .indexes,
        "AddDescription": .indexes,
        "DefaultIcon": .indexes,
        "HeaderName": .indexes,
        "ReadmeName": .indexes,
        "IndexOrderDefault": .indexes,
        "IndexStyleSheet": .indexes,
        "IndexHeadInsert": .indexes,
    ])

    static func accepted(_ name: String, _ count: ArgumentCount) -> DirectiveSpec {
        .accepted(name, count, .anywhere, help: "listing presentation",
                  note: "accepted; Skep's listings are plain tables without icons, descriptions or header files")
    }

    public init(config: ServerConfig) {}

    public var handlers: [String: Handler] {
        [StaticFiles.directoryType: { r, server in AutoindexModule.listing(r, server) }]
    }

    static func listing(_ r: Request, _ server: ServerContext) -> Response {
        let processor = RequestProcessor(context: server)
        guard r.head.method == .get || r.head.method == .head else {
            return processor.error(.methodNotAllowed, r, allow: "GET,HEAD,POST,OPTIONS")
        }
        guard r.config(CoreDirConfig.self).effectiveOptions.contains(.indexes) else {
            server.errorLog.log(.error, module: "autoindex", client: r.client,
                                "AH01276: Cannot serve directory \(r.filename ?? r.uri): No matching DirectoryIndex found, and server-generated directory index forbidden by Options directive")
            return processor.error(.forbidden, r)
        }
        guard let directory = r.filename, let entries = try? Directory.entries(at: directory) else {
            return processor.error(.forbidden, r)
        }
        let ignore = r.config(AutoindexConfig.self).ignore
        let title = "Index of \(ErrorPages.escape(r.uri))"
        var html = """
            <!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
            <html>
             <head>
              <title>\(title)</title>
             </head>
             <body>
            <h1>\(title)</h1>
              <table>
               <tr><th>Name</th><th>Last modified</th><th>Size</th></tr>
               <tr><th colspan="3"><hr></th></tr>

            """
        if r.uri != "/" {
            html += "<tr><td><a href=\"../\">Parent Directory</a></td><td>&nbsp;</td><td align=\"right\">  - </td></tr>\n"
        }
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            if ignore.contains(where: { Wildcard.matches(pattern: $0, entry.name) }) { continue }
            let path = directory + "/" + entry.name
            guard let st = try? FileSystem.status(path) else { continue }
            let name = entry.name + (st.isDirectory ? "/" : "")
            let size = st.isDirectory ? "-" : humanSize(st.size)
            html += "<tr><td><a href=\"\(escapeHref(name))\">\(ErrorPages.escape(name))</a></td><td align=\"right\">\(HTTPDate(secondsSince1970: st.modificationTime.seconds))</td><td align=\"right\">\(size)</td></tr>\n"
        }
        html += "   <tr><th colspan=\"3\"><hr></th></tr>\n</table>\n"
        if let signature = RequestProcessor.signature(r, server) { html += signature }
        html += "</body></html>\n"
        return Response(status: .ok, headers: [("Content-Type", "text/html;charset=UTF-8")], body: .bytes(Array(html.utf8)))
    }

    static func humanSize(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes)" }
        if bytes < 1024 * 1024 { return "\((bytes + 512) / 1024)K" }
        return "\((bytes + 512 * 1024) / (1024 * 1024))M"
    }

    static func escapeHref(_ name: String) -> String {
        var out = ""
        for byte in name.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-_.~/".utf8.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

public struct AutoindexConfig: ModuleConfig {
    public var ignore: [String] = []
    public var resetIgnore = false
    public init() {}
    public func merged(with child: AutoindexConfig) -> AutoindexConfig {
        var out = child
        if !child.resetIgnore { out.ignore = ignore + child.ignore }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
