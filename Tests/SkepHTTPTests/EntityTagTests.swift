import Testing
@testable import SkepHTTP

@Suite struct EntityTagTests {
    let tag = EntityTag("3e8-660e5935bfaad")

    @Test func parsing() {
        #expect(EntityTag(parsing: "\"abc\"") == EntityTag("abc"))
        #expect(EntityTag(parsing: "W/\"abc\"") == EntityTag("abc", weak: true))
        #expect(EntityTag(parsing: "abc") == nil)
        #expect(EntityTag(parsing: "\"a\"b\"") == nil)
        #expect(EntityTag("abc", weak: true).description == "W/\"abc\"")
    }

    @Test func ifNoneMatchIsWeak() {
        // Apache 2.4.71: 304 for these...
        for v in ["\"3e8-660e5935bfaad\"", "W/\"3e8-660e5935bfaad\"", "*", "\"x\", \"3e8-660e5935bfaad\"", "\"x\",\"3e8-660e5935bfaad\""] {
            #expect(tag.isMatched(byList: v, .weak), "\(v)")
        }
        // ...200 for these.
        for v in ["\"x\"", "\"3e8-660e5935bfaad \"", "", "3e8-660e5935bfaad", "\"3e8-660e5935bfaad"] {
            #expect(!tag.isMatched(byList: v, .weak), "\(v)")
        }
    }

    @Test func ifMatchIsStrong() {
        // Apache 2.4.71: 200 for these...
        for v in ["\"3e8-660e5935bfaad\"", "*", "\"x\", \"3e8-660e5935bfaad\""] {
            #expect(tag.isMatched(byList: v, .strong), "\(v)")
        }
        // ...412 for these.
        for v in ["W/\"3e8-660e5935bfaad\"", "\"x\""] {
            #expect(!tag.isMatched(byList: v, .strong), "\(v)")
        }
        // A weak tag never matches strongly.
        #expect(!EntityTag("a", weak: true).isMatched(byList: "\"a\"", .strong))
        #expect(EntityTag("a", weak: true).isMatched(byList: "\"a\"", .weak))
        #expect(EntityTag("a").matches(EntityTag("a"), .strong))
        #expect(!EntityTag("a").matches(EntityTag("a", weak: true), .strong))
        #expect(EntityTag("a").matches(EntityTag("a", weak: true), .weak))
    }

    @Test func commasInsideTags() {
        #expect(EntityTag("a,b").isMatched(byList: "\"x\", \"a,b\"", .strong))
        #expect(!EntityTag("b").isMatched(byList: "\"a,b\"", .strong))
    }
}
