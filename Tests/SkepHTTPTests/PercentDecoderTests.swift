import Testing
@testable import SkepHTTP

@Suite struct PercentDecoderTests {
    func dec(_ s: String, _ mode: PercentDecoder.EncodedSlashes = .decode) -> Result<PercentDecoder.Decoded, PercentDecoder.Failure> {
        PercentDecoder.decode(s, encodedSlashes: mode)
    }

    @Test func decodes() throws {
        #expect(try dec("/a%20b").get().string == "/a b")
        #expect(try dec("/%61/x.txt").get().string == "/a/x.txt")
        #expect(try dec("/%e9").get().bytes == [0x2F, 0xE9])
        #expect(try dec("/%C3%A9").get().string == "/é")
        #expect(try dec("/plain").get().containsEncodedSlash == false)
        #expect(try dec("").get().bytes == [])
    }

    @Test func invalidEscapes() {
        // Apache: 400 for each.
        for s in ["/a%zz", "/a%2", "/a%", "/%g0", "/%0g", "/%%41"] {
            #expect(dec(s) == .failure(.invalidEscape), "\(s)")
            #expect(PercentDecoder.Failure.invalidEscape.status == .badRequest)
        }
        // An invalid escape wins over %00, as in Apache's unescape_url.
        #expect(dec("/%00/%zz") == .failure(.invalidEscape))
    }

    @Test func encodedNUL() {
        // Apache: 404.
        #expect(dec("/a%00b") == .failure(.encodedNUL))
        #expect(dec("/a/x.txt%00") == .failure(.encodedNUL))
        #expect(PercentDecoder.Failure.encodedNUL.status == .notFound)
    }

    @Test func encodedSlash() throws {
        let d = try dec("/a%2Fx.txt").get()
        #expect(d.string == "/a/x.txt")
        #expect(d.containsEncodedSlash)
        #expect(try dec("/a%2fx").get().containsEncodedSlash)
        let k = try dec("/a%2Fx%20y", .keep).get()
        #expect(k.string == "/a%2Fx y")
        #expect(!k.containsEncodedSlash)
    }
}
