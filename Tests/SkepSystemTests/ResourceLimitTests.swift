import Glibc
import Testing
@testable import SkepSystem

@Suite struct ResourceLimitTests {
    @Test func openFilesRoundTrip() throws {
        let original = try ResourceLimit.get(.openFiles)
        #expect(original.soft <= original.hard)
        #expect(original.soft > 0)
        try ResourceLimit.set(.openFiles, original)
        #expect(try ResourceLimit.get(.openFiles) == original)
        let raised = try ResourceLimit.raiseSoftToHard(.openFiles)
        #expect(raised.soft == original.hard)
        try ResourceLimit.set(.openFiles, original)
        #expect(try ResourceLimit.get(.openFiles) == original)
    }

    @Test func coreRoundTrip() throws {
        let original = try ResourceLimit.get(.coreFileSize)
        try ResourceLimit.set(.coreFileSize, ResourceLimit(soft: 0, hard: original.hard))
        #expect(try ResourceLimit.get(.coreFileSize).soft == 0)
        try ResourceLimit.set(.coreFileSize, original)
        #expect(try ResourceLimit.get(.coreFileSize) == original)
    }
}
