import Testing
@testable import SkepMPM

/// The start, stop and restart notices carry each Apache MPM's own message numbers
/// (prefork.c, worker.c, event.c of 2.4.62), so log watchers that match them still do.
struct MessageNumberTests {
    @Test func numbersPerMPM() {
        #expect(MPMKind.prefork.messageNumbers == ("AH00163", "AH00169", "AH00170", "AH00171", "AH00173"))
        #expect(MPMKind.worker.messageNumbers == ("AH00292", "AH00295", "AH00296", "AH00297", "AH00298"))
        #expect(MPMKind.event.messageNumbers == ("AH00489", "AH00491", "AH00492", "AH00493", "AH00494"))
    }
}
