import Glibc

/// CPU time in clock ticks (`sysconf(_SC_CLK_TCK)` per second), as times(2) reports it:
/// what mod_status's `CPUUser`, `CPUSystem`, `CPUChildrenUser`, `CPUChildrenSystem` sum.
public struct CPUTimes: Sendable, Hashable {
    public var user: Int
    public var system: Int
    /// Of the reaped children (for the master: every child it has waited for).
    public var childrenUser: Int
    public var childrenSystem: Int

    public init(user: Int = 0, system: Int = 0, childrenUser: Int = 0, childrenSystem: Int = 0) {
        self.user = user
        self.system = system
        self.childrenUser = childrenUser
        self.childrenSystem = childrenSystem
    }

    /// times(2) for the calling process.
    public static func current() -> CPUTimes {
        var t = tms()
        _ = times(&t)
        return CPUTimes(user: Int(t.tms_utime), system: Int(t.tms_stime),
                        childrenUser: Int(t.tms_cutime), childrenSystem: Int(t.tms_cstime))
    }

    /// Clock ticks per second.
    public static var ticksPerSecond: Int { Int(sysconf(Int32(_SC_CLK_TCK))) }

    public var total: Int { user + system + childrenUser + childrenSystem }

    public static func + (a: CPUTimes, b: CPUTimes) -> CPUTimes {
        CPUTimes(user: a.user + b.user, system: a.system + b.system,
                 childrenUser: a.childrenUser + b.childrenUser, childrenSystem: a.childrenSystem + b.childrenSystem)
    }

    @usableFromInline func store(_ base: UnsafeMutableRawPointer, at index: Int) {
        Layout.store(base, index, user)
        Layout.store(base, index + 1, system)
        Layout.store(base, index + 2, childrenUser)
        Layout.store(base, index + 3, childrenSystem)
    }

    @usableFromInline static func load(_ base: UnsafeMutableRawPointer, at index: Int) -> CPUTimes {
        CPUTimes(user: Layout.load(base, index), system: Layout.load(base, index + 1),
                 childrenUser: Layout.load(base, index + 2), childrenSystem: Layout.load(base, index + 3))
    }
}
