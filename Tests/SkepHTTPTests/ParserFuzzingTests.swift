import Testing
@testable import SkepHTTP

/// Runs the fuzz harness over a seed corpus and over pseudo-random mutations of it, so
/// the invariants are checked on every test run (a trap fails the run).
@Suite struct ParserFuzzingTests {
    static let seeds: [String] = [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\nPOST /a?b HTTP/1.1\r\nHost: h:80\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        "POST http://h/p HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
        "GET /index.html\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: [::1]:8080\r\nExpect: 100-continue\r\n\r\n",
        "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n",
    ]

    @Test func seedsHoldTheInvariants() {
        for s in Self.seeds {
            Array(s.utf8).withUnsafeBytes { ParserFuzzing.check($0) }
        }
    }

    @Test func mutationsHoldTheInvariants() {
        var rng = SplitMix(seed: 0x5EED)
        let alphabet: [UInt8] = Array(" \r\n\t:;,/?#%*-0aAzZ\u{0}\u{7F}".utf8) + [0x80, 0xFF, 0x30, 0x39, 0x66]
        for _ in 0..<400 {
            var b = Array(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))].utf8)
            for _ in 0..<(1 + rng.next() % 4) {
                let pos = Int(rng.next() % UInt64(b.count + 1))
                switch rng.next() % 3 {
                case 0: if pos < b.count { b[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                case 1: b.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: pos)
                default: if pos < b.count { b.remove(at: pos) }
                }
            }
            b.withUnsafeBytes { ParserFuzzing.check($0, limits: HTTPLimits(requestLine: 40, requestFieldSize: 30, requestFields: 4)) }
            b.withUnsafeBytes { ParserFuzzing.check($0) }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
