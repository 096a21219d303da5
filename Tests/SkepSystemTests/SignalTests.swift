import Glibc
import Testing
@testable import SkepSystem

@Suite struct SignalTests {
    @Test func namesMatchGlibc() {
        #expect(Signal.segmentationFault.description == "Segmentation fault")
        #expect(Signal.segmentationFault.name == "SIGSEGV")
        #expect(Signal.terminate.description == "Terminated")
        #expect(Signal.terminate.name == "SIGTERM")
        #expect(Signal.windowChange.name == "SIGWINCH")
        #expect(Signal.hangup.name == "SIGHUP")
        #expect(Signal.user1.name == "SIGUSR1")
        for number in Int32(1)...64 {
            let expected = String(cString: strsignal(number))
            #expect(Signal(number).description == expected, "signal \(number)")
        }
    }

    @Test func setOperations() {
        var set: SignalSet = [.terminate, .hangup]
        #expect(set.contains(.terminate))
        #expect(!set.contains(.user1))
        set.insert(.user1)
        set.remove(.hangup)
        #expect(set.signals == [.user1, .terminate])
        #expect(SignalSet.empty.signals.isEmpty)
        #expect(SignalSet.all.contains(.windowChange))
    }

    @Test func signalFDReceivesBlockedSignalSentToSelf() throws {
        // raise() targets this thread only; with SIGUSR1 blocked here it stays pending for
        // the signalfd and no other test thread is affected.
        let previous = try SignalMask.block([.user1])
        defer { _ = try? SignalMask.set(previous) }
        #expect(try SignalMask.current().contains(.user1))
        let fd = try SignalFD(signals: [.user1])
        defer { fd.close() }
        #expect(try fd.read() == nil)
        try Signal.user1.raise()
        #expect(try fd.descriptor.wait(for: .readable, timeoutMilliseconds: 10_000).contains(.readable))
        let info = try #require(try fd.read())
        #expect(info.signal == .user1)
        #expect(info.senderPID == Process.id)
        #expect(info.senderUID == getuid())
        #expect(try fd.read() == nil)
        #expect(try !SignalMask.pending().contains(.user1))
    }

    @Test func ignoreAndRestore() throws {
        // SIGURG's default is to ignore, so flipping it is harmless to other tests.
        let urgent = Signal(SIGURG)
        try urgent.ignore()
        #expect(urgent.isIgnored)
        try urgent.restoreDefault()
        #expect(!urgent.isIgnored)
    }
}
