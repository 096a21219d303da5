import Foundation
import Glibc
import Testing

extension EmbeddingEndToEnd {
    /// `RequestWatchdogTimeout`: a request that runs past the limit is logged with its
    /// request line and slot, its child is retired, and killed when the request still
    /// holds it the limit later; the rest of the server serves on. Off by default.
    @Suite struct WatchdogTests {
        typealias E = EmbeddingTestSupport
        typealias S = MPMTestSupport

        /// Sends `GET /hang` and returns the connection and the pid of the child serving it.
        static func hang(_ server: ServerProcess) throws -> (client: RawHTTPClient, pid: pid_t) {
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(20))
            try client.send("GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let pid = try Deadline.waitForValue("the child serving /hang", timeout: .seconds(10)) {
                try S.pidServing("/hang", port: server.port)
            }
            return (client, pid)
        }

        @Test(arguments: [MPM.prefork, .event])
        func aHungRequestIsLoggedItsChildRetiredThenKilled(mpm: MPM) throws {
            let config = try E.config(mpm, E.sizing(mpm) + "\nRequestWatchdogTimeout 2")
            try withServer(.testApp, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count >= 2 }
                let (hung, pid) = try Self.hang(server)
                defer { hung.close() }
                // Another client, a connection per request, throughout.
                let other = LoadClient(port: server.port, path: "/slow?20", count: .max, keepAlive: false)
                other.start()
                defer { other.stop() }

                let retiring = "RequestWatchdogTimeout: \"GET /hang HTTP/1.1\" from 127.0.0.1 in slot "
                let retired = try Deadline.waitForValue("the watchdog's line for /hang\n\(server.diagnostics())", timeout: .seconds(10)) {
                    server.errorLog().split(separator: "\n").first { $0.contains(retiring) }.map(String.init)
                }
                // "... in slot S.T of child pid P has run N s (limit 2 s): retiring the child"
                let rest = retired[retired.range(of: retiring)!.upperBound...]
                let slot = rest.prefix { $0 != " " }
                #expect(slot.split(separator: ".").count == 2 && slot.split(separator: ".").allSatisfy { Int($0) != nil },
                        "no slot.thread in: \(retired)")
                #expect(rest.contains(" of child pid \(pid) has run "), "\(retired)")
                #expect(rest.hasSuffix("(limit 2 s): retiring the child"), "\(retired)")
                let ran = Int(rest.components(separatedBy: " has run ").last?.prefix { $0.isNumber } ?? "")
                #expect((ran ?? 0) >= 2, "\(retired)")

                let killing = "child pid \(pid) still holds a request 2 s after RequestWatchdogTimeout retired it: sending SIGKILL"
                try Deadline.wait(for: "the watchdog's SIGKILL line\n\(server.diagnostics())", timeout: .seconds(10)) {
                    server.errorLog().contains(killing)
                }
                let log = server.errorLog()
                #expect(log.range(of: retiring)!.lowerBound < log.range(of: killing)!.lowerBound)
                // The hung request's connection ends, unanswered; its child is gone.
                E.expectEndsUnanswered(hung, "/hang")
                try Deadline.wait(for: "child \(pid) gone", timeout: .seconds(10)) { !server.children().contains(pid) }

                let servedDuring = other.completed
                other.stop()
                try LoadClient.waitForAll([other])
                #expect(other.failures.isEmpty, "\(other.failures)")
                #expect(servedDuring >= 10, "the other client got \(servedDuring) answers while /hang was held")
                #expect(try S.get(port: server.port, "/slow?1") == 200)
                #expect(try S.get(port: server.port, "/test-echo") == 200)
                #expect(!server.errorLog().contains("AH00052: child pid \(pid) "), "the watchdog's kill logged as a crash")
            }
        }

        @Test func withoutTheDirectiveAHungRequestIsLeftAlone() throws {
            let config = try E.config(.event)
            try withServer(.testApp, config: config) { server in
                let (hung, pid) = try Self.hang(server)
                defer { hung.close() }
                #expect(hung.connectionState(within: .seconds(3)) == .open)
                #expect(server.children().contains(pid))
                #expect(try S.pidServing("/hang", port: server.port) == pid)
                #expect(!server.errorLog().contains("RequestWatchdogTimeout"))
                #expect(try S.get(port: server.port, "/slow?1") == 200)
            }
        }
    }
}
