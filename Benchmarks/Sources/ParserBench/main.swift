// parser-bench: Skep's RequestParser against SwiftNIO's HTTPRequestDecoder on the same
// request heads, in one process. Prints Markdown tables: requests/s (median of the
// repeats) and allocator calls per request in steady state.
//
// Usage: parser-bench [--seconds S] [--repeats N] [--warmup S] [--alloc-iterations K]
import Foundation

var seconds = 2.0
var repeats = 5
var warmup = 0.5
var allocIterations = 10_000

var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    guard let value = args.popFirst() else {
        FileHandle.standardError.write(Data("missing value after \(arg)\n".utf8))
        exit(2)
    }
    switch arg {
    case "--seconds": seconds = Double(value) ?? seconds
    case "--repeats": repeats = Int(value) ?? repeats
    case "--warmup": warmup = Double(value) ?? warmup
    case "--alloc-iterations": allocIterations = Int(value) ?? allocIterations
    default:
        FileHandle.standardError.write(Data("unknown option \(arg)\n".utf8))
        exit(2)
    }
}

func progress(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

func fmt(_ x: Double, _ decimals: Int = 0) -> String {
    String(format: "%.\(decimals)f", x)
}

/// Thousands separators for requests/s.
func grouped(_ x: Double) -> String {
    let digits = String(Int(x.rounded()))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}

struct Row {
    var head: BenchHead
    var skep: [Double] = []
    var nio: [Double] = []
    var skepAllocations = Measurement.Allocations(calls: 0, frees: 0, bytes: 0)
    var nioAllocations = Measurement.Allocations(calls: 0, frees: 0, bytes: 0)
}

var sink: UInt64 = 0

_ = Measurement.checkCounter(n: 1000)  // the first run also counts the runtime's one-time metadata
let check = Measurement.checkCounter(n: 1000)
guard check.counted == check.expected else {
    progress("malloc counter does not count: \(check.counted) calls for \(check.expected) arrays")
    exit(1)
}

var rows: [Row] = []
for head in BenchHead.all {
    var skep = SkepParserLoop(head)
    var nio = NIODecoderLoop(head)

    // Both parsers must see every request and every field.
    let expected = [Int](repeating: head.fieldsPerRequest, count: head.requests)
    let skepFields = skep.fieldCounts()
    let nioFields = nio.fieldCounts()
    guard skepFields == expected, nioFields == expected else {
        progress("\(head.name): fields per request: expected \(expected), Skep \(skepFields), NIO \(nioFields)")
        exit(1)
    }

    progress("\(head.name): \(head.bytes.count) bytes, \(head.requests) request(s)")
    let skepChunk = Measurement.chunkSize(&skep, target: .milliseconds(2), sink: &sink)
    let nioChunk = Measurement.chunkSize(&nio, target: .milliseconds(2), sink: &sink)
    Measurement.warmUp(&skep, seconds: warmup, chunk: skepChunk, sink: &sink)
    Measurement.warmUp(&nio, seconds: warmup, chunk: nioChunk, sink: &sink)

    var row = Row(head: head)
    // Alternate the two so that a noisy neighbour hits both alike.
    for r in 1...repeats {
        row.skep.append(Measurement.requestsPerSecond(&skep, seconds: seconds, chunk: skepChunk, sink: &sink))
        row.nio.append(Measurement.requestsPerSecond(&nio, seconds: seconds, chunk: nioChunk, sink: &sink))
        progress("  run \(r)/\(repeats): Skep \(grouped(row.skep.last!)) req/s, NIO \(grouped(row.nio.last!)) req/s")
    }
    row.skepAllocations = Measurement.allocations(&skep, iterations: allocIterations, sink: &sink)
    row.nioAllocations = Measurement.allocations(&nio, iterations: allocIterations, sink: &sink)
    rows.append(row)
}

print("Requests/s, median of \(repeats) runs of \(fmt(seconds, 1)) s each (min–max in brackets):")
print("")
print("| head | bytes | Skep req/s | NIO req/s | Skep/NIO | Skep ns/req | NIO ns/req |")
print("|---|---:|---:|---:|---:|---:|---:|")
for row in rows {
    let s = Measurement.median(row.skep)
    let n = Measurement.median(row.nio)
    print("| \(row.head.name) | \(row.head.bytes.count) "
        + "| \(grouped(s)) (\(grouped(row.skep.min()!))–\(grouped(row.skep.max()!))) "
        + "| \(grouped(n)) (\(grouped(row.nio.min()!))–\(grouped(row.nio.max()!))) "
        + "| **\(fmt(s / n, 2))x** | \(fmt(1e9 / s, 1)) | \(fmt(1e9 / n, 1)) |")
}
print("")
print("Allocator calls per request in steady state (\(allocIterations) iterations after warm-up;"
    + " counter check: \(check.counted) calls for \(check.expected) arrays):")
print("")
print("| head | fields/req | Skep mallocs/req | Skep bytes/req | NIO mallocs/req | NIO bytes/req |")
print("|---|---:|---:|---:|---:|---:|")
for row in rows {
    print("| \(row.head.name) | \(row.head.fieldsPerRequest) "
        + "| \(fmt(row.skepAllocations.calls, 2)) | \(fmt(row.skepAllocations.bytes, 0)) "
        + "| \(fmt(row.nioAllocations.calls, 2)) | \(fmt(row.nioAllocations.bytes, 0)) |")
}
print("")
print("checksum \(sink)")
