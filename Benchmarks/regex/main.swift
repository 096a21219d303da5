// The regex micro-benchmark: one match of a typical `\.php$` (a FilesMatch) on a 40-byte
// path, Skep's PCRERegex (PCRE2, JIT) against the standard library's Regex that Skep
// used before, and the allocator calls per match. Built and run by regex-bench.sh.
import CMallocCounter
import Glibc

let path = "/var/www/html/wp-content/theme/index.php"     // 40 bytes
let miss = "/var/www/html/wp-content/theme/style.css"     // 40 bytes
precondition(path.utf8.count == 40 && miss.utf8.count == 40)

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Nanoseconds per call of `body` (median of 5 runs of about `seconds`/5 each) and the
/// allocator calls per call, counted over 10,000 calls after a warm-up.
func measure(_ name: String, _ body: () -> Bool) {
    var hits = 0
    for _ in 0..<1000 where body() { hits += 1 }
    var perCall: [Double] = []
    for _ in 0..<5 {
        var n = 0
        let start = now()
        while now() - start < seconds / 5 {
            for _ in 0..<1000 where body() { hits += 1 }
            n += 1000
        }
        perCall.append((now() - start) / Double(n) * 1e9)
    }
    malloc_counter_start()
    for _ in 0..<10_000 where body() { hits += 1 }
    malloc_counter_stop()
    let allocs = Double(malloc_counter_read().allocations) / 10_000
    perCall.sort()
    let ns = (perCall[2] * 10).rounded() / 10
    print("| \(name) | \(ns) ns | \(allocs) |")
    guard hits > 0 || name.hasSuffix("no match") else { fatalError("\(name) never matched") }
}

let pcre = try PCRERegex(#"\.php$"#)
let swiftRegex = try Regex(#"\.php$"#)

print("PCRE2 \(PCRERegex.libraryVersion), JIT \(pcre.isJIT ? "on" : "off"); path \(path.utf8.count) bytes")
print("| match of \\.php$ | time per match | allocations per match |")
print("|---|---:|---:|")
measure("PCRERegex, a match", { pcre.matches(path) })
measure("PCRERegex, no match", { pcre.matches(miss) })
measure("Swift Regex firstMatch, a match", { path.firstMatch(of: swiftRegex) != nil })
measure("Swift Regex firstMatch, no match", { miss.firstMatch(of: swiftRegex) != nil })
