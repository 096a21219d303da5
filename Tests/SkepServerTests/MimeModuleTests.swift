import SkepConfig
@testable import SkepServer
import Testing
#if canImport(Glibc)
import Glibc
import SkepTestSupport
#endif

/// Builds a processed configuration from inline Apache text, with the core modules and
/// the two modules under test (no MPM: ConfigProcessor works without one).
func makeConfig(_ text: String, serverRoot: String = "/tmp", adding extra: [ModuleDescriptor] = []) throws -> ServerConfig {
    let modules = CoreModule.all + [MimeModule.descriptor, LogConfigModule.descriptor] + extra
    var reader = ConfigReader(modules: modules, options: .init(serverRoot: serverRoot))
    let tree = try reader.read(text: text, name: "test.conf")
    return try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
}

/// The merged per-directory vector for a file, as the section walk merges it.
func directoryConfig(_ config: ServerConfig, _ filename: String, uri: String = "/") throws -> MimeDirConfig {
    try SectionWalk(server: config.main).merge(filename: filename, isDirectory: false, uri: uri, uriBytes: Array(uri.utf8))[MimeDirConfig.self]
}

@Suite struct MimeModuleTests {
    @Test func typesComeFromTheTypesConfigFile() throws {
        let dir = try makeTemporaryDirectory()
        try writeFile(dir + "/my.types", """
            # comment line
            text/html\thtml htm
            application/x-thing  thing   # trailing comment
            image/png png
            application/gzip gz
            application/x-tar tar

            """)
        let config = try makeConfig("LoadModule mime_module mod_mime.so\nTypesConfig my.types\n", serverRoot: dir)
        let module = try MimeModule(config: config)
        #expect(module.typesWarning == nil)
        #expect(module.contentType(forFilename: "/x/a.thing") == "application/x-thing")
        #expect(module.contentType(forFilename: "a.HTM") == "text/html")
        #expect(module.contentType(forFilename: "a.css") == nil) // not in this file: no type, as Apache
        #expect(module.contentType(forFilename: "noext") == nil)
    }

    @Test func missingTypesConfigFallsBackToTheBuiltInTableWithAWarning() throws {
        let dir = try makeTemporaryDirectory()
        let config = try makeConfig("LoadModule mime_module mod_mime.so\nTypesConfig conf/missing.types\n", serverRoot: dir)
        #expect(config.warnings.contains { $0.message.contains("TypesConfig") && $0.location?.line == 2 })
        let module = try MimeModule(config: config)
        #expect(module.typesWarning?.contains("test.conf:2") == true)
        for (name, type) in [("a.html", "text/html"), ("a.css", "text/css"), ("a.js", "text/javascript"),
                             ("a.json", "application/json"), ("a.svg", "image/svg+xml"), ("a.woff2", "font/woff2"),
                             ("a.wasm", "application/wasm"), ("a.md", "text/markdown"), ("a.mjs", "text/javascript")] {
            #expect(module.contentType(forFilename: name) == type)
        }
    }

    @Test func everyExtensionCountsAndLaterTypesWin() throws {
        let config = try makeConfig("""
            LoadModule mime_module mod_mime.so
            AddCharset UTF-8 .html
            AddLanguage en .en
            AddLanguage fr .fr
            AddEncoding x-gzip .gz
            """)
        let module = MimeModule(types: .builtin)
        let dirConfig = config.main.defaults[MimeDirConfig.self]
        let page = module.resolve(filename: "/srv/index.html.en", config: dirConfig)
        #expect(page.contentType == "text/html; charset=utf-8") // Apache lower-cases the charset
        #expect(page.contentLanguage == "en")
        let both = module.resolve(filename: "/srv/index.en.fr.html", config: dirConfig)
        #expect(both.contentLanguage == "en,fr")  // Apache joins with a bare comma
        let tarball = module.resolve(filename: "/srv/file.tar.gz", config: dirConfig)
        #expect(tarball.contentType == "application/gzip")
        #expect(tarball.contentEncoding == "x-gzip")
        #expect(module.resolve(filename: "/srv/a..tar", config: dirConfig).contentType == "application/x-tar")
        #expect(module.resolve(filename: "/srv/README.MD", config: dirConfig).contentType == "text/markdown")
        #expect(module.resolve(filename: "/srv/a.unknownext", config: dirConfig).contentType == nil)
    }

