import SkepConfig
@testable import SkepServer
import Testing
import SkepSystem
import SkepTestSupport

/// mod_negotiation's pieces without sockets: Apache's header parsing, its selection
/// algorithm case by case, the type map format, and the directives' errors.
@Suite struct NegotiationTests {
    // MARK: - Helpers

    static func variant(_ name: String, type: String = "text/html", languages: [String] = [], encoding: String? = nil,
                        charset: String = "", qs: Float = 1, bytes: Int64 = 10) -> Variant {
        var v = Variant(fileName: name)
        var item = AcceptHeader.parseEntry(type)
        item.quality = qs
        if !charset.isEmpty { item.charset = charset }
        v.setType(item)
        v.languages = languages
        v.encoding = encoding
        v.bytes = bytes
        return v
    }

    static let en = variant("doc.html.en", languages: ["en"])
    static let fr = variant("doc.html.fr", languages: ["fr"])
    static let plain = variant("doc.html", bytes: 11)
    static let gz = variant("doc.html.gz", type: "application/gzip", encoding: "gzip", bytes: 2)

    /// Runs a selection and returns the chosen file name, or "406"/"300".
    static func choose(_ variants: [Variant], priority: [String]? = nil, force: VariantSelection.ForcePriority = [],
                       _ request: VariantSelection.Request = .init(),
                       inspect: (VariantSelection) -> Void = { _ in }) -> String {
        var selection = VariantSelection(variants: variants, languagePriority: priority, force: force)
        selection.run(request)
        inspect(selection)
        switch selection.outcome {
        case .choice(let k): return selection.variants[k].fileName
        case .notAcceptable: return "406"
        case .multipleChoices: return "300"
        }
    }

    // MARK: - Header parsing

    @Test func acceptListsParseAsApacheReadsThem() {
        let items = AcceptHeader.parseList("text/html;level=1;q=0.5, */*;q=0.1,Text/Plain")
        #expect(items.map(\.name) == ["text/html", "*/*", "text/plain"])
        #expect(items.map(\.quality) == [0.5, 0.1, 1])
        #expect(items[0].level == 1)
        // Apache's kludge: HTML is level 2 unless the client names a level.
        #expect(AcceptHeader.parseList("text/html")[0].level == 2)
        // The old space-separated form is two elements.
        #expect(AcceptHeader.parseList("text/html text/plain").map(\.name) == ["text/html", "text/plain"])
        // Quoted parameters, names and values lower-cased.
        let typed = AcceptHeader.parseEntry("text/html; CHARSET=\"UTF-8\"; qs=0.7")
        #expect(typed.charset == "utf-8")
        #expect(typed.quality == 0.7)
        // Empty elements are kept, as Apache keeps them.
        #expect(AcceptHeader.parseList("en,,fr").map(\.name) == ["en", "", "fr"])
        // A parameter without '=' is ignored.
        #expect(AcceptHeader.parseList("en;q;x=1")[0].quality == 1)
    }

    @Test(arguments: [
        ("1", Float(1)), ("0", 0), ("0.5", 0.5), (".25", 0.25), ("0.1234", 0.123), ("0.999", 0.999),
        ("abc", 1), ("0.x", 0), ("", 1), ("  0.2", 0.2), ("1.0", 1), ("2", 1),
    ])
    func qualityValuesReadAsAtoq(_ text: String, _ expected: Float) {
        #expect(AcceptHeader.quality(text) == expected)
    }

    // MARK: - Selection

    @Test func withoutAcceptLanguageLanguagePriorityDecides() {
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr", "en"]) == "doc.html.fr")
        #expect(Self.choose([Self.en, Self.fr], priority: ["en", "fr"]) == "doc.html.en")
        // ForceLanguagePriority None: no priority, the shorter wins, then the first.
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr", "en"], force: .none) == "doc.html.en")
    }

