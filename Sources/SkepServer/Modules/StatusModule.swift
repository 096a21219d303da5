import Glibc
import SkepConfig
import SkepHTTP
import SkepScoreboard
import SkepSystem

/// Apache's mod_status: the `server-status` handler (`SetHandler server-status` in a
/// `<Location /server-status>`), reading the shared scoreboard.
///
/// - `?auto`: the machine-readable page, byte for byte in the shape of Debian's Apache
///   2.4.71 (field names, order, which lines appear when, and APR's `%g` numbers such as
///   `.25`), because prometheus' apache_exporter, collectd and Munin parse it.
/// - otherwise Apache's HTML page: the per-process table for the event MPM, the
///   scoreboard, and with `ExtendedStatus On` the per-worker table (`?notable`: the same
///   as a list). `?refresh=N` adds `Refresh: N` (10 when N < 1). Options are found
///   anywhere in the query, as Apache's `strstr` finds them.
///
/// Directives: `ExtendedStatus On|Off` (main server only; On by default when mod_status is
/// loaded, as Apache does since 2.3.6) and `SeeRequestTail On|Off` (Off: a request line too
/// long for the scoreboard keeps its first 63 bytes; On: its last 63). Apache declares both
/// in core; Skep has them where they take effect.
///
/// CPU figures: Apache adds the master's times(2) (whose children-times include every
/// reaped child) to each live child's. Skep does the same with the times the master
/// records each maintenance tick (`Scoreboard.recordMasterTimes`) and the times each child
/// records in its process slot (`ProcessScore.recordTimes`, which this handler also calls
/// for its own child before reading); a live worker's `CPU` column is its child's.
public struct StatusModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "status_module", sourceName: "mod_status.c", directives: [
        DirectiveSpec("ExtendedStatus", .flag, .serverConfig,
                      help: "On to keep and show per-request figures (the default with mod_status)") { d, scope throws(ConfigError) in
            scope.server[StatusConfig.self].extendedStatus = try d.flag()
        },
        DirectiveSpec("SeeRequestTail", .flag, .serverConfig,
                      help: "On to keep the last 63 bytes of a long request line in the scoreboard, Off its first 63") { d, scope throws(ConfigError) in
            scope.server[StatusConfig.self].seeRequestTail = try d.flag()
        },
    ])

    /// Apache's `STATUS_MAGIC_TYPE`, the other name the handler answers to.
    public static let magicType = "application/x-httpd-status"

    public let extendedStatus: Bool
    public let seeRequestTail: Bool

    public init(config: ServerConfig) {
        let status = config[StatusConfig.self]
        extendedStatus = status.extendedStatus ?? true
        seeRequestTail = status.seeRequestTail ?? false
    }

    /// What the MPM calls for each configuration generation once it has the scoreboard:
    /// `SeeRequestTail` is read by `WorkerScore.beginRequest` from the scoreboard.
    public static func configure(_ scoreboard: Scoreboard, config: ServerConfig) {
        scoreboard.seeRequestTail = config.isActive(descriptor.name) && (config[StatusConfig.self].seeRequestTail ?? false)
    }

    public var handlers: [String: Handler] {
        let extended = extendedStatus
        let handler: Handler = { r, server in StatusModule.handle(r, server, extended: extended) }
        return ["server-status": handler, Self.magicType: handler]
    }

    /// The report is read from shared memory: nothing in it waits.
    public var nonBlockingHandlers: Set<String> { ["server-status", Self.magicType] }

    static func handle(_ r: Request, _ server: ServerContext, extended: Bool) -> Response {
        let processor = RequestProcessor(context: server)
        // Apache allows GET (and so HEAD) and declines the rest to the default handler.
        guard r.head.method == .get || r.head.method == .head else { return processor.error(.notFound, r) }
        guard let board = server.scoreboard else {
            server.errorLog.log(.error, module: "status", client: r.client,
                                "AH01237: Server status unavailable in inetd mode")
            return processor.error(.internalServerError, r)
        }
        if let slot = board.processSlot(of: SkepSystem.Process.id) { board.process(slot).recordTimes() }
        let options = StatusOptions(query: r.query)
        var report = StatusReport(snapshot: board.snapshot(generation: server.generation))
        report.nowMicroseconds = SystemClock.now().microseconds
        report.serverName = r.hostName.flatMap { $0.isEmpty ? nil : $0 }
            ?? r.serverConfig(CoreServerConfig.self).serverName.map { ServerContext.hostPart($0) }
            ?? r.local.host
        report.localIP = r.local.host
        report.serverVersion = server.serverBanner
        report.mpmName = server.mpmName
        report.isAsync = board.isAsync || server.mpmName == "event"
        report.mpmGeneration = server.generation
        report.extended = extended
        report.loadAverage = StatusReport.systemLoadAverage()
        report.signature = RequestProcessor.signature(r, server)
        var headers: [(name: String, value: String)] = []
        if let refresh = options.refresh { headers.append(("Refresh", String(refresh))) }
        let body: String
        if options.auto {
            headers.append(("Content-Type", "text/plain; charset=ISO-8859-1"))
            body = report.auto()
        } else {
            headers.append(("Content-Type", "text/html; charset=ISO-8859-1"))
            body = report.html(noTable: options.noTable)
        }
        return Response(status: .ok, headers: headers, body: .bytes(Array(body.utf8)))
    }
}

