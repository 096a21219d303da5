/// Byte classes of RFC 9110/9112 used by the parsers, as switch-based inline predicates.
///
/// Why: the request path must not allocate or hash; a switch over a byte compiles to a
/// table or range checks.
public enum ByteClass {
    /// `tchar`: the characters of a method or header-field name token
    /// (`!#$%&'*+-.^_`|~`, DIGIT, ALPHA), as a 128-bit map.
    @inlinable @inline(__always)
    public static func isToken(_ b: UInt8) -> Bool {
        let lo: UInt64 = 0x03FF_6CFA_0000_0000  // bytes 0-63
        let hi: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // bytes 64-127
        let word = b < 64 ? lo : (b < 128 ? hi : 0)
        return (word >> UInt64(b & 63)) & 1 != 0  // trap-safe: b & 63 is 0...63
    }

    /// A byte allowed in a field value: HT, SP, VCHAR, obs-text. Apache 2.4 (strict)
    /// refuses other control characters (including DEL) in a header value with a 400.
    @inlinable @inline(__always)
    static func isFieldValue(_ b: UInt8) -> Bool {
        b == 0x09 || (b >= 0x20 && b != 0x7F)
    }

    /// A byte allowed in a request target: VCHAR and obs-text. Apache 2.4 answers 400 to
    /// control characters in the target and accepts bytes >= 0x80 (404 if no such file).
    @inlinable @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool {
        b > 0x20 && b != 0x7F
    }

    /// Whether the eight bytes at `i` are all allowed in a field value and none is HT,
    /// so that they need no byte-by-byte look (SWAR: no byte < 0x20, none == 0x7F).
    @inlinable @inline(__always)
    static func eightPlainValueBytes(_ base: UnsafeRawPointer, _ i: Int) -> Bool {
        let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let below20 = (w &- ones &* 0x20) & ~w & high
        let x = w ^ (ones &* 0x7F)
        let del = (x &- ones) & ~x & high
        return below20 | del == 0
    }

    @inlinable @inline(__always)
    static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    @inlinable @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// The value of a hex digit, or nil.
    @inlinable @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    @inlinable @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        (b &- 0x41 < 26) ? b | 0x20 : b
    }

    /// Case-insensitive comparison of `p[range]` with an already lower-case ASCII literal.
    @inlinable @inline(__always)
    static func equalsLowercased(_ p: UnsafeRawBufferPointer, _ range: Range<Int>, _ lit: StaticString) -> Bool {
        guard range.count == lit.utf8CodeUnitCount else { return false }
        let l = lit.utf8Start
        var i = 0
        for j in range {
            if lower(p[j]) != l[i] { return false }
            i += 1
        }
        return true
    }
}