    @Test func acceptLanguageQualitiesDecide() {
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr"], .init(acceptLanguage: "en")) == "doc.html.en")
        #expect(Self.choose([Self.en, Self.fr], .init(acceptLanguage: "en;q=0.4, fr;q=0.5")) == "doc.html.fr")
        // Equal qualities: the header's order does not count, LanguagePriority does.
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr", "en"], .init(acceptLanguage: "en, fr")) == "doc.html.fr")
        // en-US matches en through Apache's fiddle (q 0.001).
        #expect(Self.choose([Self.en, Self.fr], .init(acceptLanguage: "en-US")) == "doc.html.en")
        // A tag matches a longer variant tag up to '-'.
        let enGB = Self.variant("doc.html.en-gb", languages: ["en-gb"])
        #expect(Self.choose([enGB, Self.fr], .init(acceptLanguage: "en, fr;q=0.9")) == "doc.html.en-gb")
        // '*' makes everything acceptable at its q.
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr"], .init(acceptLanguage: "de, *;q=0.1")) == "doc.html.fr")
    }

    @Test func unlistedLanguagesFollowForceLanguagePriority() {
        // Prefer alone: nothing acceptable.
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr", "en"], force: .prefer, .init(acceptLanguage: "de")) == "406")
        // Fallback: the first of LanguagePriority.
        #expect(Self.choose([Self.en, Self.fr], priority: ["fr", "en"], force: [.prefer, .fallback], .init(acceptLanguage: "de")) == "doc.html.fr")
        #expect(Self.choose([Self.en, Self.fr], priority: ["en"], force: .fallback, .init(acceptLanguage: "de")) == "doc.html.en")
        // A variant without language is acceptable, just, when nothing else is.
        #expect(Self.choose([Self.en, Self.fr, Self.plain], priority: ["fr"], .init(acceptLanguage: "de")) == "doc.html")
        #expect(Self.choose([Self.en, Self.fr, Self.plain], priority: ["fr"], .init(acceptLanguage: "en")) == "doc.html.en")
        // q=0 excludes a language even with Fallback (it is explicitly refused).
        #expect(Self.choose([Self.en], priority: ["en"], force: .fallback, .init(acceptLanguage: "en;q=0")) == "doc.html.en")
    }

    @Test func mediaTypesAndWildcards() {
        let text = Self.variant("doc.txt", type: "text/plain", bytes: 1)
        #expect(Self.choose([Self.plain, text], .init(accept: "text/plain")) == "doc.txt")
        #expect(Self.choose([Self.plain, text], .init(accept: "text/html;q=0.5, text/plain;q=0.6")) == "doc.txt")
        // Without q-values a wildcard match counts for 0.01/0.02: the named type wins.
        #expect(Self.choose([Self.plain, text], .init(accept: "text/html, */*")) == "doc.html")
        #expect(Self.choose([Self.plain, text], .init(accept: "text/*")) == "doc.txt")  // equal: the smaller
        // q=0 refuses a type.
        #expect(Self.choose([Self.plain], .init(accept: "text/html;q=0")) == "406")
        #expect(Self.choose([Self.plain, text], .init(accept: "*/*, text/plain;q=0")) == "doc.html")
        // Without Accept everything is */*.
        #expect(Self.choose([Self.plain, text]) == "doc.txt")
    }

    @Test func encodingsFollowAcceptEncoding() {
        let gzHTML = Self.variant("doc.html.gz", encoding: "gzip", bytes: 2)
        // No Accept-Encoding: encoded variants count half.
        #expect(Self.choose([Self.plain, gzHTML]) == "doc.html")
        // gzip named: it beats identity (0.0001 when unnamed).
        #expect(Self.choose([Self.plain, gzHTML], .init(acceptEncoding: "gzip")) == "doc.html.gz")
        #expect(Self.choose([Self.plain, gzHTML], .init(acceptEncoding: "x-gzip")) == "doc.html.gz")
        // identity;q=0 and no gzip: nothing.
        #expect(Self.choose([Self.plain, gzHTML], .init(acceptEncoding: "identity;q=0")) == "406")
        #expect(Self.choose([gzHTML], .init(acceptEncoding: "")) == "406")
        // no-gzip drops the encoded variant; gzip-only-text/html keeps HTML.
        var request = VariantSelection.Request(acceptEncoding: "gzip")
        request.noGzip = true
        #expect(Self.choose([Self.plain, gzHTML], request) == "doc.html")
        request.noGzip = false
        request.gzipOnlyTextHTML = true
        #expect(Self.choose([Self.plain, gzHTML], request) == "doc.html.gz")
        #expect(Self.choose([Self.plain, Self.gz], request) == "doc.html")
    }