/// mod_status's per-server record (main server only).
public struct StatusConfig: ModuleConfig {
    public var extendedStatus: Bool?
    public var seeRequestTail: Bool?
    public init() {}
    public func merged(with child: StatusConfig) -> StatusConfig {
        var out = child
        out.extendedStatus = child.extendedStatus ?? extendedStatus
        out.seeRequestTail = child.seeRequestTail ?? seeRequestTail
        return out
    }
}

/// The query options mod_status looks for (`strstr` anywhere in the query, as Apache).
struct StatusOptions: Equatable {
    var refresh: Int?
    var noTable = false
    var auto = false

    init(query: String?) {
        guard let query, !query.isEmpty else { return }
        let bytes = Array(query.utf8)
        if let at = Self.find(Array("refresh".utf8), in: bytes) {
            var seconds = 0
            var i = at + 7
            if i < bytes.count && bytes[i] == UInt8(ascii: "=") {
                // atol: optional spaces and sign, then digits.
                i += 1
                while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
                var negative = false
                if i < bytes.count && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) {
                    negative = bytes[i] == UInt8(ascii: "-")
                    i += 1
                }
                while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39, seconds < Int.max / 100 {
                    seconds = seconds * 10 + Int(bytes[i] - 0x30)  // trap-safe: one digit; the loop stops before seconds * 10 could overflow
                    i += 1
                }
                if negative { seconds = -seconds }
            }
            refresh = seconds < 1 ? 10 : seconds
        }
        noTable = Self.find(Array("notable".utf8), in: bytes) != nil
        auto = Self.find(Array("auto".utf8), in: bytes) != nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

/// Everything one status page shows, and the two renderings; pure, so tests render a
/// hand-filled scoreboard with fixed times and load.
struct StatusReport {
    var snapshot: ScoreboardSnapshot
    var nowMicroseconds: Int64 = 0
    /// `ap_get_server_name(r)`: the host the request named, else `ServerName`.
    var serverName = "localhost"
    var localIP = "127.0.0.1"
    var serverVersion = ServerContext.product + "/" + ServerContext.version + " (Unix)"
    var serverBuilt = StatusReport.serverBuilt
    var mpmName = "prefork"
    var isAsync = false
    var mpmGeneration = 0
    var extended = true
    var loadAverage: (Double, Double, Double) = (0, 0, 0)
    var ticksPerSecond = Float(CPUTimes.ticksPerSecond)
    var signature: String?

    init(snapshot: ScoreboardSnapshot) { self.snapshot = snapshot }

    var uptimeSeconds: UInt32 {
        UInt32(truncatingIfNeeded: max(0, (nowMicroseconds - snapshot.restartMicroseconds) / 1_000_000))
    }

    // MARK: ?auto

