import Testing
import SkepConfig
@testable import SkepServer
import SkepSystem

/// mod_headers' and mod_expires' parsing and arithmetic without sockets. Their answers
/// on the wire are checked against Apache in `HeadersDifferentialTests`.
@Suite struct HeadersModuleTests {
    func parse(_ line: String, request: Bool = false) throws -> (HeaderTable, HeaderEntry) {
        let words = line.split(separator: " ").map(String.init)
        return try HeaderEntry.parse(words, directive: request ? "RequestHeader" : "Header", request: request)
    }

    func refusal(_ line: String, request: Bool = false) -> String? {
        do {
            _ = try parse(line, request: request)
            return nil
        } catch {
            return (error as? HeaderParseError)?.message
        }
    }

    @Test func everyActionAndCondition() throws {
        let cases: [(String, HeaderTable)] = [
            ("set X a", .onSuccess), ("onsuccess append X a", .onSuccess), ("always add X a", .always),
            ("ALWAYS merge X a", .always), ("setifempty X a", .onSuccess), ("unset X", .onSuccess),
            ("unset X env=foo", .onSuccess), ("echo ^X-", .onSuccess), ("edit X a b", .onSuccess),
            ("edit* X a b early", .onSuccess), ("note X name", .onSuccess),
        ]
        for (line, table) in cases {
            let (t, _) = try parse(line)
            #expect(t == table, "\(line)")
        }
        #expect(try parse("set X a", request: true).0 == .request)
        if case .environment(let name, let negated) = try parse("set X a env=!foo").1.condition {
            #expect(name == "foo" && negated)
        } else {
            Issue.record("env=!foo")
        }
        #expect(try parse("set X a early").1.isEarly)
        if case .expression = try parse("set X a expr=true").1.condition {} else { Issue.record("expr=") }
        #expect(try parse("set X-Name:rest a").1.header == "X-Name")
    }

    @Test func refusalsInApachesWords() {
        #expect(refusal("bogus X a")?.hasPrefix("first argument must be") == true)
        #expect(refusal("set X") == "Header requires three arguments")
        #expect(refusal("set X a b c") == "Too many arguments to directive")
        #expect(refusal("set X a b c d") == "Header has too many arguments")
        #expect(refusal("set X a env=") == "error: missing environment variable name. envclause should be in the form env=envar ")
        #expect(refusal("set X a other") == "Unknown parameter: other")
        #expect(refusal("edit X a") == "Header edit requires a match and a substitution")
        #expect(refusal("edit X ( b") == "Header edit regex could not be compiled")
        #expect(refusal("unset X a b") == "header unset takes two arguments")
        #expect(refusal("echo X a b") == "Header echo takes two arguments")
        #expect(refusal("echo X", request: true) == "Header echo only valid on Header directives")
        #expect(refusal("set X %Z") == "Unrecognized header format %Z")
        #expect(refusal("set X a expr=%{NOPE}")?.hasPrefix("Can't parse envclause/expression: ") == true)
    }

