/// Deadlines of the event listener's connections, earliest first (a binary heap). An
/// entry names its connection by key and by the token its state carried when the
/// deadline was set: a connection that moved on carries another token (or none, at a
/// worker), so its old entry is skipped when it surfaces, and nothing is removed from the
/// middle of the heap. Every keep-alive request leaves its old entry behind, so the heap
/// is rebuilt from the live entries whenever the stale ones outnumber them: without that,
/// 40,000 requests a second with a 30 s keep-alive would keep a million dead entries.
///
/// Tokens come from one counter for the whole queue, so a new connection on a reused
/// descriptor never matches an old entry. No entry holds a reference: a closed
/// connection's stale entries keep nothing alive.
struct TimerQueue {
    struct Entry {
        let deadline: UInt64
        let token: UInt64
        let key: UInt64
    }

    private var heap: [Entry] = []
    private var lastToken: UInt64 = 0

    var nextDeadline: UInt64? { heap.first?.deadline }
    /// Entries in the heap, stale ones included.
    var entryCount: Int { heap.count }

    /// Adds a deadline for `key`; returns the token its state is to carry.
    mutating func schedule(_ key: UInt64, after milliseconds: Int, now: UInt64) -> UInt64 {
        lastToken &+= 1
        // A negative wait is due at once; a huge one saturates (config values are bounded,
        // but a deadline must never trap).
        let wait = UInt64(clamping: max(0, milliseconds))
        let (deadline, overflow) = now.addingReportingOverflow(wait)
        heap.append(Entry(deadline: overflow ? .max : deadline, token: lastToken, key: key))
        siftUp(heap.count - 1)
        return lastToken
    }

    /// Pops the entries due at `now`; `isLive` says whether an entry's connection still
    /// waits for it (the others are stale and dropped).
    mutating func popExpired(now: UInt64, isLive: (Entry) -> Bool) -> [Entry] {
        var out: [Entry] = []
        while let first = heap.first, first.deadline <= now {
            let entry = pop()
            if isLive(entry) { out.append(entry) }
        }
        return out
    }

    /// Drops the stale entries and restores the heap order.
    mutating func compact(isLive: (Entry) -> Bool) {
        heap.removeAll { !isLive($0) }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].deadline < heap[parent].deadline else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }

    /// Removes the earliest entry; only called with a non-empty heap.
    private mutating func pop() -> Entry {
        let top = heap[0] // trap-safe: callers check heap.first first
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return top
    }
}
