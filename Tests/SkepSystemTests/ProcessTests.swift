import Glibc
import Testing
@testable import SkepSystem
import SkepTestSupport

// Forked children of this multi-threaded test process call only async-signal-safe
// functions: sigaction, setrlimit, kill, stores to shared memory, _exit.
@Suite struct ProcessTests {
    @Test func childExitCodeIsDecoded() throws {
        switch try Process.fork() {
        case .child:
            Process.exit(3)
        case .parent(let pid):
            let status = try #require(try waitForChild(pid))
            #expect(status == .exited(code: 3))
            #expect(status.description == "exit status 3")
            #expect(!status.isSuccess)
        }
    }

    @Test func childKilledBySegfaultIsDecoded() throws {
        switch try Process.fork() {
        case .child:
            _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), [rlimit(rlim_cur: 0, rlim_max: 0)])
            _ = try? Signal(SIGSEGV).restoreDefault()
            _ = Glibc.kill(getpid(), SIGSEGV)
            Process.exit(99)
        case .parent(let pid):
            let status = try #require(try waitForChild(pid))
            guard case .signaled(let signal, _) = status else {
                Issue.record("expected a signal, got \(status)")
                return
            }
            #expect(signal.rawValue == 11)
            #expect(signal.description == "Segmentation fault")
            #expect(status.description.hasPrefix("exit signal Segmentation fault (11)"))
        }
    }

    @Test func statusDecoding() {
        #expect(ExitStatus(rawStatus: 0) == .exited(code: 0))
        #expect(ExitStatus(rawStatus: 3 << 8) == .exited(code: 3))
        #expect(ExitStatus(rawStatus: 11 | 0x80) == .signaled(.segmentationFault, coreDumped: true))
        #expect(ExitStatus(rawStatus: 15) == .signaled(.terminate, coreDumped: false))
        #expect(ExitStatus(rawStatus: 0x137f) == .stopped(Signal(19)))
        #expect(ExitStatus(rawStatus: 0xffff) == .continued)
    }

    @Test func sharedMappingWrittenByChildIsSeenByParent() throws {
        let memory = try SharedMemory.anonymous(size: 100)
        defer { try? memory.unmap() }
        #expect(memory.size == SharedMemory.pageSize)
        #expect(memory.bytes.allSatisfy { $0 == 0 })
        memory.baseAddress.storeBytes(of: 1, as: UInt64.self)
        switch try Process.fork() {
        case .child:
            let slot = memory.baseAddress.assumingMemoryBound(to: UInt64.self)
            slot[1] = slot[0] + 0xC0FFEE
            memory.bytes[memory.size - 1] = 0x5A
            Process.exit(0)
        case .parent(let pid):
            #expect(try waitForChild(pid) == .exited(code: 0))
            #expect(memory.baseAddress.load(fromByteOffset: 8, as: UInt64.self) == 0xC0FFEF)
            #expect(memory.bytes[memory.size - 1] == 0x5A)
        }
    }

    @Test func reapReportsNothingForARunningChild() throws {
        let (readEnd, writeEnd) = try Descriptor.pipe()
        defer { readEnd.close() }
        switch try Process.fork() {
        case .child:
            // Block until the parent closes its write end, then exit.
            writeEnd.close()
            var byte: UInt8 = 0
            _ = Glibc.read(readEnd.rawValue, &byte, 1)
            Process.exit(0)
        case .parent(let pid):
            #expect(try Process.reap(pid) == nil)
            writeEnd.close()
            #expect(try waitForChild(pid) == .exited(code: 0))
            #expect {
                try Process.reap(pid)
            } throws: { ($0 as? SystemError)?.code == ECHILD }
        }
    }

    @Test func identifiers() throws {
        #expect(Process.id.rawValue == getpid())
        #expect(Process.parentID.rawValue == getppid())
        #expect(Process.threadID > 0)
        let previous = Process.setUmask(0o027)
        #expect(Process.setUmask(previous) == 0o027)
    }

    @Test func parentDeathSignalInChild() throws {
        let memory = try SharedMemory.anonymous(size: 8)
        defer { try? memory.unmap() }
        switch try Process.fork() {
        case .child:
            let ok = (try? Process.setParentDeathSignal(.terminate)) != nil
            let value = (try? Process.parentDeathSignal())??.rawValue ?? -1
            memory.baseAddress.storeBytes(of: ok ? value : -2, as: Int32.self)
            Process.exit(0)
        case .parent(let pid):
            #expect(try waitForChild(pid) == .exited(code: 0))
            #expect(memory.baseAddress.load(as: Int32.self) == SIGTERM)
        }
    }
}
