import Foundation
import Testing
import SkepConfig
import SkepTestSupport

@Suite struct ConfigProcessorTests {
    func error(_ text: String, serverRoot: String = "/") -> String? {
        captureError { try processText(text, serverRoot: serverRoot) }?.description
    }

    // MARK: - Contexts

    @Test(arguments: [
        ("AllowOverride None",
         "test.conf:1: AllowOverride not allowed here: it belongs inside <Directory>, <Location>, <Files> (AllowOverride None)"),
        ("<VirtualHost *:80>\nListen 8080\n</VirtualHost>",
         "test.conf:2: Listen cannot occur within <VirtualHost> section: it is allowed in server config (Listen 8080)"),
        ("<VirtualHost *:80>\nUser www-data\n</VirtualHost>",
         "test.conf:2: User cannot occur within <VirtualHost> section: it is allowed in server config (User www-data)"),
        ("<VirtualHost *:80>\nPidFile x.pid\n</VirtualHost>",
         "test.conf:2: PidFile cannot occur within <VirtualHost> section: it is allowed in server config (PidFile x.pid)"),
        ("<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>",
         "test.conf:2: <VirtualHost> cannot occur within <VirtualHost> section: it is allowed in server config (<VirtualHost *:81>)"),
        ("<Directory /a>\nServerName x\n</Directory>",
         "test.conf:2: ServerName cannot occur within <Directory/DirectoryMatch> section: it is allowed in server config, <VirtualHost> (ServerName x)"),
        ("<Directory /a>\n<Directory /a/b>\n</Directory>\n</Directory>",
         "test.conf:2: <Directory> cannot occur within <Directory/DirectoryMatch> section: it is allowed in server config, <VirtualHost> (<Directory /a/b>)"),
        ("<Location /a>\n<Files x>\n</Files>\n</Location>",
         "test.conf:2: <Files> cannot occur within <Location/LocationMatch> section: it is allowed in server config, <VirtualHost>, <Directory> (<Files x>)"),
        ("<Files x>\nDocumentRoot /srv\n</Files>",
         "test.conf:2: DocumentRoot cannot occur within <Files/FilesMatch> section: it is allowed in server config, <VirtualHost> (DocumentRoot /srv)"),
        ("<Directory /x>\n<VirtualHost *:80>\n</VirtualHost>\n</Directory>",
         "test.conf:2: <VirtualHost> cannot occur within <Directory/DirectoryMatch> section: it is allowed in server config (<VirtualHost *:80>)"),
    ])
    func wrongContext(_ text: String, _ message: String) {
        #expect(error(text) == message)
    }

