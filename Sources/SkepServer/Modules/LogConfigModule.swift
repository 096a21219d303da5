import SkepConfig
import SkepHTTP
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// Apache's mod_log_config (compiled into Debian's Apache, so always active): the
/// access logs. Formats are compiled once per generation; each request's line is
/// rendered into stack memory and written with one write(2) on an `O_APPEND`
/// descriptor, so lines from every child and thread stay whole.
///
/// As Apache: a `<VirtualHost>` with no `CustomLog`/`TransferLog` of its own writes to
/// the main server's logs; `GlobalLog` logs are written for every server; a format
/// argument that is not a nickname defined by `LogFormat` (in the server or the main
/// server, before or after the `CustomLog`) is itself the format — so an undefined
/// `combined` logs the word "combined", as Apache does (no nickname is predefined).
public struct LogConfigModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "log_config_module", sourceName: "mod_log_config.c", isStatic: true, directives: [
        DirectiveSpec("LogFormat", .take12, .server, help: "a log format string and an optional nickname") { d, scope throws(ConfigError) in
            do throws(LogFormatError) { _ = try LogFormat(d.arguments[0]) } catch { throw d.error(error.message) }
            if d.arguments.count == 2 {
                scope.server[LogConfigServerConfig.self].formats[d.arguments[1]] = d.arguments[0]
            } else {
                scope.server[LogConfigServerConfig.self].defaultFormat = d.arguments[0]
            }
        },
        DirectiveSpec("CustomLog", .take23, .server, help: "a file or |pipe, a format or nickname, and an optional env=[!]variable") { d, scope throws(ConfigError) in
            let spec = try Self.logSpec(d, format: d.arguments[1], condition: d.arguments.count > 2 ? d.arguments[2] : nil, scope: scope)
            scope.server[LogConfigServerConfig.self].logs.append(spec)
        },
        DirectiveSpec("TransferLog", .take1, .server, help: "a file or |pipe, logged in the default format") { d, scope throws(ConfigError) in
            let spec = try Self.logSpec(d, format: nil, condition: nil, scope: scope)
            scope.server[LogConfigServerConfig.self].logs.append(spec)
        },
        DirectiveSpec("GlobalLog", .take23, .serverConfig, help: "a file or |pipe, a format or nickname, and an optional env=[!]variable") { d, scope throws(ConfigError) in
            let spec = try Self.logSpec(d, format: d.arguments[1], condition: d.arguments.count > 2 ? d.arguments[2] : nil, scope: scope)
            scope.server[LogConfigServerConfig.self].globalLogs.append(spec)
        },
        .accepted("BufferedLogs", .flag, .serverConfig, help: "On to buffer log lines in memory",
                  note: "accepted with no effect: Skep writes each line at once, in one write(2)"),
    ])

    /// Builds a log's description, checking what can be checked at `-t`: the format
    /// (when not a nickname) and the condition.
    static func logSpec(_ d: Directive, format: String?, condition: String?, scope: DirectiveScope) throws(ConfigError) -> LogSpec {
        var spec = LogSpec(target: d.arguments[0], format: format, location: d.location)
        if let format {
            // Apache parses the argument as a format at once; a nickname is looked up
            // when the logs are opened. A nickname is any word without `%`.
            if format.contains("%") {
                do throws(LogFormatError) { _ = try LogFormat(format) } catch { throw d.error(error.message) }
            }
        }
        if let condition {
            if condition.hasPrefix("env=") {
                var name = Substring(condition.dropFirst(4))
                if name.hasPrefix("!") { spec.conditionNegated = true; name = name.dropFirst() }
                spec.conditionVariable = String(name)
            } else if condition.hasPrefix("expr=") {
                throw d.error("\(d.name): expr= conditions are not supported by Skep; use env=[!]variable")
            } else {
                throw d.error("error in condition clause")
            }
        }
        if spec.target.hasPrefix("|") {
            let command = Self.pipeCommand(spec.target)
            guard let program = command.arguments.first, program.hasPrefix("/") || command.shell else {
                throw d.error("\(d.name): a piped log needs the program's absolute path (or |$ to run it through /bin/sh)")
            }
            _ = program
        } else if spec.target.lowercased().hasPrefix("syslog") {
            throw d.error("\(d.name): logging to syslog is not supported by Skep")
        } else {
            spec.target = scope.serverRootRelative(spec.target)
        }
        return spec
    }

    /// `|program args`, `||program args` (no shell) and `|$command` (through `/bin/sh -c`),
    /// as Apache 2.4 reads a piped log: without a shell unless `$` says so.
    static func pipeCommand(_ target: String) -> (arguments: [String], shell: Bool) {
        var text = Substring(target.dropFirst())
        if text.hasPrefix("|") { text = text.dropFirst() }
        if text.hasPrefix("$") {
            return (["/bin/sh", "-c", String(text.dropFirst()).trimmingLeadingSpaces()], true)
        }
        return (text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init), false)
    }

    /// One open log of a server.
    struct Log: Sendable {
        var sink: LogSink
        var format: LogFormat
        var conditionVariable: String?
        var conditionNegated: Bool
    }

    /// What a server (the main server, or a virtual host by its `<VirtualHost>` line) logs to.
    struct ServerLogs: Sendable {
        var identity: LogFormat.ServerIdentity
        var logs: [Log]
    }

    let main: ServerLogs
    /// Virtual hosts by the location of their `<VirtualHost>` line.
    let virtualHosts: [SourceLocation: ServerLogs]
    let clock: LogClock

    /// Opens every log of the main server and of each virtual host (relative paths
    /// under ServerRoot), once, as Apache's `open_multi_logs` does in the master
    /// before it forks; a path named twice shares one descriptor, and piped loggers are
    /// started here (see `LogSink`).
    public init(config: ServerConfig) throws {
        var sinks: [String: LogSink] = [:]
        func sink(_ target: String) throws -> LogSink {
            if let existing = sinks[target] { return existing }
            let made: LogSink
            if target.hasPrefix("|") {
                made = try LogSink(command: Self.pipeCommand(target).arguments)
            } else {
                made = LogSink(file: try LogFile(path: target))
            }
            sinks[target] = made
            return made
        }
        func open(_ specs: [LogSpec], _ record: LogConfigServerConfig) throws -> [Log] {
            var logs: [Log] = []
            for spec in specs {
                let source = record.resolve(spec.format)
                let format: LogFormat
                do throws(LogFormatError) { format = try LogFormat(source) } catch {
                    throw ConfigError(spec.location, error.message)
                }
                logs.append(Log(sink: try sink(spec.target), format: format,
                                conditionVariable: spec.conditionVariable, conditionNegated: spec.conditionNegated))
            }
            return logs
        }
        let mainRecord = config.main.server[LogConfigServerConfig.self]
        let globals = try open(mainRecord.globalLogs, mainRecord)
        let mainLogs = try open(mainRecord.logs, mainRecord)
        let mainIdentity = Self.identity(config.main.server[CoreServerConfig.self])
        main = ServerLogs(identity: mainIdentity, logs: mainLogs + globals)
        var hosts: [SourceLocation: ServerLogs] = [:]
        for vhost in config.virtualHosts {
            guard let location = vhost.location else { continue }
            let record = vhost.server[LogConfigServerConfig.self]
            let own = try open(record.logs, record)
            hosts[location] = ServerLogs(identity: Self.identity(vhost.server[CoreServerConfig.self]),
                                         logs: (own.isEmpty ? mainLogs : own) + globals)
        }
        virtualHosts = hosts
        clock = LogClock()
    }

    /// `%v` and `%p`: ServerName's host and port, else the machine's name (Apache's
    /// `ap_get_local_host`, simplified: the host name when it is fully qualified, else
    /// 127.0.0.1) and port 80.
    static func identity(_ core: CoreServerConfig) -> LogFormat.ServerIdentity {
        guard let name = core.serverName else {
            return LogFormat.ServerIdentity(hostname: localHostName(), port: 80)
        }
        var text = Substring(name)
        for scheme in ["http://", "https://"] where text.lowercased().hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        var port = name.lowercased().hasPrefix("https://") ? 443 : 80
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]"), let p = Int(text[text.index(after: colon)...]) {
            port = p
            text = text[..<colon]
        }
        return LogFormat.ServerIdentity(hostname: String(text), port: port)
    }

    static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "127.0.0.1" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.contains(".") ? name : "127.0.0.1"
    }

    /// Apache's `log_transaction`: a line in each log of the request's server whose
    /// `env=` condition holds.
    public func log(_ transaction: Transaction) {
        let request = transaction.request
        let server: ServerLogs
        if let location = request.server.location, let vhost = virtualHosts[location] {
            server = vhost
        } else {
            server = main
        }
        guard !server.logs.isEmpty else { return }
        LogLineBuffer.withTemporary { line in
            for log in server.logs {
                if let name = log.conditionVariable, (request.environment[name] != nil) == log.conditionNegated { continue }
                line.removeAll()
                log.format.render(transaction, server: server.identity, clock: clock, into: &line)
                line.append(UInt8(0x0A))
                line.withBytes { log.sink.write($0) }
            }
        }
    }

    /// The line `format` renders for `transaction`, without its newline (for tests and tools).
    public func line(_ format: LogFormat, for transaction: Transaction) -> [UInt8] {
        let request = transaction.request
        let identity = request.server.location.flatMap { virtualHosts[$0]?.identity } ?? main.identity
        return LogLineBuffer.withTemporary { line in
            format.render(transaction, server: identity, clock: clock, into: &line)
            return line.bytes
        }
    }
}

