import Synchronization

/// Where everything lives in the mapping. All numbers are 8-byte words accessed as
/// `Atomic<Int>` bound in place (DESIGN.md section 5: atomics in a `MAP_SHARED` mapping
/// work across processes); text fields are fixed-size NUL-terminated byte arrays written
/// by one thread and read racily (readers tolerate a torn string, as Apache's do).
///
///     [ global header: 256 bytes ]
///     [ process slot 0 ] ... [ process slot serverLimit-1 ]            128 bytes each
///     [ worker 0,0 ] ... [ worker 0,threadLimit-1 ] [ worker 1,0 ] ... 320 bytes each
///
/// Slot sizes are multiples of the 64-byte cache line so that two threads' worker slots
/// never share a line (a worker writes its own slot on every request).
@usableFromInline
enum Layout {
    static let magic = 0x534B_4550_5342_0002 // "SKEPSB", layout 2
    @usableFromInline static let globalSize = 256
    @usableFromInline static let processSize = 192
    @usableFromInline static let workerSize = 320

    // Global header words.
    @usableFromInline static let gMagic = 0
    @usableFromInline static let gServerLimit = 1
    @usableFromInline static let gThreadLimit = 2
    @usableFromInline static let gRunningGeneration = 3
    @usableFromInline static let gConfigGeneration = 4
    @usableFromInline static let gStartTime = 5
    @usableFromInline static let gRestartTime = 6
    @usableFromInline static let gActiveServerLimit = 7
    @usableFromInline static let gThreadsPerChild = 8
    @usableFromInline static let gAsync = 9
    @usableFromInline static let gSeeRequestTail = 10
    @usableFromInline static let gTimes = 11 // 4 words: user, system, children user, children system
    /// Requests answered outside any worker slot (the event listener's own), their bytes
    /// and durations: added to mod_status's totals, so the slots keep Apache's shape.
    @usableFromInline static let gUnslottedAccesses = 15
    @usableFromInline static let gUnslottedBytes = 16
    @usableFromInline static let gUnslottedDuration = 17
    static let globalWords = 18
    /// The MPM's name, NUL-terminated, at this byte offset of the header.
    @usableFromInline static let gMPMNameOffset = 192
    @usableFromInline static let gMPMNameLength = 32

    // Process slot words.
    @usableFromInline static let pInUse = 0
    @usableFromInline static let pPid = 1
    @usableFromInline static let pGeneration = 2
    @usableFromInline static let pQuiescing = 3
    @usableFromInline static let pNotAccepting = 4
    @usableFromInline static let pConnections = 5
    @usableFromInline static let pWriteCompletion = 6
    @usableFromInline static let pKeepAlive = 7
    @usableFromInline static let pLingering = 8
    @usableFromInline static let pSuspended = 9
    @usableFromInline static let pWaitIO = 10
    @usableFromInline static let pTimes = 11 // 4 words
    @usableFromInline static let pStarted = 15
    /// Skep's own: idle keep-alive connections the event MPM closed at its per-child cap.
    @usableFromInline static let pShed = 16
    /// Skep's own: the share of the last second the event listener spent working, in
    /// thousandths (the master's spare-capacity rule counts it).
    @usableFromInline static let pListenerBusy = 17
    static let processWords = 18

    // Worker slot words.
    @usableFromInline static let wStatus = 0
    @usableFromInline static let wPid = 1
    @usableFromInline static let wTid = 2
    @usableFromInline static let wGeneration = 3
    @usableFromInline static let wAccessCount = 4
    @usableFromInline static let wBytesServed = 5
    @usableFromInline static let wMyAccessCount = 6
    @usableFromInline static let wMyBytesServed = 7
    @usableFromInline static let wConnCount = 8
    @usableFromInline static let wConnBytes = 9
    @usableFromInline static let wStartTime = 10
    @usableFromInline static let wStopTime = 11
    @usableFromInline static let wLastUsed = 12
    @usableFromInline static let wDuration = 13
    static let workerWords = 16
    // Worker text fields (byte offset, capacity including the NUL), Apache's sizes.
    @usableFromInline static let wClient = (offset: 128, capacity: 64)   // client64
    @usableFromInline static let wVhost = (offset: 192, capacity: 32)
    @usableFromInline static let wProtocol = (offset: 224, capacity: 16)
    @usableFromInline static let wRequest = (offset: 240, capacity: 64)

    static func size(serverLimit: Int, threadLimit: Int) -> Int {
        globalSize + serverLimit * processSize + serverLimit * threadLimit * workerSize
    }

    /// The word at `index` of a record starting at `base`.
    @inlinable @inline(__always)
    static func word(_ base: UnsafeMutableRawPointer, _ index: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (base + index &* 8).assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inlinable @inline(__always)
    static func load(_ base: UnsafeMutableRawPointer, _ index: Int) -> Int {
        word(base, index).pointee.load(ordering: .relaxed)
    }

    @inlinable @inline(__always)
    static func store(_ base: UnsafeMutableRawPointer, _ index: Int, _ value: Int) {
        word(base, index).pointee.store(value, ordering: .relaxed)
    }

    /// Single-writer increment: a load and a store, no locked instruction (only the
    /// slot's owner writes the word; readers see the old or the new value).
    @inlinable @inline(__always)
    static func bump(_ base: UnsafeMutableRawPointer, _ index: Int, by delta: Int) {
        let w = word(base, index)
        w.pointee.store(w.pointee.load(ordering: .relaxed) &+ delta, ordering: .relaxed)
    }

    /// Binds `count` words at `base` to `Atomic<Int>` and zeroes them.
    static func initializeWords(_ base: UnsafeMutableRawPointer, count: Int) {
        let words = base.bindMemory(to: Atomic<Int>.self, capacity: count)
        for i in 0..<count { (words + i).initialize(to: Atomic(0)) }
    }

    /// Copies at most `capacity - 1` bytes of `text` (its head, or its tail when `tail`)
    /// into the field and NUL-terminates it. No allocation.
    @inlinable @inline(__always)
    static func writeText(_ base: UnsafeMutableRawPointer, _ field: (offset: Int, capacity: Int),
                          _ text: UnsafeRawBufferPointer, tail: Bool = false) {
        let destination = base + field.offset
        let count = Swift.min(text.count, field.capacity &- 1)
        if count > 0, let source = text.baseAddress {
            let start = tail ? source + (text.count &- count) : source
            destination.copyMemory(from: start, byteCount: count)
        }
        destination.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
    }

    /// Reads a text field up to its NUL (or its capacity: a torn write may have lost it).
    static func readText(_ base: UnsafeMutableRawPointer, _ field: (offset: Int, capacity: Int)) -> String {
        let bytes = UnsafeRawBufferPointer(start: base + field.offset, count: field.capacity)
        var copy = [UInt8](repeating: 0, count: field.capacity)
        copy.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
        let end = copy.firstIndex(of: 0) ?? copy.count
        return String(decoding: copy[..<end], as: UTF8.self)
    }
}
