/// The request targets whose handler the event listener found blocking (PHP through
/// FastCGI, CGI, a Swift handler not declared non-blocking), remembered for a short
/// while so that the listener hands the next request for them to a worker at once instead
/// of running its phases twice, once to find out and once on the worker.
///
/// Only a guess: a target remembered wrongly is served by a worker, which can serve
/// anything, so this never changes an answer. Only handler blocks are remembered, never
/// a file lookup the cache did not know yet (the next request may find it cached). One
/// per listener thread; no lock.
final class WorkerTargets {
    /// How long a target stays remembered.
    static let lifetimeNanoseconds: UInt64 = 1_000_000_000
    /// Targets kept before the table starts afresh.
    static let limit = 1024

    private var until: [Int: UInt64] = [:]

    /// Whether `target` (the request line's target bytes, with the `Host` bytes) went to a worker
    /// for its handler less than `lifetimeNanoseconds` before `now`.
    func contains(_ target: UnsafeRawBufferPointer, host: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        guard !until.isEmpty else { return false }
        let key = Self.key(target, host)
        guard let deadline = until[key] else { return false }
        if now < deadline { return true }
        until[key] = nil
        return false
    }

    func insert(_ target: UnsafeRawBufferPointer, host: UnsafeRawBufferPointer, now: UInt64) {
        if until.count >= Self.limit { until.removeAll(keepingCapacity: true) }
        until[Self.key(target, host)] = now &+ Self.lifetimeNanoseconds
    }

    private static func key(_ target: UnsafeRawBufferPointer, _ host: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: host)
        hasher.combine(bytes: target)
        return hasher.finalize()
    }
}
