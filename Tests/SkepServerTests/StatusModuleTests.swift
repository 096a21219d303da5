import SkepConfig
import SkepHTTP
import SkepScoreboard
@testable import SkepServer
import SkepSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A configuration with mod_status loaded, as Debian's status.conf sets it up.
func makeStatusConfig(_ extra: String = "") throws -> ServerConfig {
    let modules = CoreModule.all + [StatusModule.descriptor]
    var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/tmp"))
    let text = """
        LoadModule status_module mod_status.so
        ServerName localhost
        ErrorLog /dev/null
        \(extra)
        <Location /server-status>
            SetHandler server-status
        </Location>

        """
    let tree = try reader.read(text: text, name: "test.conf")
    return try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
}

/// The scoreboard of the Apache capture in the issue: event MPM, ServerLimit 16,
/// ThreadsPerChild 25, three children of generation 0, one worker writing.
func makeEventBoard() throws -> Scoreboard {
    let board = try Scoreboard.create(serverLimit: 16, threadLimit: 64)
    board.activeServerLimit = 16
    board.threadsPerChild = 25
    board.mpmName = "event"
    board.isAsync = true
    for child in 0..<3 {
        let slot = try #require(board.reserveProcessSlot(generation: 0))
        board.process(slot).pid = ProcessID(Int32(30136 + child))
        for thread in 0..<25 { board.worker(slot, thread).start(pid: Int32(30136 + child), tid: 0, generation: 0) }
    }
    board.worker(1, 0).setStatus(.writing)
    return board
}

/// The field names of a `?auto` page, in order.
func autoFieldNames(_ page: String) -> [String] {
    page.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().compactMap { line in
        line.firstIndex(of: ":").map { String(line[..<$0]) }
    }
}

@Suite struct StatusModuleTests {
    static let restart: Int64 = 1_795_390_397_000_000 // Sunday, 22-Nov-2026 23:33:17 UTC

    func report(_ board: Scoreboard, upSeconds: Int64, restart: Int64 = Self.restart) -> StatusReport {
        board.restartMicroseconds = restart
        var r = StatusReport(snapshot: board.snapshot(generation: 0))
        r.nowMicroseconds = restart + upSeconds * 1_000_000 + 250_000
        r.serverName = "127.0.0.1"
        r.serverVersion = "Skep/0.1.0 (Unix)"
        r.serverBuilt = "2026-11-12T08:58:41"
        r.mpmName = "event"
        r.isAsync = true
        r.loadAverage = (0.97, 1.68, 1.18)
        r.ticksPerSecond = 100
        return r
    }

    @Test func autoPageMatchesApachesForAFreshServer() throws {
        let board = try makeEventBoard()
        defer { try? board.unmap() }
        let page = report(board, upSeconds: 1).auto()
        var expected = """
            127.0.0.1
            ServerVersion: Skep/0.1.0 (Unix)
            ServerMPM: event
            Server Built: 2026-11-12T08:58:41
            CurrentTime: \(StatusReport.time(Self.restart + 1_250_000))
            RestartTime: \(StatusReport.time(Self.restart))
            ParentServerConfigGeneration: 1
            ParentServerMPMGeneration: 0
            ServerUptimeSeconds: 1
            ServerUptime: 1 second
            Load1: 0.97
            Load5: 1.68
            Load15: 1.18
            Total Accesses: 0
            Total kBytes: 0
            Total Duration: 0
            CPUUser: 0
            CPUSystem: 0
            CPUChildrenUser: 0
            CPUChildrenSystem: 0
            Uptime: 1
            ReqPerSec: 0
            BytesPerSec: 0
            BusyWorkers: 1
            GracefulWorkers: 0
            IdleWorkers: 74
            Processes: 3
            Stopping: 0
            ConnsTotal: 0
            ConnsAsyncWaitIO: 0
            ConnsAsyncWriting: 0
            ConnsAsyncKeepAlive: 0
            ConnsAsyncClosing: 0

            """
        expected += "Scoreboard: " + String(repeating: "_", count: 25) + "W" + String(repeating: "_", count: 49)
            + String(repeating: ".", count: 400 - 75) + "\n"
        #expect(page == expected)
    }