    @Test func serverRootInsideAVirtualHostIsRefused() throws {
        #expect(error("<VirtualHost *:80>\nServerRoot /\n</VirtualHost>")
                == "test.conf:2: ServerRoot cannot occur within <VirtualHost> section: it is allowed in server config (ServerRoot /)")
    }

    // MARK: - Arguments

    @Test(arguments: [
        ("ServerName a b", "test.conf:1: ServerName takes one argument, the hostname and optional port of the server (ServerName a b)"),
        ("ServerName", "test.conf:1: ServerName takes one argument, the hostname and optional port of the server (ServerName)"),
        ("Listen", "test.conf:1: Listen takes one or two arguments, an address and port, and an optional protocol (Listen)"),
        ("Listen 80 http extra", "test.conf:1: Listen takes one or two arguments, an address and port, and an optional protocol (Listen 80 http extra)"),
        ("ServerAlias", "test.conf:1: ServerAlias requires at least one argument, names the virtual host also answers to (ServerAlias)"),
        ("KeepAlive On Off", "test.conf:1: KeepAlive must be On or Off, On to allow persistent connections (KeepAlive On Off)"),
        ("Mutex", "test.conf:1: Mutex takes one or two arguments, a mutex mechanism and optional names (Mutex)"),
        ("<VirtualHost>\n</VirtualHost>", "test.conf:1: <VirtualHost> requires at least one address (<VirtualHost>)"),
        ("<Directory>\n</Directory>", "test.conf:1: <Directory> takes one argument, the directory path (<Directory>)"),
        ("<Location /a /b>\n</Location>", "test.conf:1: <Location> takes one argument, the URL path (<Location /a /b>)"),
        ("<Files>\n</Files>", "test.conf:1: <Files> takes one argument, the file name (<Files>)"),
    ])
    func wrongArgumentCount(_ text: String, _ message: String) {
        #expect(error(text) == message)
    }

    @Test(arguments: [
        ("LimitRequestLine abc", "test.conf:1: LimitRequestLine: 'abc' is not a whole number (between 0 and 65536) (LimitRequestLine abc)"),
        ("LimitRequestLine 70000", "test.conf:1: LimitRequestLine: 70000 is out of range: it must be between 0 and 65536 (LimitRequestLine 70000)"),
        ("LimitRequestFieldSize 1.5", "test.conf:1: LimitRequestFieldSize: '1.5' is not a whole number (between 0 and 65536) (LimitRequestFieldSize 1.5)"),
        ("LimitRequestFields 40000", "test.conf:1: LimitRequestFields: 40000 is out of range: it must be between 0 and 32767 (LimitRequestFields 40000)"),
        ("MaxKeepAliveRequests -1", "test.conf:1: MaxKeepAliveRequests: -1 is out of range: it must be between 0 and 2147483647 (MaxKeepAliveRequests -1)"),
        ("ListenBacklog 0", "test.conf:1: ListenBacklog: 0 is out of range: it must be between 1 and 65535 (ListenBacklog 0)"),
        ("LimitRequestBody lots", "test.conf:1: LimitRequestBody: 'lots' is not a whole number (at least 0) (LimitRequestBody lots)"),
        ("Timeout soon", "test.conf:1: Timeout: 'soon' is not a valid duration (seconds, or a number with ms, s, mi or h) (Timeout soon)"),
        ("Timeout 5x", "test.conf:1: Timeout: '5x' has an unknown time unit (use ms, s, mi or h) (Timeout 5x)"),
        ("KeepAliveTimeout -5", "test.conf:1: KeepAliveTimeout: '-5' is not a valid duration (seconds, or a number with ms, s, mi or h) (KeepAliveTimeout -5)"),
    ])
    func badNumbers(_ text: String, _ message: String) {
        #expect(error(text) == message)
    }

    @Test(arguments: [
        ("KeepAlive maybe", "test.conf:1: KeepAlive must be On or Off (KeepAlive maybe)"),
        ("EnableSendfile yes", "test.conf:1: EnableSendfile must be On or Off (EnableSendfile yes)"),
        ("EnableMMAP 1", "test.conf:1: EnableMMAP must be On or Off (EnableMMAP 1)"),
    ])
    func badFlag(_ text: String, _ message: String) {
        #expect(error(text) == message)
    }

    @Test func flagsAreCaseInsensitive() throws {
        let config = try processText("KeepAlive off\nEnableSendfile ON")
        #expect(config.main.server[CoreServerConfig.self].keepAliveEnabled == false)
        #expect(config.main.defaults[CoreDirConfig.self].sendfile == true)
    }

    @Test(arguments: [
        ("ServerTokens Loud", "test.conf:1: ServerTokens: 'Loud' is not one of Prod, ProductOnly, Major, Minor, Min, Minimal, OS, Full (ServerTokens Loud)"),
        ("HostnameLookups Maybe", "test.conf:1: HostnameLookups: 'Maybe' is not one of On, Off, Double (HostnameLookups Maybe)"),
        ("LogLevel loud", "test.conf:1: LogLevel: 'loud' is not a level (use emerg, alert, crit, error, warn, notice, info, debug, trace1...trace8) (LogLevel loud)"),
        ("LogLevel warn ssl:chatty", "test.conf:1: LogLevel: 'ssl:chatty' has an unknown level (use emerg, alert, crit, error, warn, notice, info, debug, trace1...trace8) (LogLevel warn ssl:chatty)"),
        ("Options Bogus", "test.conf:1: Illegal option Bogus (Options Bogus)"),
        ("Options Indexes +ExecCGI", "test.conf:1: Either all Options must start with + or -, or no Option may. (Options Indexes +ExecCGI)"),
        ("Listen 80\nListen 80", "test.conf:2: Listen: *:80 is listed twice (Listen 80)"),
        ("Listen 99999", "test.conf:1: Listen: '99999' is not a port, address:port or [ipv6]:port (Listen 99999)"),
    ])
    func badValues(_ text: String, _ message: String) {
        #expect(error(text) == message)
    }

    @Test func everyErrorIsCollected() throws {
        let e = try #require(captureError { try processText("Timeout x\nKeepAlive x\n<VirtualHost *:80>\nListen 80\n</VirtualHost>") })
        #expect(e.diagnostics.map { $0.location?.line } == [1, 2, 4])
    }

    // MARK: - Every error has file:line

    @Test(arguments: [
        "Timeout x", "KeepAlive x", "AllowOverride None", "ServerName", "Listen 80\nListen 80",
        "Options Indexes -ExecCGI", "<Directory>\n</Directory>", "<VirtualHost>\n</VirtualHost>",
        "<Directory /x>\nServerName a\n</Directory>", "ExtendedStatus On", "<Directory /x>", "</Files>",
        "<Files x>\n</Directory>", "<IfModule>\n</IfModule>", "Define a:b", "ServerRoot /nonexistent",
        "LoadModule x", "<Location /x", "ServerName ${UNSET}\nTimeout bad",
    ])
    func everyDiagnosticCarriesFileAndLine(_ text: String) throws {
        let e = try #require(captureError { try processText(text) })
        #expect(!e.diagnostics.isEmpty)
        for diagnostic in e.diagnostics {
            #expect(diagnostic.location?.file == "test.conf")
        }
        for line in e.description.split(separator: "\n") {
            #expect(line.wholeMatch(of: /test\.conf:[0-9]+: .+/) != nil, "\(line)")
        }
    }

    @Test func theGapReportListsFileAndLineForEachEntry() throws {
        let e = try #require(captureError { try processText("Foo 1\nLoadModule bar_module bar.so\nFoo 2") })
        let lines = e.description.split(separator: "\n")
        #expect(lines.first == "Skep does not implement 1 module and 1 directive this configuration uses:")
        for line in lines.dropFirst() {
            #expect(line.wholeMatch(of: /test\.conf:[0-9]+: .+/) != nil, "\(line)")
        }
    }

    // MARK: - Paths

    @Test(arguments: [
        ("DocumentRoot htdocs", "/srv/skep/htdocs"),
        ("DocumentRoot htdocs/", "/srv/skep/htdocs"),
        ("DocumentRoot /var/www/html/", "/var/www/html"),
        ("DocumentRoot \"/var/www\"", "/var/www"),
        ("DocumentRoot /", "/"),
    ])
    func documentRootIsRelativeToServerRoot(_ text: String, _ expected: String) throws {
        let config = try processText(text, serverRoot: "/srv/skep")
        #expect(config.main.server[CoreServerConfig.self].documentRoot == expected)
    }

    @Test func documentRootUsesTheServerRootDirective() throws {
        let dir = try TempDir()
        try dir.mkdir("root")
        let config = try processText("ServerRoot \(dir.path)/root\nDocumentRoot www\n<Directory www>\n</Directory>", serverRoot: "/")
        #expect(config.serverRoot == dir.path + "/root")
        #expect(config.main.server[CoreServerConfig.self].documentRoot == dir.path + "/root/www")
        #expect(config.main.sections.first?.pattern == dir.path + "/root/www")
    }

    // MARK: - Virtual hosts

    @Test func aVirtualHostInheritsFromTheMainServerAndOverrides() throws {
        let config = try processText("""
            Timeout 30
            ServerName main.example
            KeepAliveTimeout 3
            DocumentRoot /srv/main
            <VirtualHost *:80 [::1]:8080>
              ServerName vhost.example
              ServerAlias www.vhost.example
              KeepAliveTimeout 9
            </VirtualHost>
            <VirtualHost 127.0.0.1:80>
            </VirtualHost>
            MaxKeepAliveRequests 7
            """)
        let main = config.main.server[CoreServerConfig.self]
        #expect(main.serverName == "main.example")
        #expect(main.keepAliveTimeout == 3000)
        #expect(config.virtualHosts.count == 2)
        let vhost = config.virtualHosts[0]
        #expect(vhost.addresses == ["*:80", "[::1]:8080"])
        #expect(vhost.location == SkepConfig.SourceLocation(file: "test.conf", line: 5))
        let core = vhost.server[CoreServerConfig.self]
        #expect(core.serverName == "vhost.example")
        #expect(core.serverAliases == ["www.vhost.example"])
        #expect(core.timeout == 30_000)
        #expect(core.keepAliveTimeout == 9000)
        #expect(core.keepAliveRequests == 7)
        #expect(core.documentRoot == "/srv/main")
        let second = config.virtualHosts[1].server[CoreServerConfig.self]
        #expect(second.serverName == "main.example")
        #expect(second.keepAliveTimeout == 3000)
        #expect(config.main.addresses.isEmpty)
        // ServerConfig's subscript reads the main server.
        #expect(config[CoreServerConfig.self].serverName == "main.example")
    }

    @Test func processWideSettingsComeFromTheMainServer() throws {
        let config = try processText("PidFile /run/a.pid\nServerTokens Prod\n<VirtualHost *:80>\nServerName v\n</VirtualHost>")
        let vhost = config.virtualHosts[0].server[CoreServerConfig.self]
        #expect(vhost.pidFilePath == "/run/a.pid")
        #expect(vhost.serverTokens == "Prod")
        #expect(error("<VirtualHost *:80>\nServerTokens Full\n</VirtualHost>")
                == "test.conf:2: ServerTokens cannot occur within <VirtualHost> section: it is allowed in server config (ServerTokens Full)")
    }

    @Test func virtualHostSectionsFollowTheMainServers() throws {
        let config = try processText("""
            <Directory /srv>
            </Directory>
            <VirtualHost *:80>
              <Location /status>
              </Location>
            </VirtualHost>
            <Files x>
            </Files>
            """)
        #expect(config.main.sections.map(\.pattern) == ["/srv", "x"])
        #expect(config.virtualHosts[0].sections.map(\.pattern) == ["/srv", "x", "/status"])
    }

    @Test func virtualHostDirectoryDefaultsMergeOverTheMainServers() throws {
        let config = try processText("Options Indexes\nLimitRequestBody 100\n<VirtualHost *:80>\nOptions +ExecCGI\n</VirtualHost>")
        let dir = config.virtualHosts[0].defaults[CoreDirConfig.self]
        #expect(dir.effectiveOptions == [.indexes, .execCGI])
        #expect(dir.requestBodyLimit == 100)
    }

    // MARK: - Sections

    @Test func sectionsAreCollectedWithKindsAndNesting() throws {
        let config = try processText("""
            <Directory /var/www>
              Options None
              <Files "*.php">
                SetHandler php
              </Files>
            </Directory>
            <Directory ~ "^/srv/.*/cgi">
            </Directory>
            <DirectoryMatch "^/x">
            </DirectoryMatch>
            <Location /status>
              SetHandler server-status
            </Location>
            <Location ~ "^/api">
            </Location>
            <LocationMatch "^/a+">
            </LocationMatch>
            <Files ~ "\\.bak$">
            </Files>
            <FilesMatch "\\.php$">
            </FilesMatch>
            """)
        let sections = config.main.sections
        #expect(sections.map(\.kind) == [.directory, .directory, .directoryMatch, .location, .location, .locationMatch, .files, .filesMatch])
        #expect(sections.map(\.pattern) == ["/var/www", "^/srv/.*/cgi", "^/x", "/status", "^/api", "^/a+", "\\.bak$", "\\.php$"])
        #expect(sections.map(\.isRegex) == [false, true, true, false, true, true, true, true])
        #expect(sections.map(\.location.line) == [1, 7, 9, 11, 14, 16, 18, 20])
        let directory = sections[0]
        #expect(directory.config[CoreDirConfig.self].options == OptionsSetting(absolute: []))
        #expect(directory.nested.count == 1)
        let files = directory.nested[0]
        #expect(files.kind == .files)
        #expect(files.pattern == "*.php")
        #expect(files.isRegex == false)
        #expect(files.location.line == 3)
        #expect(files.config[CoreDirConfig.self].handler == "php")
        #expect(sections[3].config[CoreDirConfig.self].handler == "server-status")
        #expect(sections[1...].allSatisfy { $0.nested.isEmpty })
    }

    @Test func relativeDirectoryPathsAreTakenAgainstServerRootButRegexesAreNot() throws {
        let config = try processText("<Directory www>\n</Directory>\n<Directory ~ www>\n</Directory>\n<Location www>\n</Location>", serverRoot: "/srv/skep/")
        #expect(config.main.sections.map(\.pattern) == ["/srv/skep/www", "www", "www"])
    }

    @Test func directoryDirectivesOutsideSectionsGoToTheDefaults() throws {
        let config = try processText("SetHandler none\nLimitRequestBody 1024\nEnableMMAP Off")
        let dir = config.main.defaults[CoreDirConfig.self]
        #expect(dir.handler == "")
        #expect(dir.requestBodyLimit == 1024)
        #expect(dir.enableMMAP == false)
        #expect(config.main.sections.isEmpty)
    }

    @Test func aSectionDoesNotLeakIntoTheDefaults() throws {
        let config = try processText("<Directory /x>\nSetHandler foo\n</Directory>")
        #expect(config.main.defaults[CoreDirConfig.self].handler == nil)
        #expect(!config.main.defaults.has(CoreDirConfig.self))
        #expect(config.main.sections[0].config.has(CoreDirConfig.self))
    }

    // MARK: - Options

    @Test(arguments: [
        ("Options Indexes FollowSymLinks", OptionsSetting(absolute: [.indexes, .followSymLinks])),
        ("Options +Indexes -ExecCGI", OptionsSetting(add: [.indexes], remove: [.execCGI])),
        ("Options None", OptionsSetting(absolute: [])),
        ("Options All", OptionsSetting(absolute: [.indexes, .includes, .followSymLinks, .symLinksIfOwnerMatch, .execCGI])),
        ("Options all multiviews", OptionsSetting(absolute: [.indexes, .includes, .followSymLinks, .symLinksIfOwnerMatch, .execCGI, .multiViews])),
        ("Options +Indexes -Indexes", OptionsSetting(remove: [.indexes])),
        ("Options -Includes +Includes", OptionsSetting(add: [.includes])),
    ])
    func optionsParsing(_ text: String, _ expected: OptionsSetting) throws {
        let config = try processText(text)
        #expect(config.main.defaults[CoreDirConfig.self].options == expected)
    }

    @Test func optionsMergeDownNestedSections() throws {
        let config = try processText("""
            Options Indexes FollowSymLinks
            <Directory /srv>
              Options -Indexes +ExecCGI
              <Files x.cgi>
                Options +MultiViews
              </Files>
            </Directory>
            <Directory /abs>
              Options Includes
            </Directory>
            """)
        let base = config.main.defaults
        let srv = config.main.sections[0]
        let merged = base.merged(with: srv.config)
        #expect(merged[CoreDirConfig.self].effectiveOptions == [.followSymLinks, .execCGI])
        let files = merged.merged(with: srv.nested[0].config)
        #expect(files[CoreDirConfig.self].effectiveOptions == [.followSymLinks, .execCGI, .multiViews])
        let abs = base.merged(with: config.main.sections[1].config)
        #expect(abs[CoreDirConfig.self].effectiveOptions == [.includes])
        // Relative options with nothing above start from Apache's default, FollowSymLinks.
        #expect(srv.config[CoreDirConfig.self].effectiveOptions == [.followSymLinks, .execCGI])
    }

    // MARK: - AllowOverride

    @Test func allowOverrideReadsApacheClasses() throws {
        let config = try processText("""
            <Directory /srv>
            AllowOverride FileInfo AuthConfig Options=Indexes,MultiViews Nonfatal=Unknown
            </Directory>
            <Directory /srv/a>
            AllowOverride All
            </Directory>
            <Directory /srv/b>
            AllowOverride Options
            AllowOverrideList Redirect RewriteRule
            </Directory>
            <Location /x>
            AllowOverride None
            </Location>
            """)
        let first = config.main.sections[0].config[CoreDirConfig.self]
        #expect(first.allowOverride == [.fileInfo, .authConfig, .options])
        #expect(first.overrideOptions == [.indexes, .multiViews])
        #expect(first.overrideNonfatal == [.unknown])
        #expect(config.main.sections[1].config[CoreDirConfig.self].allowOverride == .all)
        #expect(config.main.sections[1].config[CoreDirConfig.self].overrideOptions == nil)
        let third = config.main.sections[2].config[CoreDirConfig.self]
        #expect(third.overrideOptions == DirectoryOptions.apacheAll)
        #expect(third.allowOverrideList == ["redirect", "rewriterule"])
        // Apache accepts it in <Location>, uselessly, with a warning.
        #expect(config.warnings.map(\.message) == ["AH00114: Useless use of AllowOverride in line 12 of test.conf. (AllowOverride None)"])
    }

    @Test(arguments: [
        ("AllowOverride Bogus", "Illegal override option Bogus"),
        ("AllowOverride Options=Bogus", "Illegal option Bogus"),
        ("AllowOverride Nonfatal", "=Override, =Unknown or =All expected after Nonfatal"),
        ("AllowOverrideList None Redirect", "'None' not allowed with other directives in AllowOverrideList"),
    ])
    func badAllowOverrideIsAConfigError(_ line: String, _ message: String) throws {
        let error = try #require(throws: ConfigError.self) { try processText("<Directory /srv>\n\(line)\n</Directory>") }
        #expect(error.diagnostics.map(\.message).contains { $0.hasPrefix(message) }, "\(error.diagnostics)")
    }

    @Test func acceptedDirectivesLeaveANote() throws {
        let config = try processText("Mutex file:/var/lock default\nLoadFile /usr/lib/libxml2.so")
        #expect(config.warnings.map(\.severity) == [.note, .note])
        #expect(config.warnings.map { $0.location?.line } == [1, 2])
    }

    @Test func readerWarningsAreKeptInTheServerConfig() throws {
        let config = try processText("ServerName ${UNSET}")
        #expect(config.warnings.count == 1)
        #expect(config.warnings[0].message.contains("AH00111"))
    }

    @Test func logLevelInsideADirectoryWarns() throws {
        let config = try processText("<Directory /srv>\nLogLevel debug\n</Directory>")
        #expect(config.warnings.map(\.description) == [
            "test.conf:2: warning: LogLevel inside a per-directory section is applied to the whole server by Skep (LogLevel debug)",
        ])
    }

    @Test func logLevelInsideADirectoryReachesTheServer() throws {
        // The warning says the level is applied to the whole server, but makeSection folds
        // the directive into a copy of the server vector that it then drops.
        let config = try processText("<Directory /srv>\nLogLevel debug\n</Directory>")
        #expect(config.main.server[CoreServerConfig.self].logLevels.base == .debug)
    }

    // MARK: - The result

    @Test func theServerConfigCarriesTheReadersFindings() throws {
        let config = try processText("LoadModule status_module x.so\nDefine X 1")
        #expect(config.configFile == "test.conf")
        #expect(config.serverRoot == "/")
        #expect(config.loadedModules.map(\.name) == ["status_module"])
        #expect(config.isActive("status_module"))
        #expect(config.isActive("core_module"))
        #expect(!config.isActive("fake_module"))
        #expect(config.defines["X"] == .some("1"))
    }

    @Test func directivesOfTheModulesTheProcessorIsGivenAreApplied() throws {
        // A custom module with its own record, to check the DirectiveSpec path end to end.
        struct Counter: ModuleConfig {
            var count = 0
            init() {}
            func merged(with child: Counter) -> Counter { var c = child; c.count += count; return c }
        }
        let module = ModuleDescriptor(name: "count_module", sourceName: "mod_count.c", isStatic: true, directives: [
            DirectiveSpec("Count", .take1, .anywhere, help: "a number") { d, scope throws(ConfigError) in
                scope.server[Counter.self].count += try d.integer()
            },
        ])
        let modules = CoreModule.all + [module]
        let config = try processText("Count 2\nCount 3\n<VirtualHost *:80>\nCount 10\n</VirtualHost>", modules: modules)
        #expect(config.main.server[Counter.self].count == 5)
        #expect(config.virtualHosts[0].server[Counter.self].count == 15)
    }
}
