import CMallocCounter

/// Timing and allocation counting for one `ParserLoop`.
enum Measurement {
    /// Iterations per timed chunk, chosen so that a chunk takes about `target`: the clock
    /// is read once per chunk, not once per request.
    static func chunkSize<L: ParserLoop>(_ loop: inout L, target: Duration, sink: inout UInt64) -> Int {
        let clock = ContinuousClock()
        var n = 1
        while true {
            let start = clock.now
            sink &+= loop.run(iterations: n)
            let elapsed = clock.now - start
            if elapsed >= target || n >= 1 << 30 {
                let scale = Double(target.attoseconds) / Double(max(elapsed.attoseconds, 1))
                return max(1, Int(Double(n) * scale))
            }
            n *= 2
        }
    }

    /// Runs the loop for `seconds` without measuring (code and data into cache, lazy
    /// storage allocated, CPU frequency settled).
    static func warmUp<L: ParserLoop>(_ loop: inout L, seconds: Double, chunk: Int, sink: inout UInt64) {
        _ = requestsPerSecond(&loop, seconds: seconds, chunk: chunk, sink: &sink)
    }

    /// Requests parsed per second over whole chunks run for at least `seconds`.
    static func requestsPerSecond<L: ParserLoop>(_ loop: inout L, seconds: Double, chunk: Int,
                                                 sink: inout UInt64) -> Double
    {
        let clock = ContinuousClock()
        let limit = Duration.milliseconds(Int64(seconds * 1000))
        var iterations = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            sink &+= loop.run(iterations: chunk)
            iterations += chunk
            elapsed = clock.now - start
        } while elapsed < limit
        let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(iterations * loop.requestsPerIteration) / secondsElapsed
    }

    struct Allocations {
        /// Allocation calls (malloc, calloc, realloc, aligned forms) per request.
        var calls: Double
        var frees: Double
        var bytes: Double
    }

    /// Allocator calls per request over `iterations` iterations, in steady state (run
    /// after the warm-up).
    static func allocations<L: ParserLoop>(_ loop: inout L, iterations: Int, sink: inout UInt64) -> Allocations {
        malloc_counter_start()
        sink &+= loop.run(iterations: iterations)
        malloc_counter_stop()
        let s = malloc_counter_read()
        let requests = Double(iterations * loop.requestsPerIteration)
        return Allocations(calls: Double(s.allocations + s.reallocations) / requests,
                           frees: Double(s.frees) / requests, bytes: Double(s.bytes) / requests)
    }

    /// Checks that the counter sees allocations made by the Swift runtime (in
    /// libswiftCore.so): `n` array buffers must be `n` calls.
    static func checkCounter(n: Int) -> (expected: Int, counted: Int) {
        var keep: [[Int]] = []
        keep.reserveCapacity(n)
        malloc_counter_start()
        for i in 0..<n { keep.append([Int](repeating: i, count: 4)) }
        malloc_counter_stop()
        precondition(keep.count == n)
        return (n, Int(malloc_counter_read().allocations))
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
