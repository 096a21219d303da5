/// Byte classes of RFC 9110/9112 used by the parsers, as switch-based inline predicates.
///
/// Why: the request path must not allocate or hash; a switch over a byte compiles to a
/// table or range checks.
@usableFromInline
enum ByteClass {
    /// `tchar`: the characters of a method or header-field name token.
    @inlinable @inline(__always)
    static func isToken(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true  // DIGIT ALPHA
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E:
            true  // ! # $ % & ' * + - . ^ _ ` | ~
        default: false
        }
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
    @inlinable
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