    func auto() -> String {
        let s = snapshot
        let up = uptimeSeconds
        var out = ""
        out += "\(serverName)\n"
        out += "ServerVersion: \(serverVersion)\n"
        out += "ServerMPM: \(mpmName)\n"
        out += "Server Built: \(serverBuilt)\n"
        out += "CurrentTime: \(Self.time(nowMicroseconds))\n"
        out += "RestartTime: \(Self.time(s.restartMicroseconds))\n"
        out += "ParentServerConfigGeneration: \(s.configGeneration)\n"
        out += "ParentServerMPMGeneration: \(mpmGeneration)\n"
        out += "ServerUptimeSeconds: \(up)\n"
        out += "ServerUptime:\(Self.uptimeWords(up))\n"
        out += "Load1: \(Self.fixed(loadAverage.0, 2))\nLoad5: \(Self.fixed(loadAverage.1, 2))\nLoad15: \(Self.fixed(loadAverage.2, 2))\n"
        if extended {
            let count = s.totalAccesses, kb = s.totalKilobytes
            let durationMs = s.totalDurationMicroseconds / 1000
            out += "Total Accesses: \(count)\nTotal kBytes: \(kb)\nTotal Duration: \(durationMs)\n"
            let cpu = s.cpuTimes
            out += "CPUUser: \(seconds(cpu.user))\n"
            out += "CPUSystem: \(seconds(cpu.system))\n"
            out += "CPUChildrenUser: \(seconds(cpu.childrenUser))\n"
            out += "CPUChildrenSystem: \(seconds(cpu.childrenSystem))\n"
            // Apache divides by an uptime of 0 in the first second and prints garbage;
            // Skep leaves the line out until there is a second to divide by.
            if cpu.total != 0 && up > 0 { out += "CPULoad: \(Self.g(cpuLoad(cpu, up)))\n" }
            out += "Uptime: \(up)\n"
            if up > 0 {
                out += "ReqPerSec: \(Self.g(Double(Float(count) / Float(up))))\n"
                out += "BytesPerSec: \(Self.g(Double(1024 * Float(kb) / Float(up))))\n"
            }
            if count > 0 {
                out += "BytesPerReq: \(Self.g(Double(1024 * Float(kb) / Float(count))))\n"
                out += "DurationPerReq: \(Self.g(Double(Float(durationMs) / Float(count))))\n"
            }
        }
        out += "BusyWorkers: \(s.busyWorkers)\nGracefulWorkers: \(s.gracefulWorkers)\nIdleWorkers: \(s.idleWorkers)\n"
        if isAsync {
            out += "Processes: \(s.processCount)\nStopping: \(s.stoppingCount)\nConnsTotal: \(s.connectionsTotal)\n"
            out += "ConnsAsyncWaitIO: \(s.connectionsWaitIO)\nConnsAsyncWriting: \(s.connectionsWriting)\n"
            out += "ConnsAsyncKeepAlive: \(s.connectionsKeepAlive)\nConnsAsyncClosing: \(s.connectionsClosing)\n"
        }
        out += "Scoreboard: " + String(decoding: s.statusLine, as: UTF8.self) + "\n"
        return out
    }

    /// Clock ticks as seconds, printed as Apache prints them (`%g` of a float).
    func seconds(_ ticks: Int) -> String { Self.g(Double(Float(ticks) / ticksPerSecond)) }

    /// `cpu / tick / up_time * 100.` with Apache's float arithmetic.
    func cpuLoad(_ cpu: CPUTimes, _ up: UInt32) -> Double {
        Double(Float(cpu.total) / ticksPerSecond / Float(up)) * 100
    }

    // MARK: HTML

