import Glibc
import Testing
@testable import SkepSystem
import SkepTestSupport

@Suite struct ProcessSpawnTests {
    @Test func spawnExitCode() throws {
        let pid = try Process.spawn(path: "/bin/sh", arguments: ["sh", "-c", "exit 7"])
        #expect(try waitForChild(pid) == .exited(code: 7))
    }

    @Test func spawnWithPipedOutputAndEnvironment() throws {
        let (readEnd, writeEnd) = try Descriptor.pipe()
        defer { readEnd.close() }
        let pid = try Process.spawn(
            path: "/bin/sh", arguments: ["sh", "-c", "echo \"$GREETING\""],
            environment: ["GREETING=hello from spawn", "PATH=/usr/bin:/bin"],
            standardOutput: writeEnd, newProcessGroup: true)
        writeEnd.close()
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            #expect(try !readEnd.wait(for: .readable, timeoutMilliseconds: 10_000).isEmpty)
            guard case .transferred(let n) = try buffer.withUnsafeMutableBytes({ try readEnd.read(into: $0) }), n > 0 else { break }
            output += buffer[0..<n]
        }
        #expect(String(decoding: output, as: UTF8.self) == "hello from spawn\n")
        #expect(try waitForChild(pid) == .exited(code: 0))
    }

    @Test func spawnResetsBlockedAndIgnoredSignals() throws {
        // Block SIGTERM in this thread: the spawned program must still die of it.
        let previous = try SignalMask.block([.terminate])
        defer { _ = try? SignalMask.set(previous) }
        let pid = try Process.spawn(path: "/bin/sh", arguments: ["sh", "-c", "kill -TERM $$; sleep 5; exit 1"])
        #expect(try waitForChild(pid) == .signaled(.terminate, coreDumped: false))
    }

    @Test func spawnMissingProgramFails() {
        #expect {
            try Process.spawn(path: "/nonexistent/program", arguments: ["x"])
        } throws: { ($0 as? SystemError)?.code == ENOENT }
    }
}