    @Test func charsetsAndLevels() {
        let utf8 = Self.variant("a.utf8.html", charset: "utf-8", bytes: 50)
        let latin = Self.variant("a.latin.html", charset: "iso-8859-1", bytes: 5)
        // Equal otherwise, a charset other than ISO-8859-1 is preferred.
        #expect(Self.choose([latin, utf8]) == "a.utf8.html")
        #expect(Self.choose([utf8, latin], .init(acceptCharset: "iso-8859-1")) == "a.latin.html")
        #expect(Self.choose([utf8], .init(acceptCharset: "iso-8859-1")) == "406")
        #expect(Self.choose([utf8], .init(acceptCharset: "iso-8859-1, *;q=0.2")) == "a.utf8.html")
        let level3 = Self.variant("h3.html", type: "text/html;level=3", bytes: 1)
        let level2 = Self.variant("h2.html", type: "text/html;level=2", bytes: 9)
        #expect(Self.choose([level3, level2], .init(accept: "text/html")) == "h2.html")
        #expect(Self.choose([level3, level2], .init(accept: "text/html;level=3")) == "h3.html")
    }

    @Test func sourceQualityLengthAndEnvironment() {
        let low = Self.variant("a.html", qs: 0.5, bytes: 1)
        let high = Self.variant("b.html", qs: 1, bytes: 100)
        #expect(Self.choose([low, high]) == "b.html")
        // All equal: the smaller file.
        #expect(Self.choose([Self.variant("big.html", bytes: 9), Self.variant("small.html", bytes: 3)]) == "small.html")
        var request = VariantSelection.Request(acceptLanguage: "en")
        request.preferLanguage = "fr"
        #expect(Self.choose([Self.en, Self.fr], request) == "doc.html.fr")
        request.preferLanguage = "de"  // no such variant: negotiated as usual
        #expect(Self.choose([Self.en, Self.fr], request) == "doc.html.en")
    }

