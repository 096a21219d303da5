import SkepConfig
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// The error log in Apache 2.4's line format:
/// `[Sun Nov 22 23:18:07.123456 2026] [core:error] [pid 12:tid 34] [client 127.0.0.1:5555] message`.
public final class ErrorLog: @unchecked Sendable {
    public let file: LogFile
    public let levels: LogLevelSetting

    public init(file: LogFile, levels: LogLevelSetting) {
        self.file = file
        self.levels = levels
    }

    /// True when a message of `level` from `module` (`core`, `mpm_event`...) is written;
    /// check before building an expensive message.
    public func allows(_ level: LogLevel, module: String) -> Bool { levels.allows(level, module: module) }

    /// Writes `message` when `level` is allowed for `module`; `always` writes it whatever
    /// the LogLevel, as Apache does for its start and stop notices. Control bytes, bytes
    /// above 0x7E and `\` in the message are escaped (`\n`, `\x1b`, `\\`), as Apache does.
    public func log(_ level: LogLevel, module: String, client: SocketAddress? = nil, always: Bool = false, _ message: String) {
        guard always || levels.allows(level, module: module) else { return }
        var prefix = "[\(Self.timestamp())] [\(module):\(level.name)] [pid \(getpid()):tid \(Self.threadID())] "
        if let client { prefix += "[client \(client.host):\(client.port)] " }
        var line = Array(prefix.utf8)
        line.reserveCapacity(line.count + message.utf8.count + 1)
        // The message may carry what a client sent (a path), a back end's stderr or a
        // handler's text: escaped as Apache's `ap_escape_errorlog_item`, so it is one line.
        LogEscaping.appendErrorLogItem(message.utf8, to: &line)
        line.append(0x0A)
        file.write(line)
    }

    static func threadID() -> Int { Int(SkepSystem.Process.threadID) }  // trap-safe: pid_t (Int32) widens

    /// Apache's `%{cu}t`-style error-log time: local time with microseconds.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%a %b %d %H:%M:%S", &parts)
        let head = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var micro = String(ts.tv_nsec / 1000)
        while micro.count < 6 { micro = "0" + micro }
        return "\(head).\(micro) \(parts.tm_year + 1900)"
    }
}