/// One `CustomLog`/`TransferLog`/`GlobalLog` as written: the target (absolute path or
/// `|command`), the format or nickname (nil: the server's default), the condition.
public struct LogSpec: Sendable, Hashable {
    public var target: String
    public var format: String?
    public var conditionVariable: String?
    public var conditionNegated = false
    public var location: SourceLocation
}

/// mod_log_config's per-server record (Apache's `multi_log_state`).
public struct LogConfigServerConfig: ModuleConfig {
    /// Nickname to format string (`LogFormat fmt nickname`).
    public var formats: [String: String] = [:]
    /// A one-argument `LogFormat`: the format (or nickname) TransferLog uses.
    public var defaultFormat: String?
    /// This server's own logs.
    public var logs: [LogSpec] = []
    /// `GlobalLog`s (main server only).
    public var globalLogs: [LogSpec] = []

    public init() {}

    /// Apache's `merge_config_log_state`: nicknames overlay the main server's, the
    /// default format is inherited, the logs are the virtual host's own (the module
    /// falls back to the main server's when there are none).
    public func merged(with child: LogConfigServerConfig) -> LogConfigServerConfig {
        var out = child
        out.formats = formats.merging(child.formats) { _, new in new }
        out.defaultFormat = child.defaultFormat ?? defaultFormat
        out.globalLogs = globalLogs
        return out
    }

