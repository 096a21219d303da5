import Testing
@testable import SkepHTTP

@Suite struct ByteClassTests {
    @Test func tokenBitmapMatchesRFC9110() {
        let tchar = Set(Array("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8))
        for b in 0...255 {
            #expect(ByteClass.isToken(UInt8(b)) == tchar.contains(UInt8(b)), "byte \(b)")
        }
    }

    @Test func swarValueCheckMatchesByteCheck() {
        // Every byte value in every lane: the eight-byte test must say "plain" exactly when
        // all eight bytes are allowed in a value and none is HT.
        for b in 0...255 {
            for lane in 0..<8 {
                var w = [UInt8](repeating: 0x61, count: 8)
                w[lane] = UInt8(b)
                let plain = w.withUnsafeBytes { ByteClass.eightPlainValueBytes($0.baseAddress!, 0) }
                let expected = w.allSatisfy { ByteClass.isFieldValue($0) && $0 != 0x09 }
                #expect(plain == expected, "byte \(b) lane \(lane)")
            }
        }
    }
}
