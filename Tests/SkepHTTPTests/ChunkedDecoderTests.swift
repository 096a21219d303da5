import Testing
@testable import SkepHTTP

/// Decodes `bytes` delivered in pieces ending at `splits`, the way a connection would:
/// unconsumed bytes are kept and more are appended.
func decodeChunked(_ bytes: [UInt8], splits: [Int] = [], limits: HTTPLimits = HTTPLimits())
    -> (body: [UInt8], end: Int?, error: Int?)
{
    var d = ChunkedDecoder(limits: limits)
    var body: [UInt8] = []
    var start = 0  // first unconsumed byte
    for available in splits + [bytes.count] where available >= start {
        while true {
            let r = bytes.withUnsafeBytes { d.decode(UnsafeRawBufferPointer(rebasing: $0[start..<available])) }
            switch r {
            case .data(let range):
                body += bytes[(start + range.lowerBound)..<(start + range.upperBound)]
                start += range.upperBound
                continue
            case .needMore(let consumed):
                start += consumed
            case .end(let consumed):
                return (body, start + consumed, nil)
            case .error(let s, _):
                return (body, nil, s.code)
            }
            break
        }
    }
    return (body, nil, nil)
}

func chunked(_ s: String, limits: HTTPLimits = HTTPLimits()) -> (body: String, end: Int?, error: Int?) {
    let r = decodeChunked(Array(s.utf8), limits: limits)
    return (String(decoding: r.body, as: UTF8.self), r.end, r.error)
}

@Suite struct ChunkedDecoderTests {
    @Test func simple() {
        let r = chunked("3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\nGET")
        #expect(r.body == "abc0123456789")
        #expect(r.end == 28)
        #expect(r.error == nil)
    }

    @Test func acceptedLikeApache() {
        // All accepted by Apache 2.4.71 (the pipelined request after them was served).
        let cases = [
            "3\r\nabc\r\n0\r\n\r\n",
            "0003\r\nabc\r\n0\r\n\r\n",
            "3;foo=bar\r\nabc\r\n0\r\n\r\n",
            "3 ;foo=bar\r\nabc\r\n0\r\n\r\n",
            "3 \r\nabc\r\n0\r\n\r\n",
            "3\t\r\nabc\r\n0\r\n\r\n",
            "3;foo=\"b;r\"\r\nabc\r\n0\r\n\r\n",
            "3\r\nabc\r\n0;x=y\r\n\r\n",
            "3\r\nabc\r\n" + String(repeating: "0", count: 100) + "\r\n\r\n",
            "00000000000000003\r\nabc\r\n0\r\n\r\n",
            "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
            "3\r\nabc\r\n0\r\nX-T: 1\r\nY:\r\n\r\n",
        ]
        for c in cases {
            let r = chunked(c)
            #expect(r.body == "abc", "\(c)")
            #expect(r.end == c.utf8.count, "\(c)")
        }
        #expect(chunked("a\r\n0123456789\r\n0\r\n\r\n").body == "0123456789")
        #expect(chunked("0\r\n\r\n").end == 5)
    }

    @Test func refusedLikeApache() {
        // 400 in Apache 2.4.71.
        let bad = [
            " 3\r\nabc\r\n0\r\n\r\n",  // leading blank
            "3g\r\nabc\r\n0\r\n\r\n",  // bad hex
            "\r\nabc\r\n0\r\n\r\n",  // empty size
            "0x3\r\nabc\r\n0\r\n\r\n",
            "-3\r\nabc\r\n0\r\n\r\n",
            "+3\r\nabc\r\n0\r\n\r\n",
            "3 3\r\nabc\r\n0\r\n\r\n",
            "3\r\nabcX\r\n0\r\n\r\n",  // no CRLF after data
            "3\r\nabc\n0\r\n\r\n",  // bare LF after data
            "3\nabc\r\n0\r\n\r\n",  // bare LF after size
            "3\r\nabc\r\n0\n\r\n",
            "3\r\nabc\r\n0\r\n\n",
            "3\rabc\r\n0\r\n\r\n",  // bare CR
            "3\r\nabc\r\n0\r\nX-T 1\r\n\r\n",  // trailer without colon
            "3\r\nabc\r\n0\r\n: 1\r\n\r\n",
            "3\r\nabc\r\n0\r\nX-T: 1\r\n 2\r\n\r\n",  // folded trailer: Apache accepts, Skep refuses
            "3\r\nabc\r\n0\r\nX-T: \u{01}\r\n\r\n",
            "3;a\u{01}\r\nabc\r\n0\r\n\r\n",
        ]
        for c in bad {
            #expect(chunked(c).error == 400, "\(c)")
        }
    }

