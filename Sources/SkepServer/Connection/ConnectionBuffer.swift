/// The bytes of one connection: received but not yet consumed, in one growable block
/// that is reused across the connection's keep-alive requests. The parser's ranges are
/// offsets from `start`, so the head is never copied (DESIGN.md section 4). It starts at
/// 2 KiB, which holds most heads, and doubles when a longer one comes: with 10,000 idle
/// keep-alive connections held by the event MPM, 8 KiB each cost 20 MiB more PSS.
public struct ConnectionBuffer {
    public private(set) var storage: UnsafeMutableRawBufferPointer
    /// First byte not yet consumed.
    public private(set) var start = 0
    /// One past the last byte received.
    public private(set) var end = 0
    let maximum: Int
    let initialCapacity: Int

    /// The block is allocated at the first read (or given by `adopt`), not before.
    public init(capacity: Int = 2048, maximum: Int = 1 << 20) {
        storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        initialCapacity = capacity
        self.maximum = maximum
    }

    /// Whether the connection holds no block (it waits with nothing buffered).
    public var isDetached: Bool { storage.count == 0 }

    /// Takes the block away while nothing is buffered, leaving none: an idle keep-alive
    /// connection need not hold one. Nil when bytes are buffered, or the block grew past
    /// its initial size (it is freed then rather than pooled).
    public mutating func detach() -> UnsafeMutableRawBufferPointer? {
        guard start == end, storage.count > 0 else { return nil }
        let block = storage
        storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        start = 0
        end = 0
        guard block.count == initialCapacity else {
            block.deallocate()
            return nil
        }
        return block
    }

    /// Gives a detached buffer a block of the initial size (from a pool).
    public mutating func adopt(_ block: UnsafeMutableRawBufferPointer) {
        precondition(isDetached && block.count == initialCapacity)  // trap-safe: only the event listener's pool adopts, with its own detached blocks of this size
        storage = block
    }

    public func deallocate() { storage.deallocate() }

    public var isEmpty: Bool { start == end }
    public var count: Int { end - start }

    /// The received, unconsumed bytes.
    public var unconsumed: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[start..<end]) }

    /// Space to read into, making room first: consumed bytes are dropped and the block
    /// grows (doubling, up to `maximum`) when it is full. Empty when it cannot grow.
    public mutating func readSpace() -> UnsafeMutableRawBufferPointer {
        if start == end {
            start = 0
            end = 0
        }
        if storage.count == 0 {
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: initialCapacity, alignment: 8)
        } else if end == storage.count {
            if start > 0 {
                let n = end - start
                storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: n)  // trap-safe: storage is allocated (count > 0 checked above)
                start = 0
                end = n
            } else if storage.count < maximum {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(storage.count * 2, maximum), alignment: 8)
                bigger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: end)  // trap-safe: both are allocated, non-empty blocks
                storage.deallocate()
                storage = bigger
            }
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[end...])
    }

    public mutating func didRead(_ n: Int) { end += n }

    /// Puts bytes read past the end of a request body back, for the next request.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        var remaining = bytes
        while !remaining.isEmpty {
            let space = readSpace()
            let n = min(space.count, remaining.count)
            guard n > 0 else { return }
            space.baseAddress!.copyMemory(from: remaining.baseAddress!, byteCount: n)  // trap-safe: n > 0 bytes of each, checked above
            didRead(n)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[n...])
        }
    }

    public mutating func consume(_ n: Int) {
        start += n
        if start == end {
            start = 0
            end = 0
        }
    }
}
