import CZlib
import SkepConfig
import SkepHTTP
import SkepSystem

/// Apache's mod_deflate, output side: the `DEFLATE` filter compresses a response with
/// gzip when the client asks for it, with Apache's exact choices (see `DeflateFilter`).
/// Its directives are per server, as Apache's (`RSRC_CONF`).
public struct DeflateModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "deflate_module", sourceName: "mod_deflate.c", directives: [
        level("DeflateCompressionLevel", "the compression level, 1 (fastest) to 9 (smallest)",
              "Compression Level must be between 1 and 9", 1...9) { c, v in c.compressionLevel = v },
        level("DeflateWindowSize", "the window size, 1 to 15 (bits)",
              "DeflateWindowSize must be between 1 and 15", 1...15) { c, v in c.windowBits = v },
        level("DeflateMemLevel", "how much memory zlib uses, 1 to 9",
              "DeflateMemLevel must be between 1 and 9", 1...9) { c, v in c.memLevel = v },
        DirectiveSpec("DeflateBufferSize", .take1, .server, help: "the size of the chunks zlib compresses, in bytes (default 8096)") { d, scope throws(ConfigError) in
            guard let n = atoi(d.arguments[0]), n > 0 else { throw d.error("DeflateBufferSize should be positive") }
            scope.server[DeflateServerConfig.self].bufferSize = n
        },
        DirectiveSpec("DeflateFilterNote", .take12, .server, help: "[Input|Output|Ratio] and the name of a note for the access log") { d, scope throws(ConfigError) in
            var c = scope.server[DeflateServerConfig.self]
            if d.arguments.count == 1 {
                c.ratioNote = d.arguments[0]
            } else {
                switch d.arguments[0].lowercased() {
                case "ratio": c.ratioNote = d.arguments[1]
                case "input": c.inputNote = d.arguments[1]
                case "output": c.outputNote = d.arguments[1]
                default: throw d.error("Unknown note type \(d.arguments[0])")
                }
            }
            scope.server[DeflateServerConfig.self] = c
        },
        DirectiveSpec("DeflateAlterETag", .take1, .server, help: "AddSuffix (default), NoChange or Remove") { d, scope throws(ConfigError) in
            let mode: DeflateServerConfig.ETagMode
            switch d.arguments[0].lowercased() {
            case "addsuffix": mode = .addSuffix
            case "nochange": mode = .noChange
            case "remove": mode = .remove
            default: throw d.error("DeflateAlterETAG accepts only 'NoChange', 'AddSuffix', and 'Remove'")
            }
            scope.server[DeflateServerConfig.self].alterETag = mode
        },
        refusedInput("DeflateInflateLimitRequestBody"),
        refusedInput("DeflateInflateRatioLimit"),
        refusedInput("DeflateInflateRatioBurst"),
    ], overrides: [
        "DeflateInflateLimitRequestBody": .all,
        "DeflateInflateRatioLimit": .all,
        "DeflateInflateRatioBurst": .all,
    ])

    /// Compressed bodies of whole files, per child.
    let cache: DeflateCache

    public init(config: ServerConfig) throws {
        cache = DeflateCache(capacity: DeflateCache.defaultCapacity)
    }

    public var outputFilters: [any OutputFilter] { [DeflateFilter(cache: cache)] }

    /// A level-style number, read as Apache's `atoi` reads it and bounded with its message.
    static func level(_ name: String, _ help: String, _ message: String, _ range: ClosedRange<Int>,
                      _ set: @escaping @Sendable (inout DeflateServerConfig, Int32) -> Void) -> DirectiveSpec {
        DirectiveSpec(name, .take1, .server, help: help) { d, scope throws(ConfigError) in
            guard let n = atoi(d.arguments[0]), range.contains(n) else { throw d.error(message) }
            set(&scope.server[DeflateServerConfig.self], Int32(n))  // trap-safe: within range, at most 15
        }
    }

    /// The input filter's directives: Skep has no input filters yet, so a configuration
    /// that relies on them is refused rather than silently served uncompressed.
    static func refusedInput(_ name: String) -> DirectiveSpec {
        DirectiveSpec(name, .take1, .anywhere, help: "a limit of the INFLATE input filter") { d, _ throws(ConfigError) in
            throw d.error("\(name): Skep has no INFLATE input filter (request bodies are not decompressed); remove the directive")
        }
    }

    /// C's `atoi` as Apache's directives use it: leading blanks, a sign, digits, the rest
    /// ignored; nil for a value that does not fit.
    static func atoi(_ text: String) -> Int? {
        var s = Substring(text)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        var negative = false
        if let f = s.first, f == "-" || f == "+" { negative = f == "-"; s.removeFirst() }
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard digits.count <= 18 else { return nil }
        let value = Int(digits) ?? 0  // trap-safe: failable init, at most 18 digits
        return negative ? -value : value
    }
}

/// mod_deflate's per-server record (`deflate_filter_config`).
public struct DeflateServerConfig: ModuleConfig {
    public enum ETagMode: Sendable { case addSuffix, noChange, remove }

    /// zlib's level; -1 is zlib's default (6), Apache's when none is written.
    public var compressionLevel: Int32 = -1
    public var windowBits: Int32 = 15
    public var memLevel: Int32 = 9
    public var bufferSize = 8096
    public var alterETag = ETagMode.addSuffix
    public var inputNote: String?
    public var outputNote: String?
    public var ratioNote: String?

    public init() {}

    /// Apache's `merge_deflate_config` does not exist: a virtual host gets its own record
    /// made from the defaults, not the main server's (`create_deflate_server_config`
    /// only). The child is kept as it is.
    public func merged(with child: DeflateServerConfig) -> DeflateServerConfig { child }
}