    func html(noTable: Bool) -> String {
        let s = snapshot
        let up = uptimeSeconds
        var out = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n"
        out += "<html><head>\n<title>Apache Status</title>\n</head><body>\n<h1>Apache Server Status for "
        out += "\(Self.escape(serverName)) (via \(localIP))</h1>\n\n"
        out += "<dl><dt>Server Version: \(serverVersion)</dt>\n"
        out += "<dt>Server MPM: \(mpmName)</dt>\n"
        out += "<dt>Server Built: \(serverBuilt)\n</dt></dl><hr /><dl>\n"
        out += "<dt>Current Time: \(Self.time(nowMicroseconds))</dt>\n"
        out += "<dt>Restart Time: \(Self.time(s.restartMicroseconds))</dt>\n"
        out += "<dt>Parent Server Config. Generation: \(s.configGeneration)</dt>\n"
        out += "<dt>Parent Server MPM Generation: \(mpmGeneration)</dt>\n"
        out += "<dt>Server uptime: \(Self.uptimeWords(up))</dt>\n"
        out += "<dt>Server load: \(Self.fixed(loadAverage.0, 2)) \(Self.fixed(loadAverage.1, 2)) \(Self.fixed(loadAverage.2, 2))</dt>\n"
        if extended {
            let count = s.totalAccesses, kb = s.totalKilobytes
            let durationMs = s.totalDurationMicroseconds / 1000
            out += "<dt>Total accesses: \(count) - Total Traffic: \(Self.kilobytes(kb)) - Total Duration: \(durationMs)</dt>\n"
            let cpu = s.cpuTimes
            out += "<dt>CPU Usage: u\(seconds(cpu.user)) s\(seconds(cpu.system))"
            out += " cu\(seconds(cpu.childrenUser)) cs\(seconds(cpu.childrenSystem))"
            if cpu.total != 0 && up > 0 {
                out += " - \(Self.g(cpuLoad(cpu, up), precision: 3))% CPU load</dt>\n"
            } else {
                out += "</dt>\n"
            }
            out += "<dt>"
            if up > 0 {
                out += "\(Self.g(Double(Float(count) / Float(up)), precision: 3)) requests/sec - "
                out += Self.bytes(Int(1024 * Float(kb) / Float(up))) + "/second"  // trap-safe: kilobytes served per second of uptime (up > 0): far below Int.max
            }
            if count > 0 {
                if up > 0 { out += " - " }
                out += Self.bytes(Int(1024 * Float(kb) / Float(count)))  // trap-safe: kilobytes per request (count > 0): far below Int.max
                out += "/request - \(Self.g(Double(Float(durationMs) / Float(count)))) ms/request"
            }
            out += "</dt>\n"
        }
        out += "<dt>\(s.busyWorkers) requests currently being processed, \(s.gracefulWorkers) workers gracefully restarting, \(s.idleWorkers) idle workers</dt>\n"
        out += "</dl>"
        if isAsync { out += processTable() }
        out += "<pre>"
        for (written, c) in s.statusLine.enumerated() {
            out.unicodeScalars.append(Unicode.Scalar(c))
            if written % 64 == 63 { out += "\n" }
        }
        out += "</pre>\n" + Self.scoreboardKey
        if !extended {
            out += "PID Key: <br />\n<pre>\n"
            var k = 0
            for w in s.workers where w.status != .dead {
                out += "   \(s.processes[w.slot].pid) in state: \(w.status.character) "
                k += 1
                if k >= 3 { out += "\n"; k = 0 } else { out += "," }
            }
            out += "\n</pre>\n"
            out += "<hr />To obtain a full report with current status information you need to use the <code>ExtendedStatus On</code> directive.\n"
        } else {
            out += workerDetails(noTable: noTable)
        }
        if let signature { out += "<hr />\n" + signature }
        out += "</body></html>\n"
        return out
    }