    /// The format string a log uses: a nickname's format, else the argument itself; for
    /// no argument the default format (itself possibly a nickname), else Apache's CLF.
    public func resolve(_ format: String?) -> String {
        if let format { return formats[format] ?? format }
        if let fallback = defaultFormat { return formats[fallback] ?? fallback }
        return LogFormat.commonLogFormat
    }
}

/// Where a log's lines go: an `O_APPEND` file, or the pipe to a piped logger.
///
/// Piped logs: Skep starts the program with posix_spawn when the module is built (in
/// the master, before the children are forked, so every child inherits the pipe's
/// write end, as Apache's piped logs work), with the pipe's read end as its stdin.
/// Unlike Apache's "reliable piped logs", a logger that exits is not restarted; lines
/// up to PIPE_BUF (4096 bytes) stay whole, as in Apache.
final class LogSink: @unchecked Sendable {
    enum Target {
        case file(LogFile)
        case pipe(Descriptor, ProcessID)
    }

    let target: Target

    init(file: LogFile) { target = .file(file) }

    init(command: [String]) throws {
        let (read, write) = try Descriptor.pipe()
        defer { read.close() }
        let pid = try SkepSystem.Process.spawn(path: command[0], arguments: command, standardInput: read)
        target = .pipe(write, pid)
    }

    deinit {
        if case .pipe(let fd, _) = target { fd.close() }
    }

    func write(_ line: UnsafeRawBufferPointer) {
        switch target {
        case .file(let file): file.write(line)
        case .pipe(let fd, _):
            var offset = 0
            while offset < line.count {
                let n = Glibc.write(fd.rawValue, line.baseAddress! + offset, line.count - offset)  // trap-safe: offset < line.count, so the line is not empty
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}

extension String {
    fileprivate func trimmingLeadingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" })
    }
}
