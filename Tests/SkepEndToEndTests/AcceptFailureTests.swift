import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// Issue 16 row 15: at the open-file limit `accept` fails with EMFILE and the queued
    /// connection stays, so the listening socket stays readable. A listener that went
    /// straight back to `epoll_wait` spun at full CPU for as long as the limit was reached,
    /// and logged nothing. Apache logs the failure and backs off; nginx pauses 500 ms.
    @Suite struct AcceptFailureTests {
        typealias S = MPMTestSupport

        @Test func atTheOpenFileLimitTheEventListenerLogsAndPausesInsteadOfSpinning() throws {
            let config = try S.config(.event, """
                StartServers 1
                ServerLimit 1
                ThreadsPerChild 4
                MaxRequestWorkers 4
                MinSpareThreads 1
                MaxSpareThreads 4
                """)
            defer { config.root.remove() }
            let configPath = try config.write(for: .skep)
            // The server runs under a 64-descriptor limit (prlimit execs it: same pid).
            let server = try ServerProcess(
                kind: .skep, config: config, executable: "/usr/bin/prlimit",
                arguments: ["--nofile=64:64", try ServerBinary.path(for: .skep)]
                    + ServerBinary.arguments(for: .skep, configPath: configPath, mode: .foreground),
                environment: ServerBinary.environment())
            defer { _ = server.stop() }
            try server.waitUntilReady()
            try Deadline.wait(for: "one child", timeout: .seconds(10)) { server.children().count == 1 }
            let child = server.children()[0]

            // 100 connections that each stay open: past the child's 64 descriptors.
            var held: [RawHTTPClient] = []
            defer { held.forEach { $0.close() } }
            for _ in 0..<100 { held.append(try RawHTTPClient(port: server.port, timeout: .seconds(10))) }
            try Deadline.wait(for: "the accept failure in the error log", timeout: .seconds(10)) {
                server.errorLog().contains("apr_socket_accept: (client socket)")
            }
            let line = server.errorLog().split(separator: "\n").first { $0.contains("apr_socket_accept") }.map(String.init) ?? ""
            #expect(line.contains("(24)") && line.contains("not accepting for 500 ms"), "\(line)")

            // A fixed window is the measurement here: the CPU a child uses while the
            // limit holds (2 s of wall time is 200 ticks; a spinning listener uses ~100).
            let before = S.cpuTicks(child) ?? 0
            Deadline.sleep(for: .seconds(2))
            let used = (S.cpuTicks(child) ?? 0) - before
            #expect(used < 40, "the child used \(used) ticks of CPU in 2 s at the open-file limit")

            // Descriptors come back: connections queued meanwhile are served, nothing died.
            held.prefix(60).forEach { $0.close() }
            held.removeFirst(60)
            let fresh = try RawHTTPClient(port: server.port, timeout: .seconds(10))
            defer { fresh.close() }
            let response = try fresh.exchange("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout: .seconds(10))
            #expect(response.status == 200, "\(response)")
            #expect(server.children() == [child], "the child was replaced: \(server.children())")
            #expect(!server.errorLog().contains("AH00052"), "a child died:\n\(server.errorLog())")
        }
    }
}