    func processTable() -> String {
        let s = snapshot
        var out = "\n\n<table rules=\"all\" cellpadding=\"1%\">\n"
        out += "<tr><th rowspan=\"2\">Slot</th><th rowspan=\"2\">PID</th><th rowspan=\"2\">Stopping</th><th colspan=\"2\">Connections</th>\n"
        out += "<th colspan=\"3\">Threads</th><th colspan=\"5\">Async connections</th></tr>\n"
        out += "<tr><th>total</th><th>accepting</th><th>busy</th><th>graceful</th><th>idle</th><th>wait-io</th><th>writing</th><th>keep-alive</th>"
        out += "<th>closing</th><th>keep-alive shed</th></tr>\n"
        for p in s.processes where p.pid != 0 {
            let old = p.generation != mpmGeneration ? " (old gen)" : ""
            out += "<tr><td>\(p.slot)</td><td>\(p.pid)</td><td>\(p.quiescing ? "yes" : "no")\(old)</td>"
            out += "<td>\(p.connections)</td><td>\(p.notAccepting ? "no" : "yes")</td>"
            out += "<td>\(p.busyThreads)</td><td>\(p.gracefulThreads)</td><td>\(p.idleThreads)</td>"
            out += "<td>\(p.waitIO)</td><td>\(p.writeCompletion)</td><td>\(p.keepAlive)</td><td>\(p.lingering)</td><td>\(p.shed)</td></tr>\n"
        }
        out += "<tr><td>Sum</td><td>\(s.processCount)</td><td>\(s.stoppingCount)</td><td>\(s.connectionsTotal)</td><td>&nbsp;</td>"
        out += "<td>\(s.busyWorkers)</td><td>\(s.gracefulWorkers)</td><td>\(s.idleWorkers)</td>"
        out += "<td>\(s.connectionsWaitIO)</td><td>\(s.connectionsWriting)</td><td>\(s.connectionsKeepAlive)</td><td>\(s.connectionsClosing)</td><td>\(s.connectionsShed)</td></tr>\n</table>\n"
        return out
    }

    func workerDetails(noTable: Bool) -> String {
        let s = snapshot
        var out = noTable
            ? "<hr /><h2>Server Details</h2>\n\n"
            : "\n\n<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th><th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th><th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n"
        for w in s.workers {
            if w.accessCount == 0 && (w.status == .ready || w.status == .dead) { continue }
            let p = s.processes[w.slot]
            var requestMs = w.startMicroseconds == 0 ? 0 : (w.stopMicroseconds - w.startMicroseconds) / 1000
            if requestMs < 0 { requestMs = 0 }
            let pid = w.pid != 0 ? w.pid : p.pid
            let generation = w.pid != 0 ? w.generation : p.generation
            let since = (nowMicroseconds - w.lastUsedMicroseconds) / 1_000_000
            let slotMs = w.durationMicroseconds / 1000
            let times = p.pid != 0 && p.pid == pid ? p.cpuTimes : CPUTimes()
            let acc = "\(w.connCount)"
            if noTable {
                out += w.status == .dead
                    ? "<b>Server \(w.slot)-\(generation)</b> (-): \(acc)|\(w.myAccessCount)|\(w.accessCount) ["
                    : "<b>Server \(w.slot)-\(generation)</b> (\(pid)): \(acc)|\(w.myAccessCount)|\(w.accessCount) ["
                let busy = w.status != .ready && w.status != .starting && w.status != .dead && w.status != .graceful && w.status != .idleCleanup
                out += busy ? "<b>\(w.status.name)</b>" : w.status.name
                out += "] u\(seconds(times.user)) s\(seconds(times.system))"
                out += " cu\(seconds(times.childrenUser)) cs\(seconds(times.childrenSystem))"
                out += "\n \(since) \(requestMs) \(slotMs)("
                out += Self.bytes(w.connBytes) + "|" + Self.bytes(w.myBytesServed) + "|" + Self.bytes(w.bytesServed) + ")\n"
                out += " <i>\(Self.escape(w.client)) {\(Self.escape(Self.escapeLogItem(w.request)))}</i> <i>(\(Self.escape(w.protocolName)))</i> <b>[\(Self.escape(w.vhost))]</b><br />\n\n"
            } else {
                out += w.status == .dead
                    ? "<tr><td><b>\(w.slot)-\(generation)</b></td><td>-</td><td>\(acc)/\(w.myAccessCount)/\(w.accessCount)"
                    : "<tr><td><b>\(w.slot)-\(generation)</b></td><td>\(pid)</td><td>\(acc)/\(w.myAccessCount)/\(w.accessCount)"
                switch w.status {
                case .ready, .dead, .graceful, .idleCleanup: out += "</td><td>\(w.status.character)"
                default: out += "</td><td><b>\(w.status.character)</b>"
                }
                out += "\n</td><td>\(Self.fixed(Double(Float(times.total) / ticksPerSecond), 2))</td><td>\(since)</td><td>\(requestMs)</td><td>\(slotMs)"
                out += "</td><td>\(Self.fixed(Double(Float(w.connBytes) / 1024), 1))</td><td>\(Self.fixed(Double(Float(w.myBytesServed) / 1_048_576), 2))</td><td>\(Self.fixed(Double(Float(w.bytesServed) / 1_048_576), 2))\n"
                out += "</td><td>\(Self.escape(w.client))</td><td>\(Self.escape(w.protocolName))</td><td nowrap>\(Self.escape(w.vhost))</td>"
                out += "<td nowrap>\(Self.escape(Self.escapeLogItem(w.request)))</td></tr>\n\n"
            }
        }
        if !noTable { out += Self.workerKey }
        return out
    }

