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

    /// The shortcut for plain paths answers exactly what both passes answer, and is not
    /// taken where either pass would change something.
    @Test func plainPathsTakeTheShortcutWithTheSameResult() throws {
        let plain = ["/", "/index.html", "/a/b.c/d-e_f~g", "/static/1k.bin", "/a.b/c.", "/x y/ü", "/a/b/"]
        let notPlain = ["/a//b", "/./a", "/a/.", "/a/..", "/a/.hidden", "/a%20b", "/%2e%2e/x", "a/b", ""]
        for raw in plain {
            let bytes = Array(raw.utf8)
            #expect(bytes.withUnsafeBufferPointer { RequestPath.isPlain($0) }, "\(raw)")
            let full = try? RequestPath.resolveInFull(bytes, encodedSlashes: .off, mergeSlashes: true).get()
            #expect(full?.bytes == bytes, "\(raw)")
            #expect(try RequestPath.resolve(bytes).get() == full)
        }
        for raw in notPlain {
            #expect(!Array(raw.utf8).withUnsafeBufferPointer { RequestPath.isPlain($0) }, "\(raw)")
        }
    }
}
