import Foundation
import Glibc
import Testing

extension MPMEndToEnd {
    /// Children that crash: logged as Apache logs them (with what they were serving),
    /// replaced, and not replaced in a tight loop when they keep crashing.
    @Suite struct CrashTests {
        typealias S = MPMTestSupport

        /// With the Swift runtime's default backtracer, `kill -SEGV` of a child prints a
        /// backtrace and the child goes on running (the handler returns; the signal was not
        /// a fault). Apache's child dies, and the master logs AH00052 and replaces it.
        @Test func aSegfaultSentToAChildWithTheDefaultRuntimeSettingsEndsIt() throws {
            let config = try S.config(.prefork, """
                StartServers 2
                MinSpareServers 2
                MaxSpareServers 4
                MaxRequestWorkers 8
                ServerLimit 8
                """)
            try withServer(.skep, config: config) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count >= 2 }
                let victim = server.children()[0]
                kill(victim, SIGSEGV)
                try Deadline.wait(for: "the AH00052 line for \(victim)", timeout: .seconds(5)) {
                    server.errorLog().contains("AH00052: child pid \(victim) exit signal Segmentation fault (11)")
                }
                #expect(try S.get(port: server.port) == 200)
            }
        }

        @Test func anIdlePreforkChildThatSegfaultsIsLoggedAndReplaced() throws {
            let config = try S.config(.prefork, """
                StartServers 2
                MinSpareServers 2
                MaxSpareServers 4
                MaxRequestWorkers 8
                ServerLimit 8
                """)
            try withServer(.skep, config: config, environment: S.noBacktrace) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count >= 2 }
                let victim = server.children()[0]
                kill(victim, SIGSEGV)
                try Deadline.wait(for: "the AH00052 line for \(victim)", timeout: .seconds(5)) {
                    server.errorLog().contains("AH00052: child pid \(victim) exit signal Segmentation fault (11)")
                }
                try Deadline.wait(for: "a replacement child (have \(server.children()))", timeout: .seconds(5)) {
                    let now = server.children()
                    return now.count >= 2 && !now.contains(victim)
                }
                // Idle: nothing was being served, so the line ends there.
                let line = server.errorLog().split(separator: "\n").first { $0.contains("child pid \(victim) ") } ?? ""
                #expect(line.hasSuffix("Segmentation fault (11)"), "\(line)")
                #expect(try S.get(port: server.port) == 200)
            }
        }

        @Test func aChildThatCrashesWhileServingLogsTheRequest() throws {
            let config = try S.config(.prefork, """
                StartServers 2
                MinSpareServers 2
                MaxSpareServers 4
                MaxRequestWorkers 8
                ServerLimit 8
                """)
            let size = 48 << 20
            try S.writeLargeDocument(config, "big.bin", bytes: size)
            try withServer(.skep, config: config, environment: S.noBacktrace) { server in
                let output = config.root.path + "/download"
                let download = try S.slowDownload("http://127.0.0.1:\(server.port)/big.bin", rate: "4M", output: output)
                try Deadline.wait(for: "the download to start", timeout: .seconds(5)) { S.fileSize(output) > 0 }
                let serving = try Deadline.waitForValue("the child serving /big.bin in ?notable", timeout: .seconds(5)) {
                    try S.pidServing("/big.bin", port: server.port)
                }
                #expect(server.children().contains(serving))
                kill(serving, SIGSEGV)
                try Deadline.wait(for: "the AH00052 line for \(serving)", timeout: .seconds(5)) {
                    server.errorLog().contains("AH00052: child pid \(serving) exit signal Segmentation fault (11)")
                }
                let line = server.errorLog().split(separator: "\n").first { $0.contains("child pid \(serving) ") } ?? ""
                #expect(line.contains("\"GET /big.bin HTTP/1.1\""), "\(line)")
                #expect(line.contains("127.0.0.1"), "\(line)")
                _ = try download.wait(timeout: .seconds(20))
                #expect(!download.stdout.hasSuffix(" \(size)"), "the download completed although its child crashed: \(download.stdout)")
                // The other children keep serving; the crashed one is replaced.
                #expect(try S.get(port: server.port) == 200)
                try Deadline.wait(for: "a replacement child", timeout: .seconds(5)) {
                    let now = server.children()
                    return now.count >= 2 && !now.contains(serving)
                }
            }
        }

        @Test func childrenThatKeepCrashingAreReplacedAfterABackOff() throws {
            let config = try S.config(.prefork, """
                StartServers 6
                MinSpareServers 6
                MaxSpareServers 8
                MaxRequestWorkers 10
                ServerLimit 10
                """)
            try withServer(.skep, config: config, environment: S.noBacktrace) { server in
                try Deadline.wait(for: "6 children", timeout: .seconds(10)) { server.children().count >= 6 }
                let victims = server.children()
                let ticksBefore = S.cpuTicks(server.pid) ?? 0
                for pid in victims { kill(pid, SIGSEGV) }
                try Deadline.wait(for: "an AH00052 line for each of \(victims)", timeout: .seconds(5)) {
                    let log = server.errorLog()
                    return victims.allSatisfy { log.contains("AH00052: child pid \($0) exit signal Segmentation fault (11)") }
                }
                try Deadline.wait(for: "the back-off message", timeout: .seconds(5)) {
                    server.errorLog().contains("children keep crashing: waiting")
                }
                // Watch the master for 3 s: it waits, it does not spin (a measured
                // observation window, sampled every 100 ms, not a wait for an event).
                let watch = Deadline(after: .seconds(3))
                var most = 0
                while !watch.hasPassed {
                    most = max(most, server.children().count)
                    #expect(server.isRunning)
                    Deadline.sleep(for: .milliseconds(100))
                }
                let ticks = (S.cpuTicks(server.pid) ?? 0) - ticksBefore
                #expect(ticks < 50, "the master used \(ticks) clock ticks in about 3 s after the crashes")
                #expect(most <= 10)
                // Later the spare-server maintenance brings the children back, and they serve.
                try Deadline.wait(for: "6 children again (have \(server.children()))", timeout: .seconds(15)) {
                    server.children().count >= 6
                }
                #expect(Set(server.children()).isDisjoint(with: victims))
                #expect(try S.get(port: server.port) == 200)
            }
        }

        @Test(.enabled(if: MPMTestSupport.wrk != nil, "needs wrk"))
        func aWorkerChildCrashUnderLoadLosesOnlyItsOwnConnections() throws {
            let config = try S.config(.worker, """
                StartServers 2
                ServerLimit 4
                ThreadsPerChild 4
                MaxRequestWorkers 16
                MinSpareThreads 2
                MaxSpareThreads 12
                KeepAliveTimeout 30
                MaxKeepAliveRequests 0
                """)
            try withServer(.skep, config: config, environment: S.noBacktrace) { server in
                try Deadline.wait(for: "2 children", timeout: .seconds(10)) { server.children().count >= 2 }
                let wrk = try S.Background(S.wrk!, ["-t2", "-c8", "-d3s", "--timeout", "5s",
                                                    "http://127.0.0.1:\(server.port)/index.html"],
                                           environment: ["LANG": "C"])
                try S.waitForRequests(port: server.port, count: 100)
                let victim = server.children()[0]
                kill(victim, SIGSEGV)
                try wrk.wait(timeout: .seconds(20))
                let summary = S.WrkSummary(wrk.stdout)
                #expect(summary.requests > 0, "\(summary)")
                #expect(summary.non2xx == 0, "\(summary)")
                // At most the crashed child's connections: ThreadsPerChild.
                #expect(summary.socketErrors <= 4, "\(summary)")
                #expect(server.errorLog().contains("AH00052: child pid \(victim) exit signal Segmentation fault (11)"))
                #expect(try S.get(port: server.port) == 200)
                try Deadline.wait(for: "a replacement child", timeout: .seconds(5)) {
                    let now = server.children()
                    return now.count >= 2 && !now.contains(victim)
                }
            }
        }
    }
}