    static let scoreboardKey = """
        <p>Scoreboard Key:<br />
        "<b><code>_</code></b>" Waiting for Connection, \n\
        "<b><code>S</code></b>" Starting up, \n\
        "<b><code>R</code></b>" Reading Request,<br />
        "<b><code>W</code></b>" Sending Reply, \n\
        "<b><code>K</code></b>" Keepalive (read), \n\
        "<b><code>D</code></b>" DNS Lookup,<br />
        "<b><code>C</code></b>" Closing connection, \n\
        "<b><code>L</code></b>" Logging, \n\
        "<b><code>G</code></b>" Gracefully finishing,<br /> \n\
        "<b><code>I</code></b>" Idle cleanup of worker, \n\
        "<b><code>.</code></b>" Open slot with no current process<br />
        </p>

        """

    static let workerKey = """
        </table>
         <hr /> <table>
         <tr><th>Srv</th><td>Child Server number - generation</td></tr>
         <tr><th>PID</th><td>OS process ID</td></tr>
         <tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>
         <tr><th>M</th><td>Mode of operation</td></tr>
        <tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>
        <tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>
         <tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>
         <tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>
         <tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>
         <tr><th>Child</th><td>Megabytes transferred this child</td></tr>
         <tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>
         </table>

        """

    // MARK: Formatting, as Apache's

    /// mod_status's `show_time`: ` 1 day 2 hours 3 minutes 4 seconds`, zero parts left out.
    static func uptimeWords(_ seconds: UInt32) -> String {
        let secs = seconds % 60, mins = (seconds / 60) % 60, hours = (seconds / 3600) % 24, days = seconds / 86400
        var out = ""
        if days != 0 { out += " \(days) day\(days == 1 ? "" : "s")" }
        if hours != 0 { out += " \(hours) hour\(hours == 1 ? "" : "s")" }
        if mins != 0 { out += " \(mins) minute\(mins == 1 ? "" : "s")" }
        if secs != 0 { out += " \(secs) second\(secs == 1 ? "" : "s")" }
        return out
    }

    /// `ap_ht_time(..., "%A, %d-%b-%Y %H:%M:%S %Z", 0)`: local time, C locale names.
    static func time(_ microseconds: Int64) -> String {
        var seconds = time_t(microseconds / 1_000_000)  // trap-safe: time_t is Int64
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 128)
        let count = strftime(&buffer, buffer.count, "%A, %d-%b-%Y %H:%M:%S %Z", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// C's `%.Nf` (and `%-1.1f`, the same without padding).
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = withVaList([Int32(decimals), value]) { vsnprintf(&buffer, buffer.count, "%.*f", $0) }  // trap-safe: a small precision constant
        return String(decoding: buffer[..<min(Int(count), buffer.count - 1)].map { UInt8(bitPattern: $0) }, as: UTF8.self)  // trap-safe: vsnprintf's count, an Int32
    }

