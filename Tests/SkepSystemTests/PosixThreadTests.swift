import Glibc
import Testing
@testable import SkepSystem

@Suite struct PosixThreadTests {
    @Test func runsAndJoins() throws {
        let result = Box<(pid_t, String)>((0, ""))
        let thread = try PosixThread.spawn(name: "skep-test-worker-long-name", stackSize: 256 * 1024) {
            result.value = (Process.threadID, PosixThread.currentName)
        }
        thread.join()
        thread.join()
        #expect(result.value.0 > 0)
        #expect(result.value.0 != Process.threadID)
        #expect(result.value.1 == "skep-test-worke")
    }
}
