import Testing
@testable import SkepHTTP

@Suite struct RequestPathTests {
    func code(_ s: String, _ mode: RequestPath.EncodedSlashes = .off) -> Int? {
        if case .failure(let f) = RequestPath.resolve(s, encodedSlashes: mode) { return f.status.code }
        return nil
    }

    func path(_ s: String, _ mode: RequestPath.EncodedSlashes = .off) -> String? {
        try? RequestPath.resolve(s, encodedSlashes: mode).get().string
    }

    @Test func apacheAnswers() {
        // Each line: what Apache 2.4.71 did with the same path.
        #expect(path("/%61/x.txt") == "/a/x.txt")  // 200
        #expect(path("/a/%2e%2e/index.html") == "/index.html")  // 200
        #expect(path("/a/.%2e/index.html") == "/index.html")  // 200
        #expect(path("/./index.html") == "/index.html")  // 200
        #expect(path("//index.html") == "/index.html")  // 200
        #expect(path("/a/..") == "/")  // 200
        #expect(path("/a%20b") == "/a b")
        #expect(code("/a%00b") == 404)
        #expect(code("/a%2Fx.txt") == 404)
        #expect(code("/a%2fx.txt") == 404)
        #expect(code("/a/..%2f..%2findex.html") == 404)
        #expect(code("/a%zz") == 400)
        #expect(code("/a%2") == 400)
        #expect(code("/a%") == 400)
        #expect(code("/../index.html") == 400)
        #expect(code("/a/../../index.html") == 400)
        #expect(code("/..") == 400)
        #expect(code("/%2e%2e/index.html") == 400)
    }

    @Test func allowEncodedSlashes() {
        #expect(path("/a%2Fx.txt", .on) == "/a/x.txt")
        // Decoded slashes can form new dot segments: normalised again, clamped at the root.
        #expect(path("/a/..%2f..%2findex.html", .on) == "/index.html")
        #expect(path("/a%2F..%2F..%2F..%2Fetc", .on) == "/etc")
        #expect(path("/a%2Fx.txt", .noDecode) == "/a%2Fx.txt")
        #expect(path("/a%2Fx%20y", .noDecode) == "/a%2Fx y")
    }
}
