import Testing
import SkepConfig
import SkepMPM
import SkepTestSupport

@Suite struct ConfigLoaderTests {
    @Test(arguments: MPMKind.allCases)
    func debianStockBlocksLoadWithoutError(_ kind: MPMKind) throws {
        let text = debianCore(serverRoot: "/") + "\n" + loadModule(kind) + "\n" + stockBlock(kind)
        let (config, mpm) = try load(text)
        #expect(mpm.kind == kind)
        #expect(mpm.adjustments.isEmpty)
        #expect(config.warnings.allSatisfy { $0.severity == .note }, "\(config.warnings)")
        #expect(config.warnings.map { $0.message.components(separatedBy: ":").first ?? "" } == ["Mutex"])
        let core = config[CoreServerConfig.self]
        #expect(core.timeout == 300_000)
        #expect(core.keepAliveEnabled)
        #expect(core.keepAliveRequests == 100)
        #expect(core.keepAliveTimeout == 5000)
        #expect(core.pidFilePath == "/var/run/apache2/apache2.pid")
        #expect(core.errorLogPath == "/var/log/apache2/error.log")
        #expect(core.defaultRuntimeDir == "/var/run/apache2")
        #expect(core.hostnameLookups == false)
        #expect(config[UnixdConfig.self].user == "www-data")
        #expect(config[ListenConfig.self].listens == [ListenAddress(host: nil, port: 80)])
        #expect(mpm.maxRequestWorkers == 150)
        #expect(mpm.maxConnectionsPerChild == 0)
        switch kind {
        case .prefork:
            #expect(mpm.startServers == 5)
            #expect(mpm.minSpare == 5)
            #expect(mpm.maxSpare == 10)
            #expect(mpm.maxChildren == 150)
            #expect(mpm.serverLimit == 256)
        case .worker, .event:
            #expect(mpm.startServers == 2)
            #expect(mpm.minSpare == 25)
            #expect(mpm.maxSpare == 75)
            #expect(mpm.threadLimit == 64)
            #expect(mpm.threadsPerChild == 25)
            #expect(mpm.maxChildren == 6)
            #expect(mpm.serverLimit == 16)
        }
    }

    @Test(arguments: MPMKind.allCases)
    func debianLayoutFromFiles(_ kind: MPMKind) throws {
        let dir = try TempDir()
        try dir.write("mods-available/mpm_\(kind.rawValue).load", loadModule(kind) + "\n")
        try dir.write("mods-available/mpm_\(kind.rawValue).conf", stockBlock(kind) + "\n")
        try dir.write("mods-enabled/mpm_\(kind.rawValue).load", loadModule(kind) + "\n")
        try dir.write("mods-enabled/mpm_\(kind.rawValue).conf", "<IfModule mpm_\(kind.rawValue)_module>\n" + stockBlock(kind) + "\n</IfModule>\n")
        try dir.write("apache2.conf", debianCore(serverRoot: dir.path) + """

            IncludeOptional mods-enabled/*.load
            IncludeOptional mods-enabled/*.conf
            IncludeOptional conf-enabled/*.conf
            IncludeOptional sites-enabled/*.conf
            <IfModule mpm_prefork_module>
              ServerAlias prefork-is-loaded
            </IfModule>
            <IfModule !\(kind.rawValue).c>
              ServerAlias never
            </IfModule>

            """)
        let loader = ConfigLoader(source: .file("apache2.conf"), serverRoot: dir.path, modules: .builtin)
        let (config, mpm) = try loader.load()
        #expect(config.configFile == "apache2.conf")
        #expect(config.serverRoot == dir.path)
        #expect(mpm.kind == kind)
        #expect(mpm.maxRequestWorkers == 150)
        #expect(config.loadedModules.map(\.name) == [kind.moduleName])
        #expect(config[CoreServerConfig.self].serverAliases == (kind == .prefork ? ["prefork-is-loaded"] : []))
    }

    @Test func definesReachTheReader() throws {
        let text = loadModule(.event) + "\n<IfDefine BIG>\nMaxRequestWorkers 800\nServerLimit 32\n</IfDefine>"
        #expect(try load(text).mpm.maxRequestWorkers == 400)
        #expect(try load(text, defines: ["BIG"]).mpm.maxRequestWorkers == 800)
    }

    @Test func readerProcessorAndMPMErrorsAllStopTheLoad() {
        #expect(captureError { try load(loadModule(.event) + "\nFooBar 1") }?.description
                == "Skep does not implement 1 directive this configuration uses:\nmpm.conf:2: directive FooBar")
        #expect(captureError { try load(loadModule(.event) + "\nTimeout never") }?.description
                == "mpm.conf:2: Timeout: 'never' is not a valid duration (seconds, or a number with ms, s, mi or h) (Timeout never)")
        #expect(captureError { try load("Timeout 5") }?.description
                == "mpm.conf: No MPM loaded: load exactly one of mpm_prefork_module, mpm_worker_module or mpm_event_module with LoadModule")
    }

    @Test func builtinModulesHaveTheCoreAndTheThreeMPMs() {
        let names = ModuleSet.builtin.descriptors.map(\.name)
        for name in ["core_module", "http_module", "so_module", "unixd_module", "mpm_prefork_module", "mpm_worker_module", "mpm_event_module"] {
            #expect(names.contains(name))
        }
        #expect(Set(names).count == names.count)
        #expect(MPMModule.all.allSatisfy { !$0.isStatic })
        #expect(MPMModule.event.isNamed("event.c"))
        #expect(MPMModule.prefork.isNamed("prefork.c"))
        #expect(MPMModule.worker.isNamed("worker.c"))
    }
}
