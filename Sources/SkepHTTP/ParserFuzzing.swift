/// The body of a fuzz target for the wire parsers, kept here so that it needs no access
/// to internals and runs in unit tests too.
///
/// Why: DESIGN.md §8 wants a fuzz harness for the parser. A libFuzzer target only has to
/// forward its input:
///
///     @_cdecl("LLVMFuzzerTestOneInput")
///     public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
///         ParserFuzzing.check(UnsafeRawBufferPointer(start: data, count: size))
///         return 0
///     }
///
/// `check` traps (so the fuzzer reports a crash) when an invariant breaks: the answer must
/// not depend on how the bytes were split, every range must lie inside the consumed bytes,
/// and the chunked decoder must give the same body and end whatever the split.
public enum ParserFuzzing {
    public static func check(_ data: UnsafeRawBufferPointer, limits: HTTPLimits = HTTPLimits()) {
        var whole = RequestParser(limits: limits)
        let expected = whole.parse(data)
        // The same bytes, arriving in pieces.
        for split in splitPoints(data.count) {
            var p = RequestParser(limits: limits)
            var r = p.parse(UnsafeRawBufferPointer(rebasing: data[0..<split]))
            if case .needMore = r { r = p.parse(data) }
            precondition(r == expected, "RequestParser answer depends on the split at \(split)")  // trap-safe: the fuzz check: trapping on a mismatch is its job (only Fuzz/ and tests call it)
        }
        guard case .headComplete(let head, let consumed) = expected else { return }
        precondition(consumed > 0 && consumed <= data.count)  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
        let inside = { (r: Range<Int>) in precondition(r.lowerBound >= 0 && r.upperBound <= consumed) }  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
        inside(head.methodRange)
        inside(head.targetRange)
        inside(head.pathRange)
        head.queryRange.map(inside)
        head.hostRange.map(inside)
        precondition(head.fields.count <= limits.requestFields)  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
        for f in head.fields {
            inside(f.name)
            inside(f.value)
            precondition(!f.name.isEmpty)  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
        }
        _ = head.path(in: data)
        _ = head.host(in: data)
        if head.framing == .chunked {
            checkChunked(UnsafeRawBufferPointer(rebasing: data[consumed...]), limits: limits)
        }
    }

    /// Decodes `body` whole and in two pieces at several points; traps on any difference.
    public static func checkChunked(_ body: UnsafeRawBufferPointer, limits: HTTPLimits = HTTPLimits()) {
        let expected = decode(body, split: body.count, limits: limits)
        for split in splitPoints(body.count) {
            precondition(decode(body, split: split, limits: limits) == expected, "ChunkedDecoder depends on the split at \(split)")  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
        }
    }

    struct Decoded: Equatable {
        var body: [UInt8] = []
        var end: Int? = nil
        var error: HTTPStatus? = nil
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, split: Int, limits: HTTPLimits) -> Decoded {
        var d = ChunkedDecoder(limits: limits)
        var out = Decoded()
        var start = 0
        for available in [split, bytes.count] where available >= start {
            while true {
                let r = d.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<available]))
                switch r {
                case .data(let range):
                    precondition(!range.isEmpty && range.upperBound <= available - start)  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
                    out.body += bytes[(start + range.lowerBound)..<(start + range.upperBound)]
                    start += range.upperBound
                    continue
                case .needMore(let consumed):
                    precondition(consumed == available - start)  // trap-safe: the fuzz check (only Fuzz/ and tests call it)
                    start += consumed
                case .end(let consumed):
                    out.end = start + consumed
                    return out
                case .error(let s, _):
                    out.error = s
                    return out
                }
                break
            }
        }
        return out
    }

    /// Every split point for short inputs; a spread of them for long ones.
    static func splitPoints(_ n: Int) -> [Int] {
        if n <= 256 { return Array(0...n) }
        var s: [Int] = Array(0...64) + Array((n - 64)...n)
        var k = 65
        while k < n - 64 { s.append(k); k += 37 }
        return s
    }
}