    @Test func timesAreFormattedAsApaches() {
        var zone = tm()
        var t = time_t(Self.restart / 1_000_000)
        localtime_r(&t, &zone)
        // The capture was taken in UTC; elsewhere only the shape can be checked.
        if zone.tm_gmtoff == 0 {
            #expect(StatusReport.time(Self.restart + 1_000_000) == "Sunday, 22-Nov-2026 23:33:18 UTC")
        }
        #expect(StatusReport.time(Self.restart).hasPrefix("Sunday, 22-Nov-2026 ") || zone.tm_gmtoff != 0)
        #expect(StatusReport.uptimeWords(0) == "")
        #expect(StatusReport.uptimeWords(1) == " 1 second")
        #expect(StatusReport.uptimeWords(2 * 86400 + 3600 + 61) == " 2 days 1 hour 1 minute 1 second")
    }

    @Test func autoPageWithAccessesAddsPerRequestLines() throws {
        // The second capture: 7 requests, 4 kB, 2 seconds up.
        let board = try makeEventBoard()
        defer { try? board.unmap() }
        for i in 0..<7 {
            let w = board.worker(i % 3, i)
            w.beginRequest(client: "127.0.0.1", vhost: "localhost:19611", request: "GET / HTTP/1.1")
            w.endRequest(bytes: i == 0 ? 4096 - 6 * 10 + 300 : 10, durationMicroseconds: 90)
            w.resetConnection()
        }
        board.worker(1, 0).setStatus(.writing)
        let page = report(board, upSeconds: 2).auto()
        let lines = page.split(separator: "\n").map(String.init)
        #expect(lines.contains("Total Accesses: 7"))
        #expect(lines.contains("Total kBytes: 4"))
        #expect(lines.contains("Total Duration: 0"))
        #expect(lines.contains("ReqPerSec: 3.5"))
        #expect(lines.contains("BytesPerSec: 2048"))
        #expect(lines.contains("BytesPerReq: 585.143"))
        #expect(lines.contains("DurationPerReq: 0"))
        #expect(autoFieldNames(page) == [
            "ServerVersion", "ServerMPM", "Server Built", "CurrentTime", "RestartTime", "ParentServerConfigGeneration",
            "ParentServerMPMGeneration", "ServerUptimeSeconds", "ServerUptime", "Load1", "Load5", "Load15",
            "Total Accesses", "Total kBytes", "Total Duration", "CPUUser", "CPUSystem", "CPUChildrenUser",
            "CPUChildrenSystem", "Uptime", "ReqPerSec", "BytesPerSec", "BytesPerReq", "DurationPerReq",
            "BusyWorkers", "GracefulWorkers", "IdleWorkers", "Processes", "Stopping", "ConnsTotal",
            "ConnsAsyncWaitIO", "ConnsAsyncWriting", "ConnsAsyncKeepAlive", "ConnsAsyncClosing", "Scoreboard",
        ])
    }

    @Test func linesDependOnExtendedStatusAndTheMPM() throws {
        let board = try makeEventBoard()
        defer { try? board.unmap() }
        var r = report(board, upSeconds: 0)
        r.extended = false
        r.isAsync = false
        r.mpmName = "prefork"
        let page = r.auto()
        #expect(page.contains("\nServerUptime:\nLoad1: 0.97\n")) // no uptime words at 0 s
        #expect(autoFieldNames(page) == [
            "ServerVersion", "ServerMPM", "Server Built", "CurrentTime", "RestartTime", "ParentServerConfigGeneration",
            "ParentServerMPMGeneration", "ServerUptimeSeconds", "ServerUptime", "Load1", "Load5", "Load15",
            "BusyWorkers", "GracefulWorkers", "IdleWorkers", "Scoreboard",
        ])
        // CPU load appears once there is CPU time and an uptime to divide by.
        var cpu = report(board, upSeconds: 3)
        cpu.ticksPerSecond = 100
        board.recordMasterTimes()
        cpu.snapshot = board.snapshot(generation: 0)
        if cpu.snapshot.cpuTimes.total != 0 { #expect(cpu.auto().contains("\nCPULoad: ")) }
    }

    @Test func numbersAreFormattedAsAPRFormatsThem() {
        #expect(StatusReport.g(0) == "0")
        #expect(StatusReport.g(0.25) == ".25")
        #expect(StatusReport.g(Double(Float(256) / Float(3))) == "85.3333")
        #expect(StatusReport.g(3.5) == "3.5")
        #expect(StatusReport.g(2048) == "2048")
        #expect(StatusReport.g(Double(Float(1024 * 4) / Float(7))) == "585.143")
        #expect(StatusReport.g(Double(Float(1) / Float(9))) == ".111111")
        #expect(StatusReport.g(1_234_567) == "1234570")      // C's %g: 1.23457e+06
        #expect(StatusReport.g(12_345_678_901) == "1.23457e+10")
        #expect(StatusReport.g(0.0001) == ".0001")
        #expect(StatusReport.g(0.000015) == "1.5e-5")
        #expect(StatusReport.g(100) == "100")
        #expect(StatusReport.g(1.8, precision: 3) == "1.8")
        #expect(StatusReport.g(Double(Float(9) / Float(5)), precision: 3) == "1.8")
        #expect(StatusReport.g(0.97) == ".97")
        #expect(StatusReport.fixed(0.97, 2) == "0.97")
        #expect(StatusReport.bytes(484) == "484 B")
        #expect(StatusReport.bytes(6656) == "6.5 kB")
        #expect(StatusReport.kilobytes(6) == "6 kB")
        #expect(StatusReport.kilobytes(2048) == "2.0 MB")
    }

    @Test func queryOptionsAreFoundAnywhere() {
        #expect(StatusOptions(query: "auto") == StatusOptions(query: "x=auto"))
        #expect(StatusOptions(query: "auto").auto)
        #expect(StatusOptions(query: "refresh=5&auto").refresh == 5)
        #expect(StatusOptions(query: "refresh").refresh == 10)
        #expect(StatusOptions(query: "refresh=0").refresh == 10)
        #expect(StatusOptions(query: "notable").noTable)
        #expect(StatusOptions(query: nil) == StatusOptions(query: ""))
    }

    @Test func htmlPageHasApachesShape() throws {
        let board = try makeEventBoard()
        defer { try? board.unmap() }
        let w = board.worker(0, 0)
        w.beginRequest(client: "127.0.0.1", vhost: "localhost:19611", request: "GET /nonexist HTTP/1.1")
        w.endRequest(bytes: 484, durationMicroseconds: 300)
        w.resetConnection()
        // The worker was last used 5 s before "now" (the `SS` column).
        var r = report(board, upSeconds: 5, restart: w.lastUsedMicroseconds - 250_000)
        r.localIP = "127.0.0.1"
        let page = r.html(noTable: false)
        #expect(page.hasPrefix("""
            <!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
            <html><head>
            <title>Apache Status</title>
            </head><body>
            <h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1>

            <dl><dt>Server Version: Skep/0.1.0 (Unix)</dt>
            <dt>Server MPM: event</dt>
            <dt>Server Built: 2026-11-12T08:58:41
            </dt></dl><hr /><dl>

            """))
        #expect(page.contains("<dt>Server uptime:  5 seconds</dt>\n<dt>Server load: 0.97 1.68 1.18</dt>\n"))
        #expect(page.contains("<dt>Total accesses: 1 - Total Traffic: 0 kB - Total Duration: 0</dt>\n"))
        #expect(page.contains("<dt>.2 requests/sec - 0 B/second - 0 B/request - 0 ms/request</dt>\n"))
        #expect(page.contains("<dt>1 requests currently being processed, 0 workers gracefully restarting, 74 idle workers</dt>\n</dl>"))
        #expect(page.contains("<tr><td>0</td><td>30136</td><td>no</td><td>0</td><td>yes</td><td>0</td><td>0</td><td>25</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>\n"))
        #expect(page.contains("<tr><td>Sum</td><td>3</td><td>0</td><td>0</td><td>&nbsp;</td><td>1</td><td>0</td><td>74</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>\n</table>\n<pre>"))
        #expect(page.contains("<pre>" + String(repeating: "_", count: 25) + "W" + String(repeating: "_", count: 38) + "\n___________....."))
        #expect(page.contains("\"<b><code>G</code></b>\" Gracefully finishing,<br /> \n"))
        #expect(page.contains("<tr><td><b>0-0</b></td><td>30136</td><td>0/1/1</td><td>_\n</td><td>0.00</td><td>5</td><td>0</td><td>0</td><td>0.0</td><td>0.00</td><td>0.00\n</td><td>127.0.0.1</td><td>http/1.1</td><td nowrap>localhost:19611</td><td nowrap>GET /nonexist HTTP/1.1</td></tr>\n\n"))
        #expect(page.contains("<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n </table>\n</body></html>\n"))
        let list = r.html(noTable: true)
        #expect(list.contains("<b>Server 0-0</b> (30136): 0|1|1 [Ready] u0 s0 cu0 cs0\n 5 0 0(0 B|484 B|484 B)\n <i>127.0.0.1 {GET /nonexist HTTP/1.1}</i> <i>(http/1.1)</i> <b>[localhost:19611]</b><br />\n\n"))
        #expect(!list.contains("<table border"))
    }

    @Test func extendedStatusDefaultsOnAndIsAServerDirective() throws {
        #expect(StatusModule(config: try makeStatusConfig()).extendedStatus)
        #expect(!StatusModule(config: try makeStatusConfig("ExtendedStatus Off")).extendedStatus)
        #expect(StatusModule(config: try makeStatusConfig("SeeRequestTail On")).seeRequestTail)
        #expect(throws: ConfigError.self) { _ = try makeStatusConfig("<Location /x>\nExtendedStatus On\n</Location>") }
        #expect(ServerModules.types.contains { $0 == StatusModule.self })
    }

    @Test func handlerServesAutoFromTheContextsScoreboard() throws {
        let config = try makeStatusConfig()
        let context = try ServerContext(config: config, moduleTypes: [StatusModule.self])
        let board = try makeEventBoard()
        defer { try? board.unmap() }
        context.scoreboard = board
        context.mpmName = "event"
        StatusModule.configure(board, config: config)
        let handler = try #require(context.handlers["server-status"])
        let response = try withRequest("GET /server-status?auto HTTP/1.1\r\nHost: status.test:8080\r\n\r\n", server: config.main) { r in
            try handler(r, context)
        }
        #expect(response.status == .ok)
        #expect(response.header("Content-Type") == "text/plain; charset=ISO-8859-1")
        guard case .bytes(let bytes) = response.body else { Issue.record("no body"); return }
        let page = String(decoding: bytes, as: UTF8.self)
        #expect(page.hasPrefix("status.test\nServerVersion: Skep/0.1.0 (Unix)\nServerMPM: event\n"))
        let scoreboard = try #require(page.split(separator: "\n").last)
        #expect(scoreboard.count == "Scoreboard: ".count + 16 * 25)
        #expect(page.contains("\nProcesses: 3\n"))

        let html = try withRequest("GET /server-status?refresh=3 HTTP/1.1\r\nHost: h\r\n\r\n", server: config.main) { r in
            try handler(r, context)
        }
        #expect(html.header("Refresh") == "3")
        #expect(html.header("Content-Type") == "text/html; charset=ISO-8859-1")

        let post = try withRequest("POST /server-status HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", server: config.main) { r in
            try handler(r, context)
        }
        #expect(post.status == .notFound)

        context.scoreboard = nil
        let none = try withRequest("GET /server-status HTTP/1.1\r\nHost: h\r\n\r\n", server: config.main) { r in try handler(r, context) }
        #expect(none.status == .internalServerError)
    }
}