    @Test func sizeOverflowIs413() {
        // Apache: 413 Request Entity Too Large for sizes beyond 2^63-1.
        #expect(chunked("10000000000000000\r\nabc\r\n0\r\n\r\n").error == 413)
        #expect(chunked("8000000000000000\r\nabc\r\n0\r\n\r\n").error == 413)
        // 2^63-1 itself is accepted (the body is then incomplete).
        let r = chunked("7fffffffffffffff\r\nabc")
        #expect(r.error == nil)
        #expect(r.body == "abc")
        #expect(r.end == nil)
    }

    @Test func chunkLineLimit() {
        // Apache 2.4.71, LimitRequestFieldSize 8190: a chunk-size line of 8188 bytes passes,
        // 8189 is a 413; with the limit at 100: 98 passes, 99 is a 413.
        func line(_ n: Int) -> String { "3;" + String(repeating: "a", count: n - 2) + "\r\nabc\r\n0\r\n\r\n" }
        #expect(chunked(line(8188)).body == "abc")
        #expect(chunked(line(8189)).error == 413)
        let l = HTTPLimits(requestFieldSize: 100)
        #expect(chunked(line(98), limits: l).body == "abc")
        #expect(chunked(line(99), limits: l).error == 413)
    }

    @Test func trailerLimits() {
        // Apache: a trailer line of 8191 bytes passes, 8192 is a 400; 100 trailers pass, 101 are a 400.
        func trailer(_ n: Int) -> String { "3\r\nabc\r\n0\r\nX-T: " + String(repeating: "a", count: n - 5) + "\r\n\r\n" }
        #expect(chunked(trailer(8191)).end != nil)
        #expect(chunked(trailer(8192)).error == 400)
        func trailers(_ k: Int) -> String { "3\r\nabc\r\n0\r\n" + (0..<k).map { "X-\($0): a\r\n" }.joined() + "\r\n" }
        #expect(chunked(trailers(100)).end != nil)
        #expect(chunked(trailers(101)).error == 400)
    }

    static let body = "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\nNEXT"

    @Test func everySplitPoint() {
        let bytes = Array(Self.body.utf8)
        let whole = decodeChunked(bytes)
        #expect(String(decoding: whole.body, as: UTF8.self) == "helloabcdefghijklmnopqrstuvwxyz")
        #expect(whole.end == bytes.count - 4)
        for s in 0...bytes.count {
            let r = decodeChunked(bytes, splits: [s])
            #expect(r.body == whole.body, "split \(s)")
            #expect(r.end == whole.end, "split \(s)")
        }
        let r = decodeChunked(bytes, splits: Array(0..<bytes.count))
        #expect(r.body == whole.body)
        #expect(r.end == whole.end)
    }

    @Test func errorAtEverySplitPoint() {
        let bytes = Array("3\r\nabcX\r\n0\r\n\r\n".utf8)
        for s in 0...bytes.count {
            #expect(decodeChunked(bytes, splits: [s]).error == 400)
        }
    }

    @Test func incompleteNeedsMore() {
        var d = ChunkedDecoder()
        #expect(d.decode(Array("3\r".utf8)) == .needMore(consumed: 2))
        #expect(d.decode(Array("\nab".utf8)) == .data(1..<3))
        #expect(d.decode([]) == .needMore(consumed: 0))
        #expect(!d.isComplete)
        #expect(d.decode(Array("c\r\n0\r\n\r\n".utf8)) == .data(0..<1))
        #expect(d.decode(Array("\r\n0\r\n\r\n".utf8)) == .end(consumed: 7))
        #expect(d.isComplete)
        d.reset()
        #expect(!d.isComplete)
        #expect(d.decode(Array("0\r\n\r\n".utf8)) == .end(consumed: 5))
    }
}
