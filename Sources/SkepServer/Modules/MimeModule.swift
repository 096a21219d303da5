import SkepConfig
import SkepHTTP
#if canImport(Glibc)
import Glibc
#endif

/// Apache's mod_mime: labels a response from its file name's extensions — media type,
/// charset, language, content encoding — and picks a handler by extension (`AddHandler`).
///
/// As Apache's `find_ct` (the `type_checker` hook), every dot-separated part of the name
/// after the first is an extension (`index.html.en`, `file.tar.gz`), matched
/// case-insensitively and in any order; a later extension's type replaces an earlier
/// one, languages and encodings accumulate, and `ForceType` overrides them all.
public struct MimeModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "mime_module", sourceName: "mod_mime.c", directives: [
        DirectiveSpec("TypesConfig", .take1, .serverConfig, help: "the mime.types file, relative to ServerRoot") { d, scope throws(ConfigError) in
            let path = scope.serverRootRelative(d.arguments[0])
            scope.server[MimeServerConfig.self].typesConfig = path
            scope.server[MimeServerConfig.self].typesConfigLocation = d.location
            if MimeTypes.load(path: path) == nil {
                scope.warnings.append(d.warning("TypesConfig: cannot read \(path); Apache would refuse to start, Skep uses its built-in table of common types"))
            }
        },
        extensionDirective("AddType", "a media type and one or more file extensions") { info, value in info.type = value },
        extensionDirective("AddCharset", "a charset (e.g. UTF-8) and one or more file extensions") { info, value in info.charset = value },
        extensionDirective("AddLanguage", "a language (e.g. fr) and one or more file extensions") { info, value in info.language = value },
        extensionDirective("AddEncoding", "an encoding (e.g. gzip) and one or more file extensions") { info, value in info.encoding = value },
        extensionDirective("AddHandler", "a handler name and one or more file extensions") { info, value in info.handler = value },
        removeDirective("RemoveType", "one or more file extensions", .type),
        removeDirective("RemoveCharset", "one or more file extensions", .charset),
        removeDirective("RemoveLanguage", "one or more file extensions", .language),
        removeDirective("RemoveEncoding", "one or more file extensions", .encoding),
        removeDirective("RemoveHandler", "one or more file extensions", .handler),
        DirectiveSpec("ForceType", .take1, .anywhere, help: "a media type to force for every file, or None") { d, scope throws(ConfigError) in
            // Apache's core stores it lower-cased (`ap_set_string_slot_lower`); "none" undoes an inherited one.
            let value = d.arguments[0].lowercased()
            scope.directory[MimeDirConfig.self].forcedType = value == "none" ? "" : value
        },
        DirectiveSpec("DefaultLanguage", .take1, .anywhere, help: "the language of files whose extensions name none") { d, scope throws(ConfigError) in
            scope.directory[MimeDirConfig.self].defaultLanguage = d.arguments[0].lowercased()
        },
        DirectiveSpec("AddOutputFilter", .iterate2, .anywhere, help: "output filters (separated by ;) and one or more file extensions") { d, scope throws(ConfigError) in
            for ext in d.arguments.dropFirst() {
                let key = MimeDirConfig.key(ext)
                guard !key.isEmpty else { continue }
                scope.directory[MimeDirConfig.self].mappings[key, default: .init()].outputFilters = d.arguments[0]
                scope.directory[MimeDirConfig.self].mapsOutputFilters = true
            }
        },
        .accepted("AddInputFilter", .iterate2, .anywhere, help: "filters and one or more file extensions",
                  note: "accepted with no effect: Skep has no filter chain"),
        removeDirective("RemoveOutputFilter", "one or more file extensions", .outputFilters),
        .accepted("RemoveInputFilter", .iterate, .anywhere, help: "one or more file extensions",
                  note: "accepted with no effect: Skep has no filter chain"),
        DirectiveSpec("MultiviewsMatch", .iterate, [.server, .directory, .files], help: "NegotiatedOnly, Filters, Handlers or Any") { d, scope throws(ConfigError) in
            for word in d.arguments {
                var match = scope.directory[MimeDirConfig.self].multiviewsMatch ?? []
                if let problem = match.adding(word) { throw d.error(problem) }
                scope.directory[MimeDirConfig.self].multiviewsMatch = match
            }
        },
        .accepted("ModMimeUsePathInfo", .flag, .perDirectory, help: "On to match extensions of the path info too",
                  note: "accepted with no effect: Skep matches the file name's extensions only"),
    ], overrides: [
        "AddType": .fileInfo,
        "AddCharset": .fileInfo,
        "AddLanguage": .fileInfo,
        "AddEncoding": .fileInfo,
        "AddHandler": .fileInfo,
        "RemoveType": .fileInfo,
        "RemoveCharset": .fileInfo,
        "RemoveLanguage": .fileInfo,
        "RemoveEncoding": .fileInfo,
        "RemoveHandler": .fileInfo,
        "ForceType": .fileInfo,
        "DefaultLanguage": .fileInfo,
        "AddOutputFilter": .fileInfo,
        "AddInputFilter": .fileInfo,
        "RemoveOutputFilter": .fileInfo,
        "RemoveInputFilter": .fileInfo,
        "MultiviewsMatch": .fileInfo,
    ])

    /// The TypesConfig table in effect for this generation.
    public let types: MimeTypes
    /// Why the built-in table is in use, when it is (for the start-up log).
    public let typesWarning: String?

    public init(config: ServerConfig) throws {
        let server = config[MimeServerConfig.self]
        let (types, warning) = Self.loadTypes(server, serverRoot: config.serverRoot)
        self.init(types: types, typesWarning: warning)
        if let warning { Self.writeToStandardError("skep: warning: \(warning)\n") }
    }

    /// A module with a given table, for tests and embedders.
    public init(types: MimeTypes, typesWarning: String? = nil) {
        self.types = types
        self.typesWarning = typesWarning
    }

    /// Start-up warnings go to stderr: the error log is opened after the modules.
    static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }

    /// Apache reads `conf/mime.types` under ServerRoot when no TypesConfig is written and
    /// refuses to start when the file is missing. Skep keeps a server without the file
    /// serving: it tries Apache's default, then Debian's `/etc/mime.types`, then its
    /// built-in table, and says so when a TypesConfig that was written could not be read.
    static func loadTypes(_ server: MimeServerConfig, serverRoot: String) -> (MimeTypes, String?) {
        if let path = server.typesConfig {
            if let table = MimeTypes.load(path: path) { return (table, nil) }
            let place = server.typesConfigLocation.map { "\($0): " } ?? ""
            return (.builtin, "\(place)TypesConfig \(path) cannot be read; using Skep's built-in table of common types")
        }
        let apacheDefault = serverRoot.hasSuffix("/") ? serverRoot + "conf/mime.types" : serverRoot + "/conf/mime.types"
        for path in [apacheDefault, "/etc/mime.types"] {
            if let table = MimeTypes.load(path: path) { return (table, nil) }
        }
        return (.builtin, nil)
    }

    /// Apache's `find_ct`, run at the fixup phase: sets the request's type, language,
    /// encoding and (when nothing chose one yet) handler from its file name.
    public func fixup(_ request: Request, _ server: ServerContext) -> HookResult {
        guard let filename = request.filename else { return .declined }
        let result = resolve(filename: filename, config: request.config(MimeDirConfig.self))
        if let type = result.contentType { request.contentType = type }
        if let language = result.contentLanguage { request.contentLanguage = language }
        if let encoding = result.contentEncoding { request.contentEncoding = encoding }
        if request.handler == nil, let handler = result.handler { request.handler = handler }
        return .declined
    }

    /// Apache's `mime_insert_filters`: the filters `AddOutputFilter` maps the file's
    /// extensions to, in extension order.
    public func insertFilters(_ request: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        let config = request.config(MimeDirConfig.self)
        // Most configurations have no AddOutputFilter: no extension is split then.
        guard config.mapsOutputFilters, let filename = request.filename else { return }
        let mappings = config.mappings
        for ext in Self.extensions(of: filename) {
            guard let names = mappings[ext]?.outputFilters else { continue }
            for name in names.split(separator: ";") where !name.isEmpty { chain.add(named: String(name), server) }
        }
    }

    /// What the extensions of a name say (the part after the last `/` is used).
    public struct Labels: Sendable, Hashable {
        /// The media type with `; charset=` when a charset applies; nil when no extension names a type
        /// (Apache then sends no Content-Type at all).
        public var contentType: String?
        /// Languages joined with `","`, as Apache writes `Content-Language` (`apr_array_pstrcat` with a comma).
        public var contentLanguage: String?
        /// Encodings joined with `", "` in extension order (`x-gzip`).
        public var contentEncoding: String?
        public var handler: String?
    }

    /// The media type for a file name with the TypesConfig table and the
    /// per-directory mappings of `config` (none by default). Used by other modules
    /// (directory listings, error documents) and tests.
    public func contentType(forFilename filename: String, config: MimeDirConfig = MimeDirConfig()) -> String? {
        resolve(filename: filename, config: config).contentType
    }

    /// Every label the name's extensions give, as Apache's `find_ct` computes them.
    public func resolve(filename: String, config: MimeDirConfig) -> Labels {
        var labels = Labels()
        var charset: String?
        var languages: [String] = []
        for ext in Self.extensions(of: filename) {
            let info = config.mappings[ext]
            if info?.type == nil, let type = types.type(forExtension: ext) {
                labels.contentType = type
            }
            guard let info else { continue }
            if let type = info.type { labels.contentType = type }
            if let language = info.language { languages.append(language) }
            if let encoding = info.encoding {
                labels.contentEncoding = labels.contentEncoding.map { $0 + ", " + encoding } ?? encoding
            }
            if let value = info.charset { charset = value }
            if let handler = info.handler { labels.handler = handler }
        }
        if let charset, let type = labels.contentType {
            labels.contentType = Self.withCharset(type, charset)
        }
        if !languages.isEmpty {
            labels.contentLanguage = languages.joined(separator: ",")
        } else if let language = config.defaultLanguage {
            labels.contentLanguage = language
        }
        if let forced = config.forcedType, !forced.isEmpty {
            // Apache's core applies ForceType after mod_mime, replacing the type whole.
            labels.contentType = forced
        }
        return labels
    }

    /// The dot-separated parts of the name after the last `/`, but the first, ASCII
    /// lower-cased as the table's keys are; an empty part (`foo..tar`) is skipped, as
    /// Apache's loop does. Split on bytes, as Apache does, in the name's own storage
    /// (this runs on every request).
    static func extensions(of filename: String) -> [String] {
        var name = filename
        return name.withUTF8 { bytes in
            let base = (bytes.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
            guard var dot = bytes[base...].firstIndex(of: UInt8(ascii: ".")) else { return [] }
            var parts: [String] = []
            while dot < bytes.count {
                let end = bytes[(dot + 1)...].firstIndex(of: UInt8(ascii: ".")) ?? bytes.count
                let part = UnsafeBufferPointer(rebasing: bytes[(dot + 1)..<end])
                if !part.isEmpty {
                    // Lower-casing ASCII letters, and splitting at an ASCII dot, keeps UTF-8 valid.
                    parts.append(String(unsafeUninitializedCapacity: part.count) { out in
                        for (k, b) in part.enumerated() { out[k] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
                        return part.count
                    })
                }
                dot = end
            }
            return parts
        }
    }

    /// `type; charset=X`, replacing a charset parameter the type already had, as Apache
    /// rebuilds the type from its parsed parameters.
    static func withCharset(_ type: String, _ charset: String) -> String {
        let parts = type.split(separator: ";", omittingEmptySubsequences: false)
        var out = String(parts[0]).trimmingSpaces()
        var replaced = false
        for parameter in parts.dropFirst() {
            let p = String(parameter).trimmingSpaces()
            if p.isEmpty { continue }
            if p.lowercased().hasPrefix("charset=") {
                if !replaced { out += "; charset=" + charset; replaced = true }
            } else {
                out += "; " + p
            }
        }
        if !replaced { out += "; charset=" + charset }
        return out
    }

    // MARK: - Directive table helpers

    /// `AddType type ext...` and its kin: Apache's `add_extension_info` lower-cases both
    /// the value and the extensions and drops a leading dot.
    static func extensionDirective(_ name: String, _ help: String,
                                   _ set: @escaping @Sendable (inout MimeDirConfig.ExtensionInfo, String) -> Void) -> DirectiveSpec {
        DirectiveSpec(name, .iterate2, .anywhere, help: help) { d, scope throws(ConfigError) in
            let value = d.arguments[0].lowercased()
            for ext in d.arguments.dropFirst() {
                let key = MimeDirConfig.key(ext)
                guard !key.isEmpty else { continue }
                set(&scope.directory[MimeDirConfig.self].mappings[key, default: .init()], value)
            }
        }
    }

    /// `RemoveType ext...` and its kin: as Apache's `remove_extension_info`, the removal
    /// applies to what the enclosing sections mapped when the records are merged.
    static func removeDirective(_ name: String, _ help: String, _ field: MimeDirConfig.Field) -> DirectiveSpec {
        DirectiveSpec(name, .iterate, .anywhere, help: help) { d, scope throws(ConfigError) in
            for ext in d.arguments {
                let key = MimeDirConfig.key(ext)
                guard !key.isEmpty else { continue }
                scope.directory[MimeDirConfig.self].removals.append(.init(ext: key, field: field))
                scope.directory[MimeDirConfig.self].mappings[key]?.clear(field)
            }
        }
    }
}

/// mod_mime's per-directory record (Apache's `mime_dir_config`): extension mappings
/// from the Add* directives, the Remove* directives waiting to apply to the parent's
/// mappings, `ForceType` and `DefaultLanguage`.
public struct MimeDirConfig: ModuleConfig {
    /// What one extension maps to; nil fields are not set here and inherit.
    public struct ExtensionInfo: Sendable, Hashable {
        public var type: String?
        public var charset: String?
        public var language: String?
        public var encoding: String?
        public var handler: String?
        /// `AddOutputFilter`'s names, `;`-separated as written.
        public var outputFilters: String?
        public init() {}

        mutating func clear(_ field: Field) {
            switch field {
            case .type: type = nil
            case .charset: charset = nil
            case .language: language = nil
            case .encoding: encoding = nil
            case .handler: handler = nil
            case .outputFilters: outputFilters = nil
            }
        }

        /// Apache's `overlay_extension_mappings`: the child's fields win.
        func overlaid(with child: ExtensionInfo) -> ExtensionInfo {
            var out = self
            if let v = child.type { out.type = v }
            if let v = child.charset { out.charset = v }
            if let v = child.language { out.language = v }
            if let v = child.encoding { out.encoding = v }
            if let v = child.handler { out.handler = v }
            if let v = child.outputFilters { out.outputFilters = v }
            return out
        }

        var isEmpty: Bool { type == nil && charset == nil && language == nil && encoding == nil && handler == nil && outputFilters == nil }
    }

    public enum Field: Sendable, Hashable { case type, charset, language, encoding, handler, outputFilters }

    public struct Removal: Sendable, Hashable {
        public var ext: String
        public var field: Field
    }

    /// Lower-cased extension without its dot, to what it maps to.
    public var mappings: [String: ExtensionInfo] = [:]
    /// Remove* directives of this section, applied to the merged mappings.
    public var removals: [Removal] = []
    /// `MultiviewsMatch`: which extensions count when MultiViews matches names.
    public var multiviewsMatch: MultiviewsMatch?
    /// `ForceType`; `""` for `ForceType None`.
    public var forcedType: String?
    public var defaultLanguage: String?
    /// Whether any extension maps to output filters (kept through merges).
    public var mapsOutputFilters = false

    public init() {}

    /// Apache's `merge_mime_dir_configs`: the parent's mappings overlaid field by field
    /// with the child's, then the child's removals taken out; ForceType and
    /// DefaultLanguage are the child's when it set them.
    public func merged(with child: MimeDirConfig) -> MimeDirConfig {
        var out = MimeDirConfig()
        out.mappings = mappings
        for (ext, info) in child.mappings {
            out.mappings[ext] = (out.mappings[ext] ?? ExtensionInfo()).overlaid(with: info)
        }
        for removal in child.removals {
            out.mappings[removal.ext]?.clear(removal.field)
            if out.mappings[removal.ext]?.isEmpty == true { out.mappings[removal.ext] = nil }
        }
        out.multiviewsMatch = child.multiviewsMatch ?? multiviewsMatch
        out.forcedType = child.forcedType ?? forcedType
        out.defaultLanguage = child.defaultLanguage ?? defaultLanguage
        out.mapsOutputFilters = out.mappings.values.contains { $0.outputFilters != nil }
        return out
    }

    static func key(_ ext: String) -> String {
        var e = Substring(ext)
        if e.hasPrefix(".") { e = e.dropFirst() }
        return e.lowercased()
    }
}

/// mod_mime's per-server record: the `TypesConfig` path (main server only).
public struct MimeServerConfig: ModuleConfig {
    public var typesConfig: String?
    public var typesConfigLocation: SourceLocation?
    public init() {}
    public func merged(with child: MimeServerConfig) -> MimeServerConfig { self }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
