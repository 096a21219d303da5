import Testing
@testable import SkepHTTP

@Suite struct ByteRangesTests {
    func r(_ s: String, size: Int64 = 1000) -> ByteRanges { ByteRanges.evaluate(s, size: size) }

    @Test func singleRanges() {
        // Apache 2.4.71 on a 1000-byte file.
        #expect(r("bytes=0-99") == .ranges([0...99]))
        #expect(r("bytes=-100") == .ranges([900...999]))
        #expect(r("bytes=900-") == .ranges([900...999]))
        #expect(r("bytes=999-2000") == .ranges([999...999]))
        #expect(r("bytes=-2000") == .ranges([0...999]))
        #expect(r("bytes=-1000") == .ranges([0...999]))
        #expect(r("bytes=0-") == .ranges([0...999]))
        #expect(r("bytes=0-999") == .ranges([0...999]))
        #expect(r("bytes=1-") == .ranges([1...999]))
        #expect(r("Bytes=0-1") == .ranges([0...1]))
        #expect(r("bytes=00-01") == .ranges([0...1]))
        #expect(r("bytes=0-1,") == .ranges([0...1]))
    }

    @Test func multipleAndMerging() {
        #expect(r("bytes=0-0,2-2") == .ranges([0...0, 2...2]))
        #expect(r("bytes=0-10,5-20") == .ranges([0...20]))
        #expect(r("bytes=0-10,11-20") == .ranges([0...20]))
        #expect(r("bytes=0-10,12-20") == .ranges([0...10, 12...20]))
        #expect(r("bytes=20-30,0-10") == .ranges([20...30, 0...10]))
        #expect(r("bytes=20-30,0-25") == .ranges([0...30]))
        #expect(r("bytes=0-1,,2-3") == .ranges([0...3]))
        #expect(r("bytes=0-0,-1") == .ranges([0...0, 999...999]))
        #expect(r("bytes=0-1,0-1") == .ranges([0...1]))
        #expect(r("bytes=-1,-1") == .ranges([999...999]))
        #expect(r("bytes=0-499,-500") == .ranges([0...999]))
        #expect(r("bytes=500-,0-") == .ranges([0...999]))
        #expect(r("bytes=0-1,3-") == .ranges([0...1, 3...999]))
        #expect(r("bytes=10-20,0-5,4-8") == .ranges([10...20, 0...8]))
        #expect(r("bytes=0-0,1-1") == .ranges([0...1]))
        #expect(r("bytes=0-0,2-2,4-4,1-1") == .ranges([0...0, 2...2, 4...4, 1...1]))
        #expect(r("bytes=0-600,500-999,0-0") == .ranges([0...999]))
        #expect(r("bytes=0-1,1000-") == .ranges([0...1]))
    }

    @Test func unsatisfiable() {
        #expect(r("bytes=1000-") == .unsatisfiable)
        #expect(r("bytes=1000-1000") == .unsatisfiable)
        #expect(r("bytes=1000-1001,2000-") == .unsatisfiable)
    }

    @Test func ignored() {
        for s in ["bytes=abc", "bytes=5-1", "bytes=-0", "bytes=", "items=0-1", "bytes= 0-1", "bytes=0 - 1", "bytes=0-1, 3-4",
                  "bytes=0-1 ,3-4", "bytes=+1-2", "bytes=1-2,abc", "bytes=5-1,0-1", "bytes=,0-1", "bytes=0-1,-", "bytes=-",
                  "bytes = 0-1", "bytes=999999999999999999999-", "bytes=0-99999999999999999999999", "bytes", ""] {
            #expect(r(s) == .ignored, "\(s)")
        }
        #expect(r("bytes=0-1", size: 0) == .ignored)
    }

    @Test func limits() {
        // MaxRanges 200: 200 disjoint ranges pass, 201 make Apache ignore the header.
        let two00 = "bytes=" + (0..<200).map { "\($0 * 2)-\($0 * 2)" }.joined(separator: ",")
        let two01 = "bytes=" + (0..<201).map { "\($0 * 2)-\($0 * 2)" }.joined(separator: ",")
        if case .ranges(let rs) = r(two00) { #expect(rs.count == 200) } else { Issue.record("200 ranges") }
        #expect(r(two01) == .ignored)
        // MaxRangeOverlaps 20: 21 overlapping ranges (20 merges) pass, 22 do not.
        #expect(r("bytes=" + (0..<21).map { "0-\($0)" }.joined(separator: ",")) == .ranges([0...20]))
        #expect(r("bytes=" + (0..<22).map { "0-\($0)" }.joined(separator: ",")) == .ignored)
        // Disjoint ranges in reverse order are not reversals (Apache served 22 of them).
        if case .ranges(let rs) = r("bytes=" + (0..<22).map { "\(100 - $0 * 2)-\(100 - $0 * 2)" }.joined(separator: ",")) {
            #expect(rs.count == 22)
        } else { Issue.record("reversed") }
        // MaxRangeReversals: merges extending a range backwards.
        let rev = "bytes=100-100," + (1...21).map { "\(100 - $0)-\(100 - $0)" }.joined(separator: ",")
        #expect(r(rev) == .ignored)
        #expect(ByteRanges.evaluate(Array(rev.utf8), size: 1000, maxOverlaps: 100, maxReversals: 100) == .ranges([79...100]))
    }

    /// Range values at the edges of Int64 on a huge (sparse) representation: the running
    /// total of the lengths never overflows, and a total above the size is ignored.
    @Test func hugeValues() {
        let max = Int64.max
        // One range of the whole representation, however it is written.
        #expect(r("bytes=0-\(max)", size: max) == .ranges([0...(max - 1)]))
        #expect(r("bytes=-\(max)", size: max) == .ranges([0...(max - 1)]))
        #expect(r("bytes=\(max - 1)-", size: max) == .ranges([(max - 1)...(max - 1)]))
        #expect(r("bytes=\(max)-", size: max) == .unsatisfiable)
        #expect(r("bytes=1-\(max)", size: max) == .ranges([1...(max - 1)]))
        // Two disjoint ranges that together exceed the size (and Int64, if added blindly).
        #expect(r("bytes=2-,0-0,2-,0-0", size: max) == .ignored)
        #expect(r("bytes=2-,0-0", size: max) == .ranges([2...(max - 1), 0...0]))
        #expect(r("bytes=-\(max),0-0,2-", size: max) == .ranges([0...(max - 1)]))
        // Many large ranges: the sum passes Int64.max after a few items.
        let many = "bytes=" + Array(repeating: "2-,0-0", count: 100).joined(separator: ",")
        #expect(r(many, size: max) == .ignored)
        #expect(r(many, size: max - 1) == .ignored)
        // Disjoint ranges whose total is exactly the size are served.
        #expect(r("bytes=0-\(max / 2 - 1),\(max / 2 + 1)-", size: max) == .ranges([0...(max / 2 - 1), (max / 2 + 1)...(max - 1)]))
        // One past Int64 is not a number: the header is ignored.
        #expect(r("bytes=0-9223372036854775808", size: max) == .ignored)
        #expect(r("bytes=-9223372036854775808", size: max) == .ignored)
        #expect(ByteRanges.adding(max, to: 1, within: max) == nil)
        #expect(ByteRanges.adding(max - 1, to: 1, within: max) == max)
    }
}
