import SkepSystem
import Synchronization

/// A view of one worker slot (Apache's `worker_score`): one thread of one child (or the
/// one process of a prefork child). A small value pointing into the shared mapping;
/// setters are `nonmutating`.
///
/// Single writer: a worker slot is written only by the thread that owns it (the master
/// writes it only while no child owns it: when it reserves or releases the process slot).
/// So updates are plain relaxed loads and stores of atomic words, no locked instruction
/// and no allocation: a request costs `beginRequest` (one clock read, three short
/// copies) and `endRequest` (a handful of stores). Readers in other processes may see a
/// request half-recorded (new request line, old counters); mod_status shows it as is, as
/// Apache's does.
///
/// The counters follow Apache's: `accessCount`/`bytesServed` for the slot's whole life
/// (they survive the child: "this slot"), `myAccessCount`/`myBytesServed` for the current
/// child, `connCount`/`connBytes` for the current connection.
public struct WorkerScore: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let global: UnsafeMutableRawPointer
    /// The process slot this worker belongs to.
    public let processSlot: Int
    /// The thread's index in its child (0 for prefork).
    public let thread: Int

    @inlinable init(base: UnsafeMutableRawPointer, global: UnsafeMutableRawPointer, processSlot: Int, thread: Int) {
        self.base = base
        self.global = global
        self.processSlot = processSlot
        self.thread = thread
    }

    // MARK: Fields

    public var status: WorkerStatus {
        get { WorkerStatus(stored: Layout.load(base, Layout.wStatus)) }
        nonmutating set { Layout.store(base, Layout.wStatus, Int(newValue.rawValue)) }
    }
    /// The owning process (set by the thread when it starts; a worker of an old
    /// generation keeps its own pid even if the process slot were reused).
    public var pid: Int32 {
        get { Int32(truncatingIfNeeded: Layout.load(base, Layout.wPid)) }
        nonmutating set { Layout.store(base, Layout.wPid, Int(newValue)) }
    }
    /// The kernel thread id (gettid).
    public var tid: Int32 {
        get { Int32(truncatingIfNeeded: Layout.load(base, Layout.wTid)) }
        nonmutating set { Layout.store(base, Layout.wTid, Int(newValue)) }
    }
    public var generation: Int {
        get { Layout.load(base, Layout.wGeneration) }
        nonmutating set { Layout.store(base, Layout.wGeneration, newValue) }
    }
    /// Requests served by this slot, over every child that held it.
    public var accessCount: Int { Layout.load(base, Layout.wAccessCount) }
    /// Bytes sent by this slot, over every child that held it.
    public var bytesServed: Int { Layout.load(base, Layout.wBytesServed) }
    /// Requests served by this slot for the current child.
    public var myAccessCount: Int { Layout.load(base, Layout.wMyAccessCount) }
    public var myBytesServed: Int { Layout.load(base, Layout.wMyBytesServed) }
    /// Requests served on the current connection.
    public var connCount: Int { Layout.load(base, Layout.wConnCount) }
    public var connBytes: Int { Layout.load(base, Layout.wConnBytes) }
    /// When the current (or last) request began, µs since the epoch; 0 before the first.
    public var startMicroseconds: Int64 { Int64(Layout.load(base, Layout.wStartTime)) }
    /// When the last request ended, µs since the epoch.
    public var stopMicroseconds: Int64 { Int64(Layout.load(base, Layout.wStopTime)) }
    /// The last time the slot changed hands or finished a request, µs since the epoch.
    public var lastUsedMicroseconds: Int64 { Int64(Layout.load(base, Layout.wLastUsed)) }
    /// The sum of the durations of every request of the slot, µs.
    public var durationMicroseconds: Int64 { Int64(Layout.load(base, Layout.wDuration)) }

    public var client: String { Layout.readText(base, Layout.wClient) }
    public var vhost: String { Layout.readText(base, Layout.wVhost) }
    public var protocolName: String { Layout.readText(base, Layout.wProtocol) }
    public var request: String { Layout.readText(base, Layout.wRequest) }

    // MARK: Updates (the owning thread)

    /// The thread takes the slot: pid, tid, generation, status `_`, and the per-child
    /// counters restart (Apache resets them when a slot comes back from dead).
    public func start(pid: Int32, tid: Int32, generation: Int, status: WorkerStatus = .ready) {
        self.pid = pid
        self.tid = tid
        self.generation = generation
        Layout.store(base, Layout.wMyAccessCount, 0)
        Layout.store(base, Layout.wMyBytesServed, 0)
        Layout.store(base, Layout.wConnCount, 0)
        Layout.store(base, Layout.wConnBytes, 0)
        Layout.store(base, Layout.wLastUsed, Int(SystemClock.now().microseconds))
        self.status = status
    }

    /// Changes the status character; one store.
    @inlinable public func setStatus(_ status: WorkerStatus) {
        Layout.store(base, Layout.wStatus, Int(status.rawValue))
    }

    /// A request head has been read: records who asked what of which host (truncated to
    /// Apache's 64/32/64-byte fields; the request line keeps its tail instead of its head
    /// under `SeeRequestTail On`), the start time, and status `W` as Apache sets it once
    /// the head is read. No allocation: the texts are the connection's own bytes.
    @inlinable
    public func beginRequest(client: UnsafeRawBufferPointer, vhost: UnsafeRawBufferPointer,
                             request: UnsafeRawBufferPointer,
                             startMicroseconds: Int64 = SystemClock.now().microseconds) {
        Layout.writeText(base, Layout.wClient, client)
        Layout.writeText(base, Layout.wVhost, vhost)
        Layout.writeText(base, Layout.wRequest, request, tail: Layout.load(global, Layout.gSeeRequestTail) != 0)
        Layout.store(base, Layout.wStartTime, Int(startMicroseconds))
        Layout.store(base, Layout.wLastUsed, Int(startMicroseconds))
        Layout.store(base, Layout.wStatus, Int(WorkerStatus.writing.rawValue))
    }

    /// `beginRequest` with the protocol too (`http/1.1`; Apache shows it lowercased).
    @inlinable
    public func beginRequest(client: UnsafeRawBufferPointer, vhost: UnsafeRawBufferPointer,
                             request: UnsafeRawBufferPointer, protocol protocolName: UnsafeRawBufferPointer,
                             startMicroseconds: Int64 = SystemClock.now().microseconds) {
        Layout.writeText(base, Layout.wProtocol, protocolName)
        beginRequest(client: client, vhost: vhost, request: request, startMicroseconds: startMicroseconds)
    }

    /// Convenience for callers holding `String`s (tests, non-hot paths).
    public func beginRequest(client: String, vhost: String, request: String, protocol protocolName: String = "http/1.1") {
        var (c, v, r, p) = (client, vhost, request, protocolName)
        c.withUTF8 { c in v.withUTF8 { v in r.withUTF8 { r in p.withUTF8 { p in
            beginRequest(client: UnsafeRawBufferPointer(c), vhost: UnsafeRawBufferPointer(v),
                         request: UnsafeRawBufferPointer(r), protocol: UnsafeRawBufferPointer(p))
        } } } }
    }

    /// The response is sent: counts the request and its bytes for the slot, the child
    /// and the connection, and adds its duration (Apache's `ap_increment_counts` and
    /// `ap_time_process_request`). The status is left for the caller to move on (`K`,
    /// `L`, `_`).
    @inlinable
    public func endRequest(bytes: Int, durationMicroseconds: Int64) {
        Layout.bump(base, Layout.wAccessCount, by: 1)
        Layout.bump(base, Layout.wMyAccessCount, by: 1)
        Layout.bump(base, Layout.wConnCount, by: 1)
        Layout.bump(base, Layout.wBytesServed, by: bytes)
        Layout.bump(base, Layout.wMyBytesServed, by: bytes)
        Layout.bump(base, Layout.wConnBytes, by: bytes)
        Layout.bump(base, Layout.wDuration, by: Int(durationMicroseconds))
        let stop = Layout.load(base, Layout.wStartTime) &+ Int(durationMicroseconds)
        Layout.store(base, Layout.wStopTime, stop)
        Layout.store(base, Layout.wLastUsed, stop)
    }

    /// The connection is over: its counters restart and the slot is `_` again.
    @inlinable
    public func resetConnection() {
        Layout.store(base, Layout.wConnCount, 0)
        Layout.store(base, Layout.wConnBytes, 0)
        Layout.store(base, Layout.wStatus, Int(WorkerStatus.ready.rawValue))
    }

    /// The thread exits (or the master found its child gone): status `.`; the slot's
    /// lifetime counters and last request stay for mod_status, as Apache's do.
    public func stop() {
        Layout.store(base, Layout.wMyAccessCount, 0)
        Layout.store(base, Layout.wMyBytesServed, 0)
        Layout.store(base, Layout.wConnCount, 0)
        Layout.store(base, Layout.wConnBytes, 0)
        Layout.store(base, Layout.wStatus, Int(WorkerStatus.dead.rawValue))
    }
}
