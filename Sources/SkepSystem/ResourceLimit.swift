import Glibc

/// A soft/hard resource limit pair (getrlimit/setrlimit).
///
/// The master raises RLIMIT_NOFILE so the event MPM can hold many connections per child,
/// and sets RLIMIT_CORE for `CoreDumpDirectory`.
public struct ResourceLimit: Sendable, Hashable {
    /// The value meaning "no limit" (RLIM_INFINITY).
    public static let unlimited: UInt64 = .max

    public var soft: UInt64
    public var hard: UInt64

    public init(soft: UInt64, hard: UInt64) {
        self.soft = soft
        self.hard = hard
    }

    /// The limits Skep uses.
    public enum Resource: Sendable, Hashable {
        /// RLIMIT_NOFILE: open descriptors.
        case openFiles
        /// RLIMIT_CORE: core file size in bytes.
        case coreFileSize
        /// RLIMIT_NPROC: processes (threads count) for the real uid.
        case processes
        /// RLIMIT_AS: address space bytes (`RLimitMEM`).
        case addressSpace
        /// RLIMIT_CPU: CPU seconds (`RLimitCPU`).
        case cpuTime

        var raw: Int32 {
            switch self {
            case .openFiles: return Int32(RLIMIT_NOFILE.rawValue)
            case .coreFileSize: return Int32(RLIMIT_CORE.rawValue)
            case .processes: return Int32(__RLIMIT_NPROC.rawValue)
            case .addressSpace: return Int32(RLIMIT_AS.rawValue)
            case .cpuTime: return Int32(RLIMIT_CPU.rawValue)
            }
        }
    }

    /// getrlimit(2).
    public static func get(_ resource: Resource) throws -> ResourceLimit {
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(resource.raw), &limit) == -1 { throw SystemError("getrlimit") }
        return ResourceLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    /// setrlimit(2). Raising `hard` needs root; `soft` may go up to `hard`.
    public static func set(_ resource: Resource, _ limit: ResourceLimit) throws {
        var value = rlimit(rlim_cur: rlim_t(limit.soft), rlim_max: rlim_t(limit.hard))
        if setrlimit(__rlimit_resource_t(resource.raw), &value) == -1 { throw SystemError("setrlimit") }
    }

    /// Raises the soft limit to the hard limit (what a server does at start for
    /// RLIMIT_NOFILE). Returns the new limit.
    @discardableResult
    public static func raiseSoftToHard(_ resource: Resource) throws -> ResourceLimit {
        var limit = try get(resource)
        if limit.soft != limit.hard {
            limit.soft = limit.hard
            try set(resource, limit)
        }
        return limit
    }
}