    @Test func mappingsMergeAcrossNestedSections() throws {
        let config = try makeConfig("""
            LoadModule mime_module mod_mime.so
            AddType text/x-custom .cst
            AddHandler cgi-script .cgi
            AddCharset ISO-8859-1 .html
            DefaultLanguage de
            <Directory /srv/site>
                AddType Application/X-Override .cst
                RemoveHandler .cgi
                AddLanguage en .en
            </Directory>
            <Directory /srv/site/sub>
                RemoveType .cst
                RemoveCharset .html
                AddHandler php-script .php
            </Directory>
            <Directory /srv/forced>
                ForceType text/plain
            </Directory>
            <Directory /srv/forced/none>
                ForceType None
            </Directory>
            """)
        let module = MimeModule(types: .builtin)
        let top = try directoryConfig(config, "/srv/a.cst")
        #expect(module.resolve(filename: "/srv/a.cst", config: top).contentType == "text/x-custom")
        #expect(module.resolve(filename: "/srv/run.cgi", config: top).handler == "cgi-script")
        #expect(module.resolve(filename: "/srv/a.html", config: top).contentType == "text/html; charset=iso-8859-1")
        #expect(module.resolve(filename: "/srv/a.html", config: top).contentLanguage == "de")

        let site = try directoryConfig(config, "/srv/site/a.cst")
        #expect(module.resolve(filename: "/srv/site/a.cst", config: site).contentType == "application/x-override")
        #expect(module.resolve(filename: "/srv/site/run.cgi", config: site).handler == nil)
        #expect(module.resolve(filename: "/srv/site/a.html.en", config: site).contentLanguage == "en")

        let sub = try directoryConfig(config, "/srv/site/sub/a.cst")
        #expect(module.resolve(filename: "/srv/site/sub/a.cst", config: sub).contentType == nil)
        #expect(module.resolve(filename: "/srv/site/sub/a.html", config: sub).contentType == "text/html")
        #expect(module.resolve(filename: "/srv/site/sub/x.php", config: sub).handler == "php-script")

        let forced = try directoryConfig(config, "/srv/forced/a.html")
        #expect(module.resolve(filename: "/srv/forced/a.html", config: forced).contentType == "text/plain")
        #expect(module.resolve(filename: "/srv/forced/noext", config: forced).contentType == "text/plain")
        let unforced = try directoryConfig(config, "/srv/forced/none/a.png")
        #expect(module.resolve(filename: "/srv/forced/none/a.png", config: unforced).contentType == "image/png")
    }

    @Test func fixupSetsTheRequestsLabelsAndKeepsAChosenHandler() throws {
        let config = try makeConfig("""
            LoadModule mime_module mod_mime.so
            AddHandler cgi-script .cgi
            AddEncoding gzip .gz
            """)
        let module = MimeModule(types: .builtin)
        try withRequest("GET /x HTTP/1.1\r\nHost: h\r\n\r\n", server: config.main) { request throws in
            request.filename = "/srv/run.cgi"
            _ = module.fixup(request, try ServerContextStub.make(config))
            #expect(request.handler == "cgi-script")
            request.handler = "already"
            request.filename = "/srv/data.json.gz"
            _ = module.fixup(request, try ServerContextStub.make(config))
            #expect(request.handler == "already")
            #expect(request.contentType == "application/gzip")
            #expect(request.contentEncoding == "gzip")
        }
    }

    @Test func unknownOrMisplacedDirectivesFailWithFileAndLine() throws {
        #expect(throws: ConfigError.self) {
            _ = try makeConfig("LoadModule mime_module mod_mime.so\n<Directory /x>\nTypesConfig a\n</Directory>\n")
        }
        do {
            _ = try makeConfig("LoadModule mime_module mod_mime.so\nAddType text/plain\n")
            Issue.record("AddType with one argument must fail")
        } catch {
            #expect("\(error)".hasPrefix("test.conf:2:"))
        }
    }
}

/// A ServerContext over a configuration, its error log to /dev/null.
enum ServerContextStub {
    static func make(_ config: ServerConfig) throws -> ServerContext {
        var config = config
        config.main.server[CoreServerConfig.self].errorLog = "/dev/null"
        return try ServerContext(config: config, moduleTypes: [])
    }
}
