import Glibc
import Testing
@testable import SkepSystem

@Suite struct SystemClockTests {
    @Test func monotonicAdvancesAcrossSleep() {
        let start = SystemClock.monotonicNanoseconds()
        SystemClock.sleep(milliseconds: 20)
        let elapsed = SystemClock.monotonicNanoseconds() - start
        #expect(elapsed >= 20_000_000)
    }

    @Test func realtimeMatchesTime() {
        let now = SystemClock.now()
        let seconds = Int64(time(nil))
        #expect(abs(now.seconds - seconds) <= 1)
        #expect(now.nanoseconds >= 0 && now.nanoseconds < 1_000_000_000)
        #expect(Timestamp(seconds: 1, nanoseconds: 5).description == "1.000000005")
        #expect(Timestamp(seconds: 1, nanoseconds: 5) < Timestamp(seconds: 1, nanoseconds: 6))
        #expect(Timestamp(seconds: 2, nanoseconds: 500_000_000).microseconds == 2_500_000)
    }
}
