/// Apache 2.4's log levels, most severe first, with `trace1`...`trace8` below `debug`.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case emerg, alert, crit, error, warn, notice, info, debug
    case trace1, trace2, trace3, trace4, trace5, trace6, trace7, trace8

    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = level
    }

    public var name: String {
        switch self {
        case .emerg: "emerg"
        case .alert: "alert"
        case .crit: "crit"
        case .error: "error"
        case .warn: "warn"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        default: "trace\(rawValue - LogLevel.debug.rawValue)"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// `LogLevel warn` or `LogLevel info ssl:warn core:debug`: a level for the server and
/// optional levels per module (named without `_module`, as Apache writes them).
public struct LogLevelSetting: Sendable, Hashable {
    public var base: LogLevel
    public var perModule: [String: LogLevel]

    public init(base: LogLevel = .warn, perModule: [String: LogLevel] = [:]) {
        self.base = base
        self.perModule = perModule
    }

    /// True when a message of `level` from `module` is to be written.
    public func allows(_ level: LogLevel, module: String) -> Bool {
        level <= (perModule[module] ?? base)
    }
}
