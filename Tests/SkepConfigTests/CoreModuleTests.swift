import Testing
import SkepConfig
import SkepTestSupport

@Suite struct CoreModuleTests {
    @Test func apacheDefaultsWhenNothingIsWritten() throws {
        let core = CoreServerConfig()
        #expect(core.timeout == 60_000)
        #expect(core.keepAliveEnabled == true)
        #expect(core.keepAliveTimeout == 5_000)
        #expect(core.keepAliveRequests == 100)
        #expect(core.requestLineLimit == 8190)
        #expect(core.requestFieldSizeLimit == 8190)
        #expect(core.requestFieldsLimit == 100)
        #expect(core.errorLogPath == "logs/error_log")
        #expect(core.pidFilePath == "logs/httpd.pid")
        #expect(core.logLevels == LogLevelSetting(base: .warn))
        #expect(core.traceEnabled == true)
        #expect(ListenConfig().backlog == 511)
        #expect(ListenConfig().listens.isEmpty)
        let dir = CoreDirConfig()
        #expect(dir.effectiveOptions == .followSymLinks)
        #expect(dir.requestBodyLimit == 1 << 30)
        #expect(dir.sendfile == false)
    }

    @Test func anEmptyConfigurationHasTheDefaults() throws {
        let config = try processText("")
        let core = config[CoreServerConfig.self]
        #expect(core.timeout == 60_000)
        #expect(core.keepAliveTimeout == 5_000)
        #expect(core.keepAliveRequests == 100)
        #expect(core.requestLineLimit == 8190)
        #expect(core.requestFieldSizeLimit == 8190)
        #expect(core.requestFieldsLimit == 100)
        #expect(config[ListenConfig.self].backlog == 511)
        #expect(config.virtualHosts.isEmpty)
        #expect(config.warnings.isEmpty)
    }

    @Test(arguments: [
        ("Timeout 500ms", 500), ("Timeout 2s", 2000), ("Timeout 2", 2000), ("Timeout 1mi", 60_000),
        ("Timeout 1h", 3_600_000), ("Timeout 250MS", 250), ("Timeout 0", 0), ("Timeout 300", 300_000),
    ])
    func timeoutWithUnits(_ text: String, _ milliseconds: Int) throws {
        #expect(try processText(text)[CoreServerConfig.self].timeout == milliseconds)
    }

    @Test(arguments: [("KeepAliveTimeout 2s", 2000), ("KeepAliveTimeout 150ms", 150), ("KeepAliveTimeout 15", 15_000)])
    func keepAliveTimeoutWithUnits(_ text: String, _ milliseconds: Int) throws {
        #expect(try processText(text)[CoreServerConfig.self].keepAliveTimeout == milliseconds)
    }

    @Test func limitsAndKeepAliveAsWritten() throws {
        let core = try processText("""
            KeepAlive Off
            MaxKeepAliveRequests 0
            LimitRequestLine 4094
            LimitRequestFieldSize 16384
            LimitRequestFields 50
            ListenBacklog 1024
            """)
        let c = core[CoreServerConfig.self]
        #expect(c.keepAliveEnabled == false)
        #expect(c.keepAliveRequests == 0)
        #expect(c.requestLineLimit == 4094)
        #expect(c.requestFieldSizeLimit == 16384)
        #expect(c.requestFieldsLimit == 50)
        #expect(core[ListenConfig.self].backlog == 1024)
    }

    @Test func identityAndProcessDirectives() throws {
        let config = try processText("""
            ServerName www.example.com:80
            ServerAlias a.example b.example
            ServerAlias c.example
            ServerAdmin webmaster@example.com
            ErrorLog ${LOGDIR}/error.log
            PidFile /run/apache2/apache2.pid
            DefaultRuntimeDir /run/apache2
            ServerTokens os
            HostnameLookups Double
            TraceEnable Off
            User www-data
            Group www-data
            """.replacingOccurrences(of: "${LOGDIR}", with: "/var/log/apache2"))
        let c = config[CoreServerConfig.self]
        #expect(c.serverName == "www.example.com:80")
        #expect(c.serverAliases == ["a.example", "b.example", "c.example"])
        #expect(c.serverAdmin == "webmaster@example.com")
        #expect(c.errorLogPath == "/var/log/apache2/error.log")
        #expect(c.pidFilePath == "/run/apache2/apache2.pid")
        #expect(c.defaultRuntimeDir == "/run/apache2")
        #expect(c.serverTokens == "OS")
        #expect(c.hostnameLookups == true)
        #expect(c.traceEnabled == false)
        #expect(config[UnixdConfig.self].user == "www-data")
        #expect(config[UnixdConfig.self].group == "www-data")
    }

    @Test func logLevelWithModules() throws {
        let config = try processText("LogLevel info ssl:warn rewrite_module:trace3 mod_proxy:debug")
        let setting = config[CoreServerConfig.self].logLevels
        #expect(setting.base == .info)
        #expect(setting.perModule == ["ssl": .warn, "rewrite": .trace3, "proxy": .debug])
        #expect(setting.allows(.info, module: "core"))
        #expect(!setting.allows(.debug, module: "core"))
        #expect(!setting.allows(.info, module: "ssl"))
        #expect(setting.allows(.trace3, module: "rewrite"))
        #expect(!setting.allows(.trace4, module: "rewrite"))
    }

