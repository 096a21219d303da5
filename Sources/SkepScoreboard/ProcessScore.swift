import SkepSystem
import Synchronization

/// A view of one process slot (Apache's `process_score`). A small value that points into
/// the shared mapping: copying it copies the pointer, and the setters are
/// `nonmutating`, so `scoreboard.process(3).quiescing = true` writes shared memory.
///
/// Writers, by field:
/// - `pid`, `generation`, `quiescing` (on graceful restart or retirement): the master
///   (the child may store its own pid and generation too, the same values).
/// - `notAccepting`, the connection counters and `cpuTimes`: the child. The counters may
///   be changed by several threads of the child, so they change through `add(_:_:)`,
///   an atomic add; the plain setters are for a single writer (the event MPM's listener).
/// Readers (the master's maintenance, mod_status in any child) tolerate a slot changing
/// under them: every field is one atomic word.
public struct ProcessScore: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer
    /// The slot's index (Apache's child number, `%{child}`).
    public let slot: Int

    @inlinable init(base: UnsafeMutableRawPointer, slot: Int) {
        self.base = base
        self.slot = slot
    }

    /// The event MPM's per-child connection counters (Apache's `connections`,
    /// `keep_alive`, `lingering_close`, `write_completion`, `wait_io`, `suspended`).
    public enum Counter: Sendable {
        case connections, keepAlive, lingering, writeCompletion, waitIO, suspended
        /// Skep's own: idle keep-alive connections closed at `IdleConnectionsPerChild`.
        case shed

        @usableFromInline var index: Int {
            switch self {
            case .connections: return Layout.pConnections
            case .keepAlive: return Layout.pKeepAlive
            case .lingering: return Layout.pLingering
            case .writeCompletion: return Layout.pWriteCompletion
            case .waitIO: return Layout.pWaitIO
            case .suspended: return Layout.pSuspended
            case .shed: return Layout.pShed
            }
        }
    }

    /// Reserved by the master (`Scoreboard.reserveProcessSlot`) and not yet released.
    /// A slot in use is never handed out again, whatever generation its child is.
    public var isInUse: Bool { Layout.load(base, Layout.pInUse) != 0 }

    /// The child's pid; nil before the fork and after the master reaped it.
    public var pid: ProcessID? {
        get { let p = Layout.load(base, Layout.pPid); return p == 0 ? nil : ProcessID(Int32(truncatingIfNeeded: p)) }
        nonmutating set { Layout.store(base, Layout.pPid, Int(newValue?.rawValue ?? 0)) }
    }

    /// The generation the child was started for (Apache's MPM generation).
    public var generation: Int {
        get { Layout.load(base, Layout.pGeneration) }
        nonmutating set { Layout.store(base, Layout.pGeneration, newValue) }
    }

    /// Going away: an old generation after a graceful restart, or a child the master
    /// retires. A quiescing child's workers count neither as idle nor busy (mod_status).
    public var quiescing: Bool {
        get { Layout.load(base, Layout.pQuiescing) != 0 }
        nonmutating set { Layout.store(base, Layout.pQuiescing, newValue ? 1 : 0) }
    }

    /// The child has stopped accepting new connections (event MPM throttle).
    public var notAccepting: Bool {
        get { Layout.load(base, Layout.pNotAccepting) != 0 }
        nonmutating set { Layout.store(base, Layout.pNotAccepting, newValue ? 1 : 0) }
    }

    public var connections: Int {
        get { self[.connections] }
        nonmutating set { self[.connections] = newValue }
    }
    public var keepAlive: Int {
        get { self[.keepAlive] }
        nonmutating set { self[.keepAlive] = newValue }
    }
    /// Connections in lingering close (`ConnsAsyncClosing`).
    public var lingering: Int {
        get { self[.lingering] }
        nonmutating set { self[.lingering] = newValue }
    }
    public var writeCompletion: Int {
        get { self[.writeCompletion] }
        nonmutating set { self[.writeCompletion] = newValue }
    }
    public var waitIO: Int {
        get { self[.waitIO] }
        nonmutating set { self[.waitIO] = newValue }
    }
    /// Idle keep-alive connections the event MPM closed, oldest first, at its per-child cap.
    public var shed: Int {
        get { self[.shed] }
        nonmutating set { self[.shed] = newValue }
    }

    /// The share of the last second the event listener spent working, in thousandths:
    /// a child whose listener is the bottleneck has less room than its idle workers say.
    public var listenerBusyPermille: Int {
        get { Layout.load(base, Layout.pListenerBusy) }
        nonmutating set { Layout.store(base, Layout.pListenerBusy, newValue) }
    }

    public var suspended: Int {
        get { self[.suspended] }
        nonmutating set { self[.suspended] = newValue }
    }

    @inlinable public subscript(counter: Counter) -> Int {
        get { Layout.load(base, counter.index) }
        nonmutating set { Layout.store(base, counter.index, newValue) }
    }

    /// Atomically adds `delta` (may be negative) to a counter: for counters that
    /// several threads of the child change.
    @inlinable public func add(_ counter: Counter, _ delta: Int) {
        Layout.word(base, counter.index).pointee.wrappingAdd(delta, ordering: .relaxed)
    }

    /// The child's CPU times as last recorded by `recordTimes()`.
    public var cpuTimes: CPUTimes { CPUTimes.load(base, at: Layout.pTimes) }

    /// Stores times(2) of the calling process: the child calls it from a periodic tick
    /// (and mod_status calls it for its own child before reading), not per request.
    public func recordTimes() { CPUTimes.current().store(base, at: Layout.pTimes) }

    /// When the master reserved the slot (µs since the epoch).
    public var startedMicroseconds: Int64 { Int64(Layout.load(base, Layout.pStarted)) }
}
