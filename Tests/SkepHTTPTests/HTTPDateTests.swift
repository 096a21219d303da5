import Testing
@testable import SkepHTTP

@Suite struct HTTPDateTests {
    @Test func formatsKnownTimestamps() {
        #expect(HTTPDate(secondsSince1970: 0).description == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate(secondsSince1970: 784111777).description == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate(secondsSince1970: 951782400).description == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate(secondsSince1970: 1_700_000_000).description == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(HTTPDate(secondsSince1970: 2_147_483_647).description == "Tue, 19 Jan 2038 03:14:07 GMT")
        #expect(HTTPDate(secondsSince1970: 4_102_444_800).description == "Fri, 01 Jan 2100 00:00:00 GMT")
        #expect(HTTPDate(secondsSince1970: -1).description == "Wed, 31 Dec 1969 23:59:59 GMT")
        // Taken from Apache 2.4.71's own response headers on this machine.
        #expect(HTTPDate(secondsSince1970: 1_795_389_003).description == "Sun, 22 Nov 2026 23:10:03 GMT")
    }

    @Test func civilRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = HTTPDate.civil(fromDays: days)
            #expect(HTTPDate.days(fromCivil: y, m, d) == days)
        }
    }

    @Test func parsesTheThreeFormats() {
        let t: Int64 = 784111777
        #expect(HTTPDate("Sun, 06 Nov 1994 08:49:37 GMT")?.secondsSince1970 == t)
        #expect(HTTPDate("Sunday, 06-Nov-94 08:49:37 GMT")?.secondsSince1970 == t)
        #expect(HTTPDate("Sun Nov  6 08:49:37 1994")?.secondsSince1970 == t)
        #expect(HTTPDate("Sun Nov 06 08:49:37 1994")?.secondsSince1970 == t)
        #expect(HTTPDate("Thursday, 01-Jan-15 00:00:00 GMT")?.secondsSince1970 == 1_420_070_400)  // 2-digit year < 70 is 20xx
        #expect(HTTPDate("Thu, 29 Feb 2024 12:00:00 GMT") != nil)
    }

    @Test func roundTrip() {
        for s in stride(from: Int64(0), to: 4_000_000_000, by: 12_345_679) {
            let d = HTTPDate(secondsSince1970: s)
            #expect(HTTPDate(d.description) == d)
        }
    }

    @Test func rejectsMalformed() {
        for s in ["", "garbage", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun,  06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
                  "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                  "Sun, 29 Feb 2023 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                  "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49:37 94", "Sun, 06 nov 1994 08:49:37 GMT",
                  "S1n, 06 Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT"] {
            #expect(HTTPDate(s) == nil, "\(s)")
        }
    }

    @Test func cacheFormatsOncePerSecond() {
        let cache = HTTPDateCache()
        #expect(String(decoding: cache.value(at: 784111777), as: UTF8.self) == "Sun, 06 Nov 1994 08:49:37 GMT")
        for _ in 0..<1000 { _ = cache.value(at: 784111777) }
        #expect(cache.formatCount == 1)
        var buf: [UInt8] = Array("Date: ".utf8)
        cache.append(at: 784111778, to: &buf)
        #expect(String(decoding: buf, as: UTF8.self) == "Date: Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(cache.formatCount == 2)
        cache.append(at: 784111778, to: &buf)
        #expect(cache.formatCount == 2)
        _ = cache.value(at: 784111777)  // a clock stepping back is reformatted too
        #expect(cache.formatCount == 3)
    }
}