    @Test func listenDirectives() throws {
        let config = try processText("Listen 80\nListen 127.0.0.1:8080\nListen [::1]:8443 https\nListen *:81")
        #expect(config[ListenConfig.self].listens == [
            ListenAddress(host: nil, port: 80),
            ListenAddress(host: "127.0.0.1", port: 8080),
            ListenAddress(host: "::1", port: 8443, proto: "https"),
            ListenAddress(host: nil, port: 81),
        ])
    }

    @Test func listenDuplicatesIgnoreTheProtocolButNotTheHost() throws {
        #expect(captureError { try processText("Listen 443\nListen *:443 https") }?.description
                == "test.conf:2: Listen: *:443 is listed twice (Listen *:443 https)")
        let config = try processText("Listen 80\nListen 127.0.0.1:80")
        #expect(config[ListenConfig.self].listens.count == 2)
    }

    @Test func theModulesAreNamedInBothForms() {
        #expect(CoreModule.all.map(\.name) == ["core_module", "http_module", "so_module", "unixd_module"])
        #expect(CoreModule.all.allSatisfy { $0.isStatic })
        #expect(CoreModule.core.isNamed("core.c"))
        #expect(CoreModule.core.isNamed("core_module"))
        #expect(!CoreModule.core.isNamed("mod_core.c"))
        #expect(CoreModule.http.isNamed("http_core.c"))
        #expect(CoreModule.so.isNamed("mod_so.c"))
        #expect(CoreModule.unixd.isNamed("mod_unixd.c"))
    }

    @Test func eachDirectiveNameIsDeclaredOnce() {
        let names = CoreModule.all.flatMap(\.directives).map { $0.name.lowercased() }
        #expect(Set(names).count == names.count)
    }
}

@Suite struct LogLevelTests {
    @Test func namesRoundTrip() {
        #expect(LogLevel.allCases.map(\.name) == ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
                                                  "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8"])
        for level in LogLevel.allCases { #expect(LogLevel(name: level.name) == level) }
        #expect(LogLevel(name: "TRACE8") == .trace8)
        #expect(LogLevel(name: "Warn") == .warn)
        #expect(LogLevel(name: "trace9") == nil)
        #expect(LogLevel(name: "warning") == nil)
    }

    @Test func moreSevereIsLess() {
        #expect(LogLevel.emerg < .error)
        #expect(LogLevel.debug < .trace1)
        #expect(LogLevelSetting().allows(.error, module: "x"))
        #expect(LogLevelSetting().allows(.warn, module: "x"))
        #expect(!LogLevelSetting().allows(.notice, module: "x"))
    }
}

@Suite struct ConfigDiagnosticTests {
    @Test func descriptions() {
        let at = SkepConfig.SourceLocation(file: "/etc/skep/skep.conf", line: 12)
        #expect(at.description == "/etc/skep/skep.conf:12")
        #expect(ConfigDiagnostic(.error, at, "bad").description == "/etc/skep/skep.conf:12: bad")
        #expect(ConfigDiagnostic(.warning, at, "hmm").description == "/etc/skep/skep.conf:12: warning: hmm")
        #expect(ConfigDiagnostic(.note, at, "fyi").description == "/etc/skep/skep.conf:12: note: fyi")
        #expect(ConfigDiagnostic(.error, nil, "bad").description == "bad")
        let error = ConfigError([ConfigDiagnostic(.warning, at, "a"), ConfigDiagnostic(.error, at, "b")])
        #expect(error.description == "/etc/skep/skep.conf:12: warning: a\n/etc/skep/skep.conf:12: b")
    }

    @Test func directiveErrorsQuoteTheLine() {
        let d = Directive(name: "Timeout", arguments: ["x"], location: .init(file: "f", line: 3), text: "Timeout x")
        #expect(d.error("Timeout: nope").description == "f:3: Timeout: nope (Timeout x)")
        #expect(d.warning("careful").description == "f:3: warning: careful (Timeout x)")
        #expect(d.key == "timeout")
        #expect(!d.isSection)
    }
}

@Suite struct ConfigVectorTests {
    struct Record: ModuleConfig {
        var value: Int?
        var list: [Int] = []
        init() {}
        init(_ value: Int?, _ list: [Int] = []) { self.value = value; self.list = list }
        func merged(with child: Record) -> Record { Record(child.value ?? value, list + child.list) }
    }
    struct Other: ModuleConfig {
        var name = "default"
        init() {}
        func merged(with child: Other) -> Other { child }
    }

    @Test func aMissingRecordReadsAsItsDefault() {
        let vector = ConfigVector()
        #expect(vector[Record.self].value == nil)
        #expect(vector[Other.self].name == "default")
        #expect(!vector.has(Record.self))
    }

    @Test func mergeUsesTheRecordsOwnMergeAndKeepsUnmergedRecords() {
        var parent = ConfigVector()
        parent[Record.self] = Record(1, [1])
        parent[Other.self].name = "parent"
        var child = ConfigVector()
        child[Record.self] = Record(nil, [2])
        let merged = parent.merged(with: child)
        #expect(merged[Record.self].value == 1)
        #expect(merged[Record.self].list == [1, 2])
        #expect(merged[Other.self].name == "parent")
        var onlyChild = ConfigVector()
        onlyChild[Other.self].name = "child"
        #expect(ConfigVector().merged(with: onlyChild)[Other.self].name == "child")
        #expect(ConfigVector().merged(with: onlyChild).has(Other.self))
    }
}
