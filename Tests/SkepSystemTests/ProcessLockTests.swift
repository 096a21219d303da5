import CSkepSystem
import Glibc
import Testing
@testable import SkepSystem
import SkepTestSupport

// Forked children of this multi-threaded test process call only async-signal-safe
// functions: fcntl, _exit.
@Suite struct ProcessLockTests {
    /// A child forked while the parent holds the lock cannot take it through the inherited
    /// descriptor (record locks are per process), and can once the parent let it go.
    @Test func excludesOtherProcesses() throws {
        let lock = try ProcessLock()
        func childCanLock() throws -> Bool {
            switch try Process.fork() {
            case .child:
                Process.exit(cskep_lock_whole_file(lock.descriptor.rawValue, 0) == 0 ? 0 : 1)
            case .parent(let pid):
                return try #require(try waitForChild(pid)) == .exited(code: 0)
            }
        }
        let whileHeld = try lock.withLock { try childCanLock() }
        #expect(!whileHeld)
        #expect(try childCanLock())
    }

    @Test func aReapedProcessIsNeverSignalled() throws {
        switch try Process.fork() {
        case .child:
            Process.exit(0)
        case .parent(let pid):
            let handle = ProcessHandle(pid)
            defer { handle.close() }
            #expect(handle.descriptor != nil)
            #expect(try waitForChild(pid) == .exited(code: 0))
            // The pid may name another process by now; the handle does not reach it.
            try handle.send(.terminate)
        }
    }
}