    @Test func formatTags() throws {
        let format = try HeaderFormat.parse(#"a\tb\nc\\d\qe %% %{V}e %{S}s end%"#)
        #expect(format.tags == [.literal("a\tb\nc\\d\\qe % "), .environment("V"), .literal(" "), .ssl("S"), .literal(" end%")])
        #expect(try HeaderFormat.parse("%D%t%l%i%b").tags == [.duration, .requestTime, .loadAverage, .idleWorkers, .busyWorkers])
        #expect(HeaderFormat.unwrapped("a\r\nb") == "a  b")
    }

    @Test func tableOperationsAsAPRs() {
        var t = HeaderFields([("A", "1"), ("b", "2"), ("a", "3")])
        t.set("a", "x")
        #expect(t.fields.map { "\($0.name)=\($0.value)" } == ["A=x", "b=2"])
        t.merge("B", "3")
        #expect(t.get("b") == "2, 3")
        t.mergeToken("b", "3")
        #expect(t.get("b") == "2, 3")
        t.mergeToken("b", "\"q, r\"")
        #expect(t.get("b") == "2, 3, \"q, r\"")
        t.mergeToken("b", "\"q, r\"")
        #expect(t.get("b") == "2, 3, \"q, r\"")
        t.unset("B")
        #expect(t.get("b") == nil)
        #expect(HeaderFields.merged([("X", "1"), ("x", "2")]).fields.map(\.value) == ["1, 2"])
    }

    @Test func editFirstAndEveryMatch() throws {
        let words = try PCRERegex(#"(\w+)-(\w+)"#)
        #expect(HeadersFixup.edit("ab-cd ef-gh", words, "$2+$1", all: false) == "cd+ab ef-gh")
        #expect(HeadersFixup.edit("ab-cd ef-gh", words, "$2+$1", all: true) == "cd+ab gh+ef")
        #expect(HeadersFixup.edit("none", words, "x", all: true) == "none")
        // Empty matches step one byte on; none is tried at the very end (Apache stops there).
        #expect(HeadersFixup.edit("abc", try PCRERegex("x*"), "-", all: true) == "-a-b-c")
        #expect(HeadersFixup.edit("xxab", try PCRERegex("x*"), "-", all: true) == "--a-b")
    }

    @Test func expiresCodes() throws {
        #expect(try ExpiresCode.parse("access plus 1 month") == ExpiresCode(base: .access, seconds: 2_592_000))
        #expect(try ExpiresCode.parse("now plus 1 week 2 days") == ExpiresCode(base: .access, seconds: 777_600))
        #expect(try ExpiresCode.parse("modification plus 2 hours 30 minutes") == ExpiresCode(base: .modification, seconds: 9000))
        #expect(try ExpiresCode.parse("m 1 y 1 s") == ExpiresCode(base: .modification, seconds: 31_536_001))
        #expect(try ExpiresCode.parse("A2592000") == ExpiresCode(base: .access, seconds: 2_592_000))
        #expect(try ExpiresCode.parse("M604800") == ExpiresCode(base: .modification, seconds: 604_800))
        // Apache reads a leading capital A or M as the short form.
        #expect(try ExpiresCode.parse("Access plus 1 day") == ExpiresCode(base: .access, seconds: 0))
        for bad in ["later plus 1 day", "access plus one day", "access plus 1", "access plus 1 fortnight", ""] {
            #expect(throws: ExpiresCode.Failure.self, "\(bad)") { try ExpiresCode.parse(bad) }
        }
    }

    @Test func expiryArithmetic() {
        let request = Timestamp(seconds: 1_000_000, nanoseconds: 600_000_000)
        let month = ExpiresCode(base: .access, seconds: 2_592_000)
        #expect(month.expiry(requestTime: request, modified: nil)! == (1_000_000 + 2_592_000, 2_592_000))
        let twoHours = ExpiresCode(base: .modification, seconds: 7200)
        #expect(twoHours.expiry(requestTime: request, modified: nil) == nil)
        let modified = Timestamp(seconds: 999_000, nanoseconds: 0)
        // 999000 + 7200 - 1000000.6 = 6199.4: max-age 6199, Expires the modification's.
        #expect(twoHours.expiry(requestTime: request, modified: modified)! == (1_006_200, 6199))
        // Past already: the request's time, max-age 0.
        let old = Timestamp(seconds: 1, nanoseconds: 0)
        #expect(twoHours.expiry(requestTime: request, modified: old)! == (1_000_000, 0))
    }

    @Test func expiresByTypeAndWildcards() throws {
        var c = ExpiresConfig()
        c.byDefault = ExpiresCode(base: .access, seconds: 1)
        c.byType = [("text/plain", ExpiresCode(base: .access, seconds: 2)), ("image/*", ExpiresCode(base: .access, seconds: 3))]
        #expect(c.code(for: "text/plain; charset=utf-8")?.seconds == 2)
        #expect(c.code(for: "image/png")?.seconds == 1)
        c.wildcards = true
        #expect(c.code(for: "image/png")?.seconds == 3)
        #expect(c.code(for: "text/html")?.seconds == 1)
        #expect(c.code(for: nil)?.seconds == 1)
        // A nested scope without a wildcard line forgets the flag, as Apache's merge.
        let nested = c.merged(with: ExpiresConfig())
        #expect(nested.code(for: "image/png")?.seconds == 1)
    }
}
