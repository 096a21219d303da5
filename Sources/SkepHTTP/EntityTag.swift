/// An entity tag and the list matching of `If-Match` / `If-None-Match`.
///
/// Why: conditional requests decide between 200, 304 and 412 on every cached static file.
/// Apache 2.4 compares `If-Match` strongly and `If-None-Match` weakly (RFC 9110 §13.1),
/// and `*` matches any existing representation. Measured on Apache 2.4.71 with ETag
/// `"3e8-660e5935bfaad"`: `If-None-Match` with the tag, its `W/` form, `*`, or a list
/// containing it (with or without blanks after the comma) → 304, `"x"` or the tag with a
/// blank inside the quotes → 200; `If-Match` with the tag, `*`, or a list containing it →
/// 200, with its `W/` form or `"x"` → 412.
public struct EntityTag: Sendable, Hashable, CustomStringConvertible {
    public var isWeak: Bool
    /// The opaque tag without quotes.
    public var opaque: String

    public init(_ opaque: String, weak: Bool = false) {
        self.opaque = opaque
        self.isWeak = weak
    }

    /// Parses `"xyz"` or `W/"xyz"`.
    public init?(parsing text: String) {
        var t = Substring(text)
        var weak = false
        if t.hasPrefix("W/") { weak = true; t = t.dropFirst(2) }
        guard t.count >= 2, t.first == "\"", t.last == "\"" else { return nil }
        let inner = t.dropFirst().dropLast()
        guard !inner.contains("\"") else { return nil }
        self.init(String(inner), weak: weak)
    }

    /// The header form, `"xyz"` or `W/"xyz"`.
    /// Written straight into the string's storage (one allocation): the `ETag` of every
    /// file served.
    public var description: String {
        var opaque = self.opaque
        let prefix: StaticString = isWeak ? "W/\"" : "\""
        return opaque.withUTF8 { tag in
            String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + tag.count + 1) { out in
                var n = 0
                for i in 0..<prefix.utf8CodeUnitCount { out[n] = prefix.utf8Start[i]; n += 1 }
                for byte in tag { out[n] = byte; n += 1 }
                out[n] = UInt8(ascii: "\"")
                return n + 1
            }
        }
    }

    public enum Comparison: Sendable {
        /// Both tags strong and equal (`If-Match`, `If-Range`).
        case strong
        /// Equal opaque tags, weak or not (`If-None-Match`).
        case weak
    }

    public func matches(_ other: EntityTag, _ comparison: Comparison) -> Bool {
        switch comparison {
        case .strong: !isWeak && !other.isWeak && opaque == other.opaque
        case .weak: opaque == other.opaque
        }
    }

    /// Whether the list in an `If-Match`/`If-None-Match` value matches this tag; `*`
    /// matches any (existing) representation. Malformed items never match.
    public func isMatched(byList list: some Collection<UInt8>, _ comparison: Comparison) -> Bool {
        let b = Array(list)
        var i = 0
        var mine = Array(opaque.utf8)
        mine.insert(0x22, at: 0)
        mine.append(0x22)
        while i < b.count {
            while i < b.count, b[i] == 0x2C || ByteClass.isBlank(b[i]) { i += 1 }
            guard i < b.count else { break }
            if b[i] == 0x2A {  // "*"
                var j = i + 1
                while j < b.count, ByteClass.isBlank(b[j]) { j += 1 }
                if j == b.count || b[j] == 0x2C { return true }
            }
            var weak = false
            if i + 1 < b.count, b[i] == 0x57, b[i + 1] == 0x2F { weak = true; i += 2 }  // W/
            if i < b.count, b[i] == 0x22 {
                var j = i + 1
                while j < b.count, b[j] != 0x22 { j += 1 }
                if j < b.count {
                    let tag = b[i...j]
                    let ok = comparison == .weak || (!weak && !isWeak)
                    if ok && tag.elementsEqual(mine) { return true }
                    i = j + 1
                    continue
                }
                return false
            }
            // Not a tag: skip to the next comma.
            while i < b.count, b[i] != 0x2C { i += 1 }
        }
        return false
    }

    public func isMatched(byList list: String, _ comparison: Comparison) -> Bool {
        isMatched(byList: Array(list.utf8), comparison)
    }
}