    @Test func varyTCNAndAlternates() {
        _ = Self.choose([Self.en, Self.fr], .init(acceptLanguage: "en")) { s in
            #expect(s.vary == "negotiate,accept-language")
            #expect(s.tcn == "choice")
            #expect(s.alternates == nil)
        }
        _ = Self.choose([Self.plain, Self.en, Self.fr, Self.gz], .init(accept: "text/plain")) { s in
            #expect(s.outcome == .notAcceptable)
            #expect(s.vary == "negotiate,accept,accept-language,accept-encoding")
            #expect(s.tcn == "list")
            #expect(s.alternates == #"{"doc.html" 1 {type text/html} {length 11}}, {"doc.html.en" 1 {type text/html} {language en} {length 10}}, {"doc.html.fr" 1 {type text/html} {language fr} {length 10}}, {"doc.html.gz" 1 {type application/gzip} {encoding gzip} {length 2}}"#)
            #expect(s.variantList() == "Available variants:\n<ul>\n<li><a href=\"doc.html\">doc.html</a> , type text/html</li>\n<li><a href=\"doc.html.en\">doc.html.en</a> , type text/html, language en</li>\n<li><a href=\"doc.html.fr\">doc.html.fr</a> , type text/html, language fr</li>\n<li><a href=\"doc.html.gz\">doc.html.gz</a> , type application/gzip, encoding gzip</li>\n</ul>\n")
        }
        // Not GET/HEAD: not transparent, no negotiate and no TCN.
        var post = VariantSelection.Request(acceptLanguage: "en")
        post.isGetOrHead = false
        _ = Self.choose([Self.en, Self.fr], post) { s in
            #expect(s.vary == "accept-language")
            #expect(s.tcn == nil)
        }
        // One variant: nothing varies but negotiation itself.
        _ = Self.choose([Self.en]) { s in #expect(s.vary == "negotiate") }
        #expect(VariantSelection.sourceQualityText(1) == "1")
        #expect(VariantSelection.sourceQualityText(0.5) == "0.5")
        #expect(VariantSelection.sourceQualityText(0.25) == "0.25")
        #expect(VariantSelection.sourceQualityText(0.125) == "0.125")
        #expect(VariantSelection.sourceQualityText(0) == "0")
    }

    @Test func transparentNegotiationClients() {
        var request = VariantSelection.Request(accept: "text/plain")
        request.negotiate = "trans"
        #expect(Self.choose([Self.en, Self.fr], request) == "300")
        // Lynx's bare `trans` is ignored.
        request.userAgent = "Lynx/2.8"
        #expect(Self.choose([Self.en, Self.fr], request) == "406")
        // `*` lets the server choose, without the fiddles, and sends Alternates.
        var star = VariantSelection.Request(acceptLanguage: "en")
        star.negotiate = "*"
        _ = Self.choose([Self.en, Self.fr], star) { s in
            #expect(s.outcome == .choice(0))
            #expect(s.alternates != nil)
        }
        // RVSA/1.0: a variant that is not definite (no Accept-Language) is a list.
        var rvsa = VariantSelection.Request()
        rvsa.negotiate = "1.0"
        #expect(Self.choose([Self.en, Self.fr], rvsa) == "300")
        rvsa.accept = "text/html"
        rvsa.acceptLanguage = "fr"
        #expect(Self.choose([Self.en, Self.fr], rvsa) == "doc.html.fr")
    }

    // MARK: - Type maps

    @Test func typeMapsParseAsApacheReadsThem() {
        let text = """
            # a comment
            URI: doc.en.html
            Content-Type: text/html; qs=0.5 (half)
            Content-Language: en, en-GB
            Description: the English
              one

            URI: doc.txt
            # between fields
            Content-type: text/plain;charset=UTF-8
            Content-Encoding: x-gzip
            Content-Length: 42

            URI: ignored-no-content

            Content-Type: text/plain
            Body:----
            Hello inline
            ----

            URI: no-content-after

            """
        let parsed = TypeMap.parse(Array(text.utf8), mapName: "m.var", mapPath: "/d/m.var")
        #expect(parsed.error == nil)
        #expect(parsed.warnings.isEmpty)
        #expect(parsed.variants.map(\.fileName) == ["doc.en.html", "doc.txt", "m.var"])
        let first = parsed.variants[0]
        #expect(first.mimeType == "text/html")
        #expect(first.sourceQuality == 0.5)
        #expect(first.languages == ["en", "en-gb"])
        #expect(first.description == "the English one")
        let second = parsed.variants[1]
        #expect(second.charset == "utf-8")
        #expect(second.encoding == "x-gzip")
        #expect(second.bytes == 42)
        #expect(parsed.variants[2].body == Array("Hello inline\n".utf8))
        #expect(parsed.variants[2].bytes == 13)
    }

    @Test func typeMapErrors() {
        let noColon = TypeMap.parse(Array("URI doc.html\n".utf8), mapName: "m", mapPath: "/m")
        #expect(noColon.error?.message.hasPrefix("AH00681: Syntax error in type map, no ':' in /m") == true)
        let noValue = TypeMap.parse(Array("URI:\n".utf8), mapName: "m", mapPath: "/m")
        #expect(noValue.error?.message.hasPrefix("AH00682:") == true)
        // A bad length ends the reading; what was read before stays.
        let badLength = TypeMap.parse(Array("URI: a\nContent-Type: text/plain\n\nURI: b\nContent-Length: 1x\n".utf8), mapName: "m", mapPath: "/m")
        #expect(badLength.error == nil)
        #expect(badLength.warnings.first?.hasPrefix("AH00684:") == true)
        #expect(badLength.variants.map(\.fileName) == ["a"])
        let noEndTag = TypeMap.parse(Array("Content-Type: text/plain\nBody: END\nno end\n".utf8), mapName: "m", mapPath: "/m")
        #expect(noEndTag.warnings.first?.hasPrefix("AH00685:") == true)
        #expect(noEndTag.variants.isEmpty)
    }

    /// Client and file bytes reach the parsers unchecked: no input may trap them.
    @Test func parsersTakeAnyBytes() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array("abz*/;,=\"q. 0123456789-\t\r\n#:()Body:URI:Content-Type:levelqscharset".utf8) + [0x00, 0xFF, 0xC3]
        for length in 0..<400 {
            var bytes: [UInt8] = []
            for _ in 0..<length {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let items = AcceptHeader.parseList(text)
            #expect(items.count <= bytes.count + 1)
            _ = AcceptHeader.parseEntry(text)
            _ = AcceptHeader.quality(text)
            let parsed = TypeMap.parse(bytes, mapName: "m.var", mapPath: "/m.var")
            var selection = VariantSelection(variants: parsed.variants, languagePriority: ["en"], force: [.prefer, .fallback])
            selection.run(.init(accept: text, acceptLanguage: text, acceptCharset: text, acceptEncoding: text))
            _ = selection.variantList()
        }
    }

    @Test func namesAreEscapedAsApacheEscapesPathSegments() {
        #expect(Negotiation.escapePathSegment("doc.html.en") == "doc.html.en")
        #expect(Negotiation.escapePathSegment("with space.html") == "with%20space.html")
        #expect(Negotiation.escapePathSegment("a/b;c?d#e%") == "a%2fb%3bc%3fd%23e%25")
        _ = Self.choose([Self.variant("<x>.html")], .init(accept: "text/plain")) { s in
            #expect(s.variantList().contains("<a href=\"%3cx%3e.html\">&lt;x&gt;.html</a>"))
        }
    }

    // MARK: - MultiViews name matching and directives

    @Test func multiviewsMatchDecidesWhichExtensionsCount() throws {
        let mime = MimeModule(types: MimeTypes(types: ["html": "text/html", "gz": "application/gzip"]))
        var config = MimeDirConfig()
        config.mappings["en"] = { var i = MimeDirConfig.ExtensionInfo(); i.language = "en"; return i }()
        config.mappings["php"] = { var i = MimeDirConfig.ExtensionInfo(); i.handler = "application/x-httpd-php"; return i }()
        #expect(mime.multiviewsExceptions(name: "doc.html.en", config: config) == ["doc"])
        #expect(mime.multiviewsExceptions(name: "doc.foo.html", config: config) == ["doc", "foo"])
        #expect(mime.multiviewsExceptions(name: "doc.foo", config: config) == nil)
        #expect(mime.multiviewsExceptions(name: ".hidden.html", config: config) == [".hidden"])
        #expect(mime.multiviewsExceptions(name: "doc.php", config: config) == nil)
        config.multiviewsMatch = .handlers
        #expect(mime.multiviewsExceptions(name: "doc.php", config: config) == ["doc"])
        config.multiviewsMatch = .any
        #expect(mime.multiviewsExceptions(name: "doc.foo", config: config) == ["doc"])
        // The unrecognised parts must appear, in order, in the requested name.
        #expect(Negotiation.exceptionsMatch(["doc"], ["doc"]))
        #expect(Negotiation.exceptionsMatch(["doc", "foo"], ["doc", "foo"]))
        #expect(!Negotiation.exceptionsMatch(["doc", "foo"], ["doc"]))
        #expect(Negotiation.exceptionsMatch(["index"], ["index", "html"]))
    }

    /// A processed configuration with mod_mime, mod_negotiation and mod_dir loaded.
    static func negotiationConfig(_ text: String) throws -> ServerConfig {
        let modules = CoreModule.all + [AuthzCoreModule.descriptor, MimeModule.descriptor, NegotiationModule.descriptor, DirModule.descriptor]
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/tmp"))
        let tree = try reader.read(text: "LoadModule authz_core_module a.so\nLoadModule mime_module m.so\nLoadModule negotiation_module n.so\nLoadModule dir_module d.so\n" + text, name: "t.conf")
        return try ConfigProcessor.process(tree, modules: modules, configFile: "t.conf")
    }

    static func configError(_ text: String) -> String? {
        do {
            _ = try negotiationConfig(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The event listener may answer a request only from what it remembers; MultiViews
    /// reads a directory, so a request it negotiates (itself or as a DirectoryIndex name)
    /// always goes to a worker, while a plain file, once looked up, does not.
    @Test func theListenerHandsMultiViewsToAWorker() throws {
        let root = try makeTemporaryDirectory()
        try writeFile(root + "/doc.html.en", "en\n")
        try writeFile(root + "/doc.html.fr", "fr\n")
        try writeFile(root + "/plain.txt", "plain\n")
        try FileSystem.createDirectory(root + "/sub")
        try writeFile(root + "/sub/index.html.fr", "index fr\n")
        let config = try Self.negotiationConfig("""
            DocumentRoot \(root)
            ErrorLog /dev/null
            AddLanguage en .en
            AddLanguage fr .fr
            <Directory \(root)>
                Options MultiViews
                Require all granted
            </Directory>
            """)
        let context = try ServerContext(config: config, moduleTypes: [AuthzCoreModule.self, MimeModule.self, NegotiationModule.self, DirModule.self])
        let watch = context.fileCache.startWatching()
        #expect(watch != nil)
        let http = HTTPConnection(context: context, client: .loopbackIPv4(port: 40000), local: .loopbackIPv4(port: 80))
        _ = http.start()
        func send(_ path: String) -> HTTPConnection.Action {
            let bytes = Array("GET \(path) HTTP/1.1\r\nHost: a\r\nAccept-Language: fr\r\n\r\n".utf8)
            let space = http.readSpace()
            space.copyBytes(from: bytes)
            return http.didRead(bytes.count)
        }
        for (path, negotiated) in [("/plain.txt", false), ("/doc", true), ("/sub/", true)] {
            // A worker's run, which fills the cache.
            #expect(send(path) == .process)
            #expect(http.process(io: HTTPConnectionTests.NoBody()) == .write)
            let head = String(decoding: http.output.head, as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(path): \(head)")
            #expect(head.contains("Content-Location: ") == negotiated, "\(path): \(head)")
            _ = http.didWrite()
            // The same request again: the listener answers the plain file, never MultiViews.
            _ = send(path)
            let onListener = http.processWithoutBlocking()
            #expect((onListener == nil) == negotiated, "\(path)")
            if onListener == nil { _ = http.process(io: HTTPConnectionTests.NoBody()) }
            _ = http.didWrite()
        }
    }

    @Test func directivesRefuseWhatApacheRefuses() throws {
        #expect(Self.configError("LanguagePriority en fr\nForceLanguagePriority Prefer Fallback\nCacheNegotiatedDocs On\nMultiviewsMatch Handlers Filters\n") == nil)
        #expect(Self.configError("ForceLanguagePriority None Prefer")?.contains("Cannot combine ForceLanguagePriority options None and Prefer") == true)
        #expect(Self.configError("ForceLanguagePriority Prefer None")?.contains("Cannot combine ForceLanguagePriority options with None") == true)
        #expect(Self.configError("ForceLanguagePriority Sometimes")?.contains("Invalid ForceLanguagePriority option Sometimes") == true)
        #expect(Self.configError("MultiviewsMatch Any Handlers")?.contains("Handlers is incompatible with Any and NegotiatedOnly") == true)
        #expect(Self.configError("MultiviewsMatch Handlers Any")?.contains("Any is incompatible with NegotiatedOnly, Filters and Handlers") == true)
        #expect(Self.configError("MultiviewsMatch Some")?.contains("Unrecognized option 'Some'") == true)
        // Apache's NOT_IN_LOCATION.
        #expect(Self.configError("<Location /x>\nMultiviewsMatch Any\n</Location>")?.contains("MultiviewsMatch cannot occur within <Location") == true)
        #expect(Self.configError("<Directory /x>\nMultiviewsMatch Any\n</Directory>") == nil)
        #expect(Self.configError("CacheNegotiatedDocs maybe") != nil)
        // Debian's stock negotiation.conf.
        #expect(Self.configError("LanguagePriority en ca cs da de el eo es et fr he hr it ja ko ltz nl nn no pl pt pt-BR ru sv tr zh-CN zh-TW\nForceLanguagePriority Prefer Fallback\n") == nil)
        let modules = CoreModule.all + [NegotiationModule.descriptor]
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/tmp"))
        let tree = try reader.read(text: "LoadModule negotiation_module n.so\nLanguagePriority en fr\n<Directory /x>\nLanguagePriority de\nForceLanguagePriority Fallback\n</Directory>\n", name: "t.conf")
        let config = try ConfigProcessor.process(tree, modules: modules, configFile: "t.conf")
        let merged = try SectionWalk(server: config.main).merge(filename: "/x/a", isDirectory: false, uri: "/a", uriBytes: Array("/a".utf8))[NegotiationDirConfig.self]
        #expect(merged.languagePriority == ["de"])
        #expect(merged.forcePriority == .fallback)
    }
}