    /// APR's `%g` (`apr_gcvt`), which differs from C's: no zero before the point
    /// (`.25`), and no exponent until the number has more than four zeros past its
    /// significant digits (`1234570`, C's `1.23457e+06`); an exponent is written with as
    /// few digits as it needs (`1.5e-5`). Significant digits are rounded as C rounds them.
    static func g(_ value: Double, precision: Int = 6) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return "0" }
        let precision = max(precision, 1)
        var out = value < 0 ? "-" : ""
        // The significant digits and the exponent, correctly rounded, from C's %e.
        var buffer = [CChar](repeating: 0, count: 64)
        let count = withVaList([Int32(precision - 1), Swift.abs(value)]) { vsnprintf(&buffer, buffer.count, "%.*e", $0) }  // trap-safe: a small precision constant
        let text = Array(buffer[..<min(Int(count), buffer.count - 1)].map { UInt8(bitPattern: $0) })  // trap-safe: vsnprintf's count, an Int32
        guard let e = text.firstIndex(of: UInt8(ascii: "e")) else { return String(decoding: text, as: UTF8.self) }
        var digits = text[..<e].filter { $0 != UInt8(ascii: ".") }
        let exponent = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        var decimalPoint = exponent + 1
        while digits.count > 1 && digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let n = digits.count
        func append(_ byte: UInt8) { out.unicodeScalars.append(Unicode.Scalar(byte)) }
        if (decimalPoint >= 0 && decimalPoint - n > 4) || decimalPoint < -3 {
            decimalPoint -= 1
            append(digits[0])
            out += "."
            for d in digits.dropFirst() { append(d) }
            out += decimalPoint < 0 ? "e-" : "e+"
            let magnitude = Swift.abs(decimalPoint)
            if magnitude / 100 > 0 { out += String(magnitude / 100) }
            if magnitude / 10 > 0 { out += String((magnitude % 100) / 10) }
            out += String(magnitude % 10)
            return out
        }
        if decimalPoint <= 0 {
            out += "."
            out += String(repeating: "0", count: -decimalPoint)
        }
        for (i, d) in digits.enumerated() {
            append(d)
            if i + 1 == decimalPoint && i + 1 < n { out += "." }
        }
        if n < decimalPoint { out += String(repeating: "0", count: decimalPoint - n) }
        return out
    }

    /// mod_status's `format_byte_out`.
    static func bytes(_ bytes: Int) -> String {
        if bytes < 5 * 1024 { return "\(Int32(truncatingIfNeeded: bytes)) B" }
        if bytes < 1_048_576 / 2 { return fixed(Double(Float(bytes) / 1024), 1) + " kB" }
        if bytes < 1_073_741_824 / 2 { return fixed(Double(Float(bytes) / 1_048_576), 1) + " MB" }
        return fixed(Double(Float(bytes) / 1_073_741_824), 1) + " GB"
    }

    /// mod_status's `format_kbyte_out`.
    static func kilobytes(_ kb: Int) -> String {
        if kb < 1024 { return "\(Int32(truncatingIfNeeded: kb)) kB" }
        if kb < 1_048_576 { return fixed(Double(Float(kb) / 1024), 1) + " MB" }
        return fixed(Double(Float(kb) / 1_048_576), 1) + " GB"
    }

    static func escape(_ text: String) -> String { ErrorPages.escape(text) }

    /// `ap_escape_logitem`: control and non-ASCII bytes as `\xhh`, `"` and `\` escaped.
    static func escapeLogItem(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x08: out += "\\b"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x0B: out += "\\v"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789abcdef".utf8)
                out += "\\x"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))  // trap-safe: a nibble, 0...15
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))  // trap-safe: a nibble, 0...15
            }
        }
        return out
    }

    /// getloadavg(3).
    static func systemLoadAverage() -> (Double, Double, Double) {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return (0, 0, 0) }
        return (loads[0], loads[1], loads[2])
    }

    /// `Server Built`: Apache prints its compile time. Skep has no build step to stamp
    /// it, so it prints the executable's modification time (UTC, Debian's ISO shape).
    static let serverBuilt: String = {
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return "unknown" }
        var seconds = st.st_mtim.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
