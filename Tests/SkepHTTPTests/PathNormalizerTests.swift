import Testing
@testable import SkepHTTP

@Suite struct PathNormalizerTests {
    func n(_ s: String, merge: Bool = true) -> String? { PathNormalizer.normalize(s, mergeSlashes: merge) }

    @Test func removesDotSegments() {
        #expect(n("/./index.html") == "/index.html")
        #expect(n("/a/./../a/x.txt") == "/a/x.txt")
        #expect(n("/a/..") == "/")
        #expect(n("/a/../") == "/")
        #expect(n("/.") == "/")
        #expect(n("/a/.") == "/a/")
        #expect(n("/a/x.txt/..") == "/a/")
        #expect(n("/a/b/c/../../d") == "/a/d")
        #expect(n("/a/...") == "/a/...")
        #expect(n("/a/..b/.c") == "/a/..b/.c")
        #expect(n("/") == "/")
        #expect(n("") == "/")
    }

    @Test func mergesSlashes() {
        #expect(n("//index.html") == "/index.html")
        #expect(n("/a//x.txt") == "/a/x.txt")
        #expect(n("/a///b//") == "/a/b/")
        #expect(n("/a//x.txt", merge: false) == "/a//x.txt")
    }

    @Test func decodesUnreservedFirst() {
        #expect(n("/a/%2e%2e/index.html") == "/index.html")
        #expect(n("/a/.%2e/index.html") == "/index.html")
        #expect(n("/a/%2E/x.txt") == "/a/x.txt")
        #expect(n("/%61/x") == "/a/x")
        #expect(n("/%7e%5F%2d") == "/~_-")
        // Reserved and other characters stay encoded; invalid escapes are left alone.
        #expect(n("/a%2Fb%20c%zz") == "/a%2Fb%20c%zz")
    }

    @Test func neverAboveRoot() {
        // Apache: 400 for each.
        for s in ["/..", "/../index.html", "/a/../../index.html", "/%2e%2e/index.html", "/./../x", "//../x", "/a/%2E%2E/.."] {
            #expect(n(s) == nil, "\(s)")
        }
    }
}
