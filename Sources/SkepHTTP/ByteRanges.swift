/// The outcome of a `Range` request header for a representation of a known size, decided
/// as Apache 2.4's byterange filter (`ap_set_byterange`) decides it.
///
/// Why: a static-file handler must answer 200, 206 or 416 exactly as Apache, and must not
/// be made to send a file many times over (overlapping ranges are merged, and too many
/// ranges, overlaps or reversals make Apache ignore the header).
///
/// Apache 2.4.71, measured on a 1000-byte file:
/// - `bytes=0-99`, `bytes=-100`, `bytes=900-`, `Bytes=0-1` (unit case-insensitive),
///   `bytes=00-01`, `bytes=999-2000` (end clamped), `bytes=-2000` (whole file) → 206;
/// - `bytes=0-10,5-20` and `bytes=0-10,11-20` (overlapping or adjacent) → one range 0-20;
///   `bytes=20-30,0-25` → 0-30; `bytes=0-10,12-20` → two parts; order is kept
///   (`bytes=20-30,0-10` → 20-30 then 0-10); `bytes=0-1,,2-3` → 0-3 (empty items skipped);
/// - `bytes=500-,0-`: a range starting at 0 with no end makes the whole file one range;
/// - `bytes=1000-`, `bytes=1000-1000`, `bytes=1000-1001,2000-` → 416; an unsatisfiable
///   item among satisfiable ones is dropped (`bytes=0-1,1000-` → 0-1);
/// - ignored (200, whole file): `bytes=abc`, `bytes=5-1`, `bytes=-0`, `bytes=`,
///   `items=0-1`, `bytes= 0-1`, `bytes=0 - 1`, `bytes=0-1, 3-4` (blanks are not allowed
///   around items), `bytes=+1-2`, `bytes=1-2,abc`, `bytes=5-1,0-1`, `bytes=,0-1`,
///   `bytes=0-1,-`, numbers too large for 63 bits; more than `MaxRanges` (200) ranges
///   after merging; more than `MaxRangeOverlaps` (20) merges; more than
///   `MaxRangeReversals` (20) merges that extend a range backwards; a sum of range
///   lengths larger than the file.
/// `If-Range` is the caller's to check before calling.
public enum ByteRanges: Sendable, Hashable {
    /// Serve the whole representation (200): no usable `Range` header.
    case ignored
    /// Answer `416 Requested Range Not Satisfiable` (with `Content-Range: bytes */size`).
    case unsatisfiable
    /// Answer 206 with these inclusive byte ranges, in the order to send them: one range
    /// is a plain 206 with `Content-Range`, several are `multipart/byteranges`.
    case ranges([ClosedRange<Int64>])

    /// Apache's `MaxRanges`, `MaxRangeOverlaps`, `MaxRangeReversals` defaults.
    public static let defaultMaxRanges = 200
    public static let defaultMaxOverlaps = 20
    public static let defaultMaxReversals = 20

    /// Decides the answer to `header` (the `Range` value) for a representation of `size` bytes.
    public static func evaluate(
        _ header: some Collection<UInt8>, size: Int64,
        maxRanges: Int = defaultMaxRanges, maxOverlaps: Int = defaultMaxOverlaps, maxReversals: Int = defaultMaxReversals
    ) -> ByteRanges {
        let h = Array(header)
        // "bytes=" (case-insensitive), nothing else; an empty file is never ranged.
        guard size > 0, h.count >= 6 else { return .ignored }
        let unit: [UInt8] = Array("bytes=".utf8)
        for k in 0..<6 where ByteClass.lower(h[k]) != unit[k] { return .ignored }
        var result: [ClosedRange<Int64>] = []
        var unsatisfiable = false
        var inMerge = false
        var ostart: Int64 = 0, oend: Int64 = 0
        var overlaps = 0, reversals = 0
        var sum: Int64 = 0
        var i = 6
        // Skip leading commas, as ap_getword does only between items: a leading ',' gives
        // an empty first item, which ends the list.
        itemLoop: while i < h.count {
            var e = i
            while e < h.count, h[e] != 0x2C { e += 1 }
            let item = h[i..<e]
            i = e
            while i < h.count, h[i] == 0x2C { i += 1 }  // ap_getword skips runs of ','
            if item.isEmpty { break itemLoop }
            guard let dash = item.firstIndex(of: 0x2D) else { return .ignored }
            var start: Int64, end: Int64
            if dash == item.startIndex {  // "-N": the last N bytes
                guard let n = number(item[(dash + 1)...]), n >= 1 else { return .ignored }
                start = size - n  // no overflow: size > 0 and n >= 1
                end = size - 1
            } else {
                guard let s = number(item[..<dash]) else { return .ignored }
                start = s
                let rest = item[(dash + 1)...]
                if rest.isEmpty {
                    end = size - 1
                    if start == 0 {
                        // "0-": the whole representation, all other ranges ignored.
                        result.removeAll()
                        sum = 0
                        inMerge = true
                        ostart = 0
                        oend = end
                        break itemLoop
                    }
                } else {
                    guard let n = number(rest), start <= n else { return .ignored }
                    end = n
                }
            }
            if start < 0 { start = 0 }
            if start >= size {
                unsatisfiable = true
                continue
            }
            if end >= size { end = size - 1 }
            if !inMerge {
                ostart = start
                oend = end
                inMerge = true
                continue
            }
            inMerge = false
            if start >= ostart && end <= oend { inMerge = true }
            // No overflow below: 0 <= ostart <= oend <= size - 1 < Int64.max.
            if start < ostart && end >= ostart - 1 {
                ostart = start
                reversals += 1
                inMerge = true
            }
            if end >= oend && start <= oend + 1 {
                oend = end
                inMerge = true
            }
            if inMerge {
                overlaps += 1
            } else {
                result.append(ostart...oend)
                guard let total = adding(oend - ostart + 1, to: sum, within: size) else { return .ignored }
                sum = total
                inMerge = true
                ostart = start
                oend = end
            }
        }
        if inMerge {
            result.append(ostart...oend)
            guard let total = adding(oend - ostart + 1, to: sum, within: size) else { return .ignored }
            sum = total
        } else if result.isEmpty && unsatisfiable {
            return .unsatisfiable
        }
        if result.isEmpty { return .ignored }
        if result.count > maxRanges || overlaps > maxOverlaps || reversals > maxReversals { return .ignored }
        return .ranges(result)
    }

    public static func evaluate(_ header: String, size: Int64) -> ByteRanges {
        evaluate(Array(header.utf8), size: size)
    }

    /// `sum + length` when it is at most `size`; nil otherwise. Apache ignores the header
    /// when the lengths add up to more than the representation; checking at each step
    /// keeps the total from overflowing (many huge ranges of a huge sparse file). Each
    /// length is at most `size` and `sum` at most `size`, so the subtraction cannot overflow.
    static func adding(_ length: Int64, to sum: Int64, within size: Int64) -> Int64? {
        length <= size - sum ? sum + length : nil
    }

    /// Decimal digits only (no sign, no blanks), at most 2^63-1.
    static func number(_ s: ArraySlice<UInt8>) -> Int64? {
        guard !s.isEmpty else { return nil }
        var v: Int64 = 0
        for b in s {
            let d = b &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))  // trap-safe: d is one decimal digit
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}
