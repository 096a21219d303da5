import Testing
@testable import SkepScoreboard

/// The fixed layout: every record's words fit in its slot, so adding a field cannot
/// spill into the next process's record.
struct ScoreboardLayoutTests {
    @Test func wordsFitTheirSlots() {
        #expect(Layout.processWords * MemoryLayout<Int>.size <= Layout.processSize)
        #expect(Layout.processSize % 64 == 0, "process slots start on a cache line")
    }
}
