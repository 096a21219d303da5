import Testing
import SkepConfig
import SkepMPM
import SkepTestSupport

@Suite struct MPMSettingsTests {
    func config(_ set: (inout MPMConfig) -> Void) -> MPMConfig {
        var c = MPMConfig()
        set(&c)
        return c
    }

    // MARK: - Which MPM

    @Test func noMPMIsAnError() {
        #expect(captureError { try load("ServerName a") }?.description
                == "mpm.conf: No MPM loaded: load exactly one of mpm_prefork_module, mpm_worker_module or mpm_event_module with LoadModule")
    }

    @Test func twoMPMsAreAnError() {
        let error = captureError { try load(loadModule(.prefork) + "\n" + loadModule(.event)) }
        #expect(error?.description == "mpm.conf:2: More than one MPM loaded: mpm_prefork_module (mpm.conf:1) and mpm_event_module (mpm.conf:2); load exactly one")
    }

    @Test(arguments: MPMKind.allCases)
    func theLoadedMPMIsTheKind(_ kind: MPMKind) throws {
        #expect(try load(loadModule(kind)).mpm.kind == kind)
        #expect(kind.moduleName == "mpm_\(kind.rawValue)_module")
        #expect(kind.isThreaded == (kind != .prefork))
    }

    @Test(arguments: [
        (MPMKind.prefork, "ThreadsPerChild 25", "it belongs to mpm_worker_module or mpm_event_module"),
        (.prefork, "MinSpareThreads 25", "it belongs to mpm_worker_module or mpm_event_module"),
        (.event, "MinSpareServers 5", "it belongs to mpm_prefork_module"),
        (.worker, "AsyncRequestWorkerFactor 2", "it belongs to mpm_event_module"),
    ])
    func directivesOfAnotherMPMAreInvalid(_ kind: MPMKind, _ line: String, _ owner: String) {
        let error = captureError { try load(loadModule(kind) + "\n" + line) }
        #expect(error?.description == "mpm.conf:2: Invalid command '\(line.split(separator: " ")[0])', perhaps misspelled or defined by a module not included in the server configuration: \(owner), which no LoadModule enables (\(line))")
    }

    @Test func mpmDirectivesWithoutAnyMPMAreInvalid() {
        let error = captureError { try load("StartServers 2") }
        #expect(error?.description == "mpm.conf:1: Invalid command 'StartServers', perhaps misspelled or defined by a module not included in the server configuration: it belongs to mpm_prefork_module or mpm_worker_module or mpm_event_module, which no LoadModule enables (StartServers 2)")
    }

    @Test func ifModuleSeesTheMPM() throws {
        let (config, _) = try load(loadModule(.event) + """

            <IfModule mpm_event_module>
            ServerAlias event-name
            </IfModule>
            <IfModule event.c>
            ServerAlias event-source
            </IfModule>
            <IfModule mpm_prefork_module>
            ServerAlias prefork
            </IfModule>
            <IfModule !worker.c>
            ServerAlias not-worker
            </IfModule>
            """)
        #expect(config[CoreServerConfig.self].serverAliases == ["event-name", "event-source", "not-worker"])
    }

    @Test func mpmDirectivesBelongToTheMainServer() {
        let error = captureError { try load(loadModule(.event) + "\n<VirtualHost *:80>\nStartServers 2\n</VirtualHost>") }
        #expect(error?.description == "mpm.conf:3: StartServers cannot occur within <VirtualHost> section: it is allowed in server config (StartServers 2)")
    }

    @Test(arguments: [
        ("StartServers abc", "mpm.conf:2: StartServers: 'abc' is not a whole number (between -2147483648 and 2147483647) (StartServers abc)"),
        ("MaxRequestWorkers 1e3", "mpm.conf:2: MaxRequestWorkers: '1e3' is not a whole number (between -2147483648 and 2147483647) (MaxRequestWorkers 1e3)"),
        ("ThreadsPerChild 99999999999", "mpm.conf:2: ThreadsPerChild: 99999999999 is out of range: it must be between -2147483648 and 2147483647 (ThreadsPerChild 99999999999)"),
        ("AsyncRequestWorkerFactor 0", "mpm.conf:2: AsyncRequestWorkerFactor argument must be a positive number (at most 10000) (AsyncRequestWorkerFactor 0)"),
        ("AsyncRequestWorkerFactor x", "mpm.conf:2: AsyncRequestWorkerFactor argument must be a positive number (at most 10000) (AsyncRequestWorkerFactor x)"),
        ("GracefulShutdownTimeout -1", "mpm.conf:2: GracefulShutdownTimeout: -1 is out of range: it must be between 0 and 2147483 (GracefulShutdownTimeout -1)"),
        ("StartServers 1 2", "mpm.conf:2: StartServers takes one argument, a whole number (StartServers 1 2)"),
    ])
    func badMPMValues(_ line: String, _ message: String) {
        #expect(captureError { try load(loadModule(.event) + "\n" + line) }?.description == message)
    }

    // MARK: - Defaults

    @Test func preforkDefaults() throws {
        let s = try load(loadModule(.prefork)).mpm
        #expect(s == MPMSettings(kind: .prefork, MPMConfig()))
        #expect(s.startServers == 5)
        #expect(s.minSpare == 5)
        #expect(s.maxSpare == 10)
        #expect(s.serverLimit == 256)
        #expect(s.maxRequestWorkers == 256)
        #expect(s.maxChildren == 256)
        #expect(s.threadsPerChild == 1)
        #expect(s.threadLimit == 1)
        #expect(s.maxConnectionsPerChild == 0)
        #expect(s.gracefulShutdownTimeoutSeconds == 0)
        #expect(s.adjustments.isEmpty)
        #expect(s.apacheConnectionCeiling == 256)
    }

    @Test(arguments: [MPMKind.worker, .event])
    func threadedDefaults(_ kind: MPMKind) throws {
        let s = try load(loadModule(kind)).mpm
        #expect(s == MPMSettings(kind: kind, MPMConfig()))
        #expect(s.startServers == 3)
        #expect(s.minSpare == 75)
        #expect(s.maxSpare == 250)
        #expect(s.threadsPerChild == 25)
        #expect(s.threadLimit == 64)
        #expect(s.serverLimit == 16)
        #expect(s.maxRequestWorkers == 400)
        #expect(s.maxChildren == 16)
        #expect(s.asyncRequestWorkerFactor == 2)
        #expect(s.maxConnectionsPerChild == 0)
        #expect(s.adjustments.isEmpty)
        #expect(s.apacheConnectionsPerChild == 75)
        #expect(s.apacheConnectionCeiling == (kind == .event ? 1200 : 400))
    }

    @Test func compiledInLimits() {
        #expect(MPMSettings.maxServerLimit(.prefork) == 200_000)
        #expect(MPMSettings.maxServerLimit(.worker) == 20_000)
        #expect(MPMSettings.maxServerLimit(.event) == 20_000)
        #expect(MPMSettings.maxThreadLimit(.worker) == 20_000)
        #expect(MPMSettings.maxThreadLimit(.event) == 100_000)
    }

    // MARK: - Directives as written

    @Test func directivesAreRead() throws {
        let s = try load(loadModule(.event) + """

            StartServers 4
            ServerLimit 20
            ThreadLimit 100
            ThreadsPerChild 50
            MaxRequestWorkers 1000
            MinSpareThreads 50
            MaxSpareThreads 200
            MaxConnectionsPerChild 10000
            AsyncRequestWorkerFactor 1.5
            GracefulShutdownTimeout 30
            ThreadStackSize 8388608
            MaxMemFree 2048
            ListenCoresBucketsRatio 2
            """).mpm
        #expect(s.startServers == 4)
        #expect(s.serverLimit == 20)
        #expect(s.threadLimit == 100)
        #expect(s.threadsPerChild == 50)
        #expect(s.maxRequestWorkers == 1000)
        #expect(s.maxChildren == 20)
        #expect(s.minSpare == 50)
        #expect(s.maxSpare == 200)
        #expect(s.maxConnectionsPerChild == 10000)
        #expect(s.asyncRequestWorkerFactor == 1.5)
        #expect(s.gracefulShutdownTimeoutSeconds == 30)
        #expect(s.adjustments.isEmpty)
        // The factor is truncated: 50 + 1 x 50.
        #expect(s.apacheConnectionsPerChild == 100)
        #expect(s.apacheConnectionCeiling == 2000)
    }

    @Test(arguments: [MPMKind.prefork, .worker, .event])
    func oldNamesStillWork(_ kind: MPMKind) throws {
        let (config, s) = try load(loadModule(kind) + "\nMaxClients 50\nMaxRequestsPerChild 1000")
        #expect(s.maxRequestWorkers == 50)
        #expect(s.maxConnectionsPerChild == 1000)
        #expect(config.warnings.map(\.description) == [
            "mpm.conf:2: note: MaxClients is a deprecated name for MaxRequestWorkers",
            "mpm.conf:3: note: MaxRequestsPerChild is a deprecated name for MaxConnectionsPerChild",
        ])
    }

    @Test func negativeConnectionLimitsMeanNone() {
        let s = MPMSettings(kind: .event, config { $0.maxConnectionsPerChild = -5; $0.gracefulShutdownTimeoutSeconds = -1 })
        #expect(s.maxConnectionsPerChild == 0)
        #expect(s.gracefulShutdownTimeoutSeconds == 0)
    }

    // MARK: - Apache's adjustments

    @Test(arguments: [MPMKind.worker, .event])
    func maxRequestWorkersIsRoundedDownToAMultipleOfThreadsPerChild(_ kind: MPMKind) {
        let s = MPMSettings(kind: kind, config { $0.maxRequestWorkers = 130 })
        #expect(s.maxRequestWorkers == 125)
        #expect(s.maxChildren == 5)
        #expect(s.adjustments == ["MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 125, for a maximum of 5 servers."])
    }

    @Test func threadsPerChildIsCappedAtThreadLimit() {
        let s = MPMSettings(kind: .worker, config { $0.threadsPerChild = 100; $0.maxRequestWorkers = 640 })
        #expect(s.threadsPerChild == 64)
        #expect(s.threadLimit == 64)
        #expect(s.maxRequestWorkers == 640)
        #expect(s.maxChildren == 10)
        #expect(s.adjustments == ["ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing to 64. To increase, please see the ThreadLimit directive."])
    }

    @Test func cappingThreadsPerChildCanForceRounding() {
        let s = MPMSettings(kind: .event, config { $0.threadsPerChild = 100 })
        #expect(s.adjustments == [
            "ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing to 64. To increase, please see the ThreadLimit directive.",
            "MaxRequestWorkers of 400 is not an integer multiple of ThreadsPerChild of 64, decreasing to nearest multiple 384, for a maximum of 6 servers.",
        ])
        #expect(s.maxRequestWorkers == 384)
    }

    @Test func maxRequestWorkersIsRaisedToThreadsPerChild() {
        let s = MPMSettings(kind: .worker, config { $0.maxRequestWorkers = 10 })
        #expect(s.maxRequestWorkers == 25)
        #expect(s.maxChildren == 1)
        #expect(s.startServers == 1)
        #expect(s.adjustments == [
            "MaxRequestWorkers of 10 is less than ThreadsPerChild of 25, increasing to 25. MaxRequestWorkers must be at least as large as the number of threads in a single server.",
            "StartServers of 3 exceeds the 1 children MaxRequestWorkers allows, starting 1 (Apache does this silently).",
        ])
    }

    @Test(arguments: [MPMKind.worker, .event])
    func childrenAreCappedByServerLimit(_ kind: MPMKind) {
        let s = MPMSettings(kind: kind, config { $0.maxRequestWorkers = 1000 })
        #expect(s.maxChildren == 16)
        #expect(s.maxRequestWorkers == 400)
        #expect(s.adjustments == ["MaxRequestWorkers of 1000 would require 40 servers and would exceed ServerLimit of 16, decreasing to 400. To increase, please see the ServerLimit directive."])
    }

    @Test func roundingAndServerLimitTogether() {
        let s = MPMSettings(kind: .event, config { $0.maxRequestWorkers = 1010 })
        #expect(s.adjustments == [
            "MaxRequestWorkers of 1010 is not an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 1000, for a maximum of 40 servers.",
            "MaxRequestWorkers of 1000 would require 40 servers and would exceed ServerLimit of 16, decreasing to 400. To increase, please see the ServerLimit directive.",
        ])
    }

    @Test func preforkMaxRequestWorkersIsCappedByServerLimit() {
        let s = MPMSettings(kind: .prefork, config { $0.maxRequestWorkers = 300 })
        #expect(s.maxRequestWorkers == 256)
        #expect(s.maxChildren == 256)
        #expect(s.adjustments == ["MaxRequestWorkers of 300 exceeds ServerLimit value of 256 servers, decreasing MaxRequestWorkers to 256. To increase, please see the ServerLimit directive."])
        let raised = MPMSettings(kind: .prefork, config { $0.maxRequestWorkers = 300; $0.serverLimit = 300 })
        #expect(raised.maxRequestWorkers == 300)
        #expect(raised.adjustments.isEmpty)
    }

    @Test(arguments: MPMKind.allCases)
    func startServersZeroIsRaisedToOne(_ kind: MPMKind) {
        let s = MPMSettings(kind: kind, config { $0.startServers = 0 })
        #expect(s.startServers == 1)
        #expect(s.adjustments == ["StartServers of 0 not allowed, increasing to 1."])
    }

    @Test func preforkMaxSpareIsRaised() {
        let s = MPMSettings(kind: .prefork, config { $0.minSpareServers = 10; $0.maxSpareServers = 5 })
        #expect(s.minSpare == 10)
        #expect(s.maxSpare == 11)
        #expect(s.adjustments == ["MaxSpareServers of 5 is less than MinSpareServers + 1, increasing to 11 (Apache does this silently)."])
    }

    @Test(arguments: [MPMKind.worker, .event])
    func threadedMaxSpareIsRaised(_ kind: MPMKind) {
        let s = MPMSettings(kind: kind, config { $0.minSpareThreads = 25; $0.maxSpareThreads = 30 })
        #expect(s.maxSpare == 51)
        #expect(s.adjustments == ["MaxSpareThreads of 30 is less than MinSpareThreads + ThreadsPerChild + 1, increasing to 51 (Apache does this silently)."])
        // Exactly MinSpareThreads + ThreadsPerChild + 1 is kept.
        #expect(MPMSettings(kind: kind, config { $0.minSpareThreads = 25; $0.maxSpareThreads = 51 }).adjustments.isEmpty)
    }

    @Test func minSpareThreadsZeroIsRaised() {
        let s = MPMSettings(kind: .event, config { $0.minSpareThreads = 0 })
        #expect(s.minSpare == 1)
        #expect(s.adjustments == ["MinSpareThreads of 0 not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."])
    }

    @Test func minSpareServersZeroIsRaised() {
        let s = MPMSettings(kind: .prefork, config { $0.minSpareServers = 0 })
        #expect(s.minSpare == 1)
        #expect(s.adjustments == ["MinSpareServers of 0 not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."])
    }

    @Test func minSpareServersWarningMatchesApache() {
        // prefork.c (AH00186) prints "... increasing to 1 to avoid almost certain server
        // failure. Please read the documentation." at start-up, as worker and event do for
        // MinSpareThreads; Skep's text matches it.
        let s = MPMSettings(kind: .prefork, config { $0.minSpareServers = 0 })
        #expect(s.adjustments == ["MinSpareServers of 0 not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."])
    }

    @Test func preforkStartServersIsCappedByMaxRequestWorkers() {
        let s = MPMSettings(kind: .prefork, config { $0.startServers = 20; $0.maxRequestWorkers = 10 })
        #expect(s.startServers == 10)
        #expect(s.adjustments == ["StartServers of 20 exceeds MaxRequestWorkers of 10, starting 10 (Apache does this silently)."])
    }

    @Test(arguments: [
        (MPMKind.prefork, 300_000, "ServerLimit of 300000 exceeds compile-time limit of 200000 servers, decreasing to 200000."),
        (.worker, 30_000, "ServerLimit of 30000 exceeds compile-time limit of 20000 servers, decreasing to 20000."),
        (.event, 0, "ServerLimit of 0 not allowed, increasing to 1."),
        (.prefork, -1, "ServerLimit of -1 not allowed, increasing to 1."),
    ])
    func serverLimitBounds(_ kind: MPMKind, _ limit: Int, _ message: String) {
        let s = MPMSettings(kind: kind, config { $0.serverLimit = limit })
        #expect(s.adjustments.first == message)
        #expect(s.serverLimit == min(max(limit, 1), MPMSettings.maxServerLimit(kind)))
    }

    @Test func threadLimitBounds() {
        let worker = MPMSettings(kind: .worker, config { $0.threadLimit = 30_000 })
        #expect(worker.threadLimit == 20_000)
        #expect(worker.adjustments == ["ThreadLimit of 30000 exceeds compile-time limit of 20000 threads, decreasing to 20000."])
        let event = MPMSettings(kind: .event, config { $0.threadLimit = 30_000 })
        #expect(event.threadLimit == 30_000)
        #expect(event.adjustments.isEmpty)
        let zero = MPMSettings(kind: .event, config { $0.threadLimit = 0 })
        #expect(zero.threadLimit == 1)
        #expect(zero.threadsPerChild == 1)
        #expect(zero.adjustments.first == "ThreadLimit of 0 not allowed, increasing to 1.")
    }

    @Test func threadsPerChildZeroIsRaised() {
        let s = MPMSettings(kind: .worker, config { $0.threadsPerChild = 0 })
        #expect(s.threadsPerChild == 1)
        // The default 400 workers at one thread a child would need 400 children: capped by ServerLimit 16.
        #expect(s.adjustments == [
            "ThreadsPerChild of 0 not allowed, increasing to 1.",
            "MaxRequestWorkers of 400 would require 400 servers and would exceed ServerLimit of 16, decreasing to 16. To increase, please see the ServerLimit directive.",
        ])
        #expect(s.maxChildren == 16)
        #expect(s.maxRequestWorkers == 16)
    }

    @Test func preforkMaxRequestWorkersZeroIsRaised() {
        let s = MPMSettings(kind: .prefork, config { $0.maxRequestWorkers = 0 })
        #expect(s.maxRequestWorkers == 1)
        #expect(s.adjustments == [
            "MaxRequestWorkers of 0 not allowed, increasing to 1.",
            "StartServers of 5 exceeds MaxRequestWorkers of 1, starting 1 (Apache does this silently).",
        ])
    }

    @Test func adjustmentsFromAConfigurationFile() throws {
        let s = try load(loadModule(.worker) + "\nMaxRequestWorkers 130\nStartServers 0").mpm
        #expect(s.adjustments == [
            "MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 125, for a maximum of 5 servers.",
            "StartServers of 0 not allowed, increasing to 1.",
        ])
    }
}
