import Foundation
import Glibc
import Testing

/// The tests of the master process and its MPMs. They start real masters that fork
/// children and measure timings (retirement once a second, KILL at 9 s), so they run one
/// after another, never alongside each other, on this 2-core machine.
@Suite(.serialized, .tags(.skepBinary), .timeLimit(.minutes(10)))
enum MPMEndToEnd {}

extension MPMEndToEnd {
    /// The master: PidFile, stop, signals, `-k` commands, restarts.
    @Suite struct MasterTests {
        typealias S = MPMTestSupport

        static let prefork = """
            StartServers 2
            MinSpareServers 2
            MaxSpareServers 4
            MaxRequestWorkers 8
            ServerLimit 8
            """

        static let worker = """
            StartServers 2
            ServerLimit 4
            ThreadsPerChild 4
            MaxRequestWorkers 16
            MinSpareThreads 2
            MaxSpareThreads 12
            """

        /// Waits until `count` children of the current generation answer: at least `count`
        /// children, and the status page shows generation `generation`.
        func waitForChildren(_ server: ServerProcess, atLeast count: Int) throws {
            try Deadline.wait(for: "\(count) children (have \(server.children()))", timeout: .seconds(10)) {
                server.children().count >= count
            }
        }

        @Test func pidFileHoldsTheMastersPidAndIsRemovedOnExit() throws {
            let config = try S.config(.prefork, Self.prefork)
            try withServer(.skep, config: config) { server in
                #expect(server.pidFromPidFile() == server.pid)
                #expect(FileManager.default.fileExists(atPath: config.pidFile))
                let report = server.stop()
                #expect(report.exit == Subprocess.Exit(waitStatus: 0), "\(report)")
                #expect(!report.neededKill)
                #expect(report.leftovers.isEmpty)
                #expect(!FileManager.default.fileExists(atPath: config.pidFile), "PidFile left behind")
            }
        }

        @Test(arguments: [MPM.prefork, .worker])
        func controlStopReturnsAfterTheMasterIsGone(mpm: MPM) throws {
            let config = try S.config(mpm, mpm == .prefork ? Self.prefork : Self.worker)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let descendants = server.descendants()
                let result = try S.control(server, "stop", timeout: .seconds(30))
                #expect(result.exit == Subprocess.Exit(waitStatus: 0), "stdout: \(result.stdout) stderr: \(result.stderr)")
                #expect(result.masterGoneFirst, "skep -k stop returned while the master was still running")
                #expect(server.exitStatus == Subprocess.Exit(waitStatus: 0))
                #expect(result.stdout.contains("stopped"), "\(result.stdout)")
                try Deadline.wait(for: "the children \(descendants) to be gone", timeout: .seconds(2)) {
                    descendants.allSatisfy { kill($0, 0) != 0 }
                }
                let report = server.stop()
                #expect(report.leftovers.isEmpty, "\(report)")
                #expect(!FileManager.default.fileExists(atPath: config.pidFile))
                #expect(server.errorLog().contains(": caught SIGTERM, shutting down"), "\(server.diagnostics())")
            }
        }

        @Test(arguments: [MPM.prefork, .worker])
        func termLeavesNoProcessBehind(mpm: MPM) throws {
            let config = try S.config(mpm, mpm == .prefork ? Self.prefork : Self.worker)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                // A busy child too: one connection in the middle of its request head.
                let held = try S.holdWorker(port: server.port)
                defer { held.close() }
                let children = server.children()
                server.signal(SIGTERM)
                let exit = try server.waitForExit(timeout: .seconds(5))
                #expect(exit == Subprocess.Exit(waitStatus: 0))
                try Deadline.wait(for: "the children \(children) to be gone", timeout: .seconds(2)) {
                    children.allSatisfy { kill($0, 0) != 0 }
                }
                let report = server.stop()
                #expect(report.leftovers.isEmpty, "\(report)")
            }
        }

        @Test func aStoppedChildIsKilledAfterNineSecondsWithAH00045() throws {
            let config = try S.config(.prefork, Self.prefork)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let children = server.children()
                let stuck = children[0]
                // A stopped process cannot act on TERM; only the KILL at 9 s ends it.
                kill(stuck, SIGSTOP)
                // SIGSTOP takes effect asynchronously: TERM must not overtake it.
                try Deadline.wait(for: "child \(stuck) to be stopped", timeout: .seconds(5)) {
                    ProcessTree.entry(stuck)?.state == "T"
                }
                let start = ContinuousClock.now
                server.signal(SIGTERM)
                let exit = try server.waitForExit(timeout: .seconds(15))
                let elapsed = ContinuousClock.now - start
                #expect(exit == Subprocess.Exit(waitStatus: 0))
                #expect(elapsed >= .milliseconds(8500) && elapsed <= .seconds(12), "the master exited after \(elapsed)")
                let log = server.errorLog()
                #expect(log.contains("AH00045: child process \(stuck) still did not exit, sending a SIGKILL"), "\(log)")
                // Only the stuck child needed the KILL.
                #expect(!log.contains("AH00045: child process \(children[1]) "), "\(log)")
                try Deadline.wait(for: "the stopped child \(stuck) to be gone", timeout: .seconds(3)) {
                    ProcessTree.entry(stuck).map { $0.state == "Z" } ?? true
                }
                #expect(server.stop().leftovers.isEmpty)
            }
        }

        @Test(arguments: [MPM.prefork, .worker])
        func gracefulReturnsOnceTheNewGenerationServes(mpm: MPM) throws {
            let config = try S.config(mpm, mpm == .prefork ? Self.prefork : Self.worker)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let before = try S.statusAuto(port: server.port)
                #expect(before["ParentServerMPMGeneration"] == "0")
                let oldChildren = Set(server.children())
                let stampBefore = try FileManager.default.attributesOfItem(atPath: config.pidFile)[.modificationDate] as? Date
                let result = try server.control("graceful")
                #expect(result.succeeded, "\(result.statusText): \(result.stdout) \(result.stderr)")
                let stampAfter = try FileManager.default.attributesOfItem(atPath: config.pidFile)[.modificationDate] as? Date
                #expect(stampAfter != stampBefore, "skep -k graceful returned before the PidFile was rewritten")
                #expect(server.pidFromPidFile() == server.pid)
                // Right after `-k graceful` returns, requests are answered by the new generation.
                var generations: [String] = []
                for _ in 0..<5 {
                    generations.append(try S.statusAuto(port: server.port)["ParentServerMPMGeneration"] ?? "?")
                }
                #expect(generations.allSatisfy { $0 == "1" }, "generations seen: \(generations)")
                try Deadline.wait(for: "generation 1 to answer", timeout: .seconds(5)) {
                    try S.statusAuto(port: server.port)["ParentServerMPMGeneration"] == "1"
                }
                let after = try S.statusAuto(port: server.port)
                #expect(after["ParentServerConfigGeneration"] == "2")
                // The old children leave (they were idle); the new generation has StartServers.
                try Deadline.wait(for: "the old children \(oldChildren) to exit", timeout: .seconds(10)) {
                    Set(server.children()).isDisjoint(with: oldChildren) && server.children().count >= 2
                }
                #expect(try S.get(port: server.port) == 200)
                #expect(server.errorLog().contains(": SIGUSR1 received.  Doing graceful restart") || server.errorLog().contains("AH00171: Graceful restart requested, doing restart"))
            }
        }

        /// Settings for whichever MPM the config loads, so one file serves both sides of a switch.
        static let eitherMPM = """
            <IfModule mpm_prefork_module>
            \(prefork)
            </IfModule>
            <IfModule mpm_event_module>
            \(worker)
            </IfModule>
            """

        /// The seeds' `a2dismod mpm_prefork; a2enmod mpm_event` followed by a graceful
        /// restart (or the reverse): Apache logs AH00534 and exits; Skep starts the new
        /// generation under the new MPM while the old children finish, and a client that
        /// keeps asking meanwhile is never refused.
        @Test(arguments: [(MPM.prefork, MPM.event), (.event, .prefork)])
        func aGracefulRestartToAnotherMPMSwitchesWithoutRefusingAConnection(from: MPM, to: MPM) throws {
            let config = try S.config(from, Self.eitherMPM)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let oldChildren = Set(server.children())
                // What `a2dismod mpm_X; a2enmod mpm_Y` does: the LoadModule line changes.
                let text = try String(contentsOfFile: server.configPath, encoding: .utf8)
                try text.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix("LoadModule \(from.moduleName)_module") ? Substring($0.replacingOccurrences(of: from.moduleName, with: to.moduleName)) : $0 }
                    .joined(separator: "\n").write(toFile: server.configPath, atomically: true, encoding: .utf8)

                let wrk = try S.Background(S.wrk!, ["-t2", "-c4", "-d4s", "--timeout", "5s", "-H", "Connection: close",
                                                    "http://127.0.0.1:\(server.port)/index.html"], environment: ["LANG": "C"])
                try S.waitForRequests(port: server.port, count: 50)
                let result = try server.control("graceful")
                #expect(result.succeeded, "\(result.statusText): \(result.stdout) \(result.stderr)")
                try wrk.wait(timeout: .seconds(20))
                let summary = S.WrkSummary(wrk.stdout)
                #expect(summary.requests > 0 && summary.socketErrors == 0 && summary.connectErrors == 0 && summary.non2xx == 0, "\(summary)")
                try Deadline.wait(for: "the \(to) generation to replace \(oldChildren)", timeout: .seconds(15)) {
                    let children = server.children()
                    let threads = children.compactMap { server.threads(of: $0) }
                    return Set(children).isDisjoint(with: oldChildren) && children.count >= 2
                        && threads.allSatisfy { to == .prefork ? $0 == 1 : $0 > 4 }
                }
                #expect(try S.statusAuto(port: server.port)["ServerMPM"] == to.rawValue)
                #expect(server.errorLog().contains("the MPM changes from \(from.rawValue)"), "\(server.errorLog())")
            }
        }

        @Test func aBrokenConfigAtGracefulRestartKeepsTheOldGeneration() throws {
            let config = try S.config(.prefork, Self.prefork)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let children = Set(server.children())
                var text = try String(contentsOfFile: server.configPath, encoding: .utf8)
                if !text.hasSuffix("\n") { text += "\n" }
                let badLine = text.split(separator: "\n", omittingEmptySubsequences: false).count
                text += "NoSuchDirective on\n"
                try text.write(toFile: server.configPath, atomically: true, encoding: .utf8)

                // `skep -k graceful` reads the configuration first, as `apachectl graceful`
                // runs a configtest: it fails at once and says where.
                let start = ContinuousClock.now
                let result = try server.control("graceful", timeout: .seconds(45))
                let elapsed = ContinuousClock.now - start
                #expect(!result.succeeded, "skep -k graceful reported success for a broken config: \(result.stdout)")
                #expect(result.status == 1)
                #expect(elapsed < .seconds(10), "took \(elapsed)")
                #expect(result.stderr.contains("skep.conf:\(badLine)"), "stdout: \(result.stdout) stderr: \(result.stderr)")
                #expect(result.stderr.contains("NoSuchDirective"), "stderr: \(result.stderr)")
                #expect(!server.errorLog().contains("graceful restart") && !server.errorLog().contains("Graceful restart"), "the master was signalled although the config is broken")

                // The master itself, signalled directly (kill -USR1), keeps the running generation.
                server.signal(SIGUSR1)
                try Deadline.wait(for: "the master to report the broken config", timeout: .seconds(5)) {
                    server.errorLog().contains("configuration not reloaded")
                }
                let log = server.errorLog()
                #expect(log.contains("configuration not reloaded, the running generation keeps serving"), "\(log)")
                #expect(log.contains("\(server.configPath):\(badLine)"), "no file:line \(server.configPath):\(badLine) in\n\(log)")
                #expect(log.contains("NoSuchDirective"), "\(log)")
                // The old generation still serves, with the same children.
                let status = try S.statusAuto(port: server.port)
                #expect(status["ParentServerMPMGeneration"] == "0")
                #expect(try S.get(port: server.port) == 200)
                #expect(Set(server.children()) == children)
                #expect(server.pidFromPidFile() == server.pid)
            }
        }

        @Test(arguments: [MPM.prefork, .worker])
        func restartStartsANewGeneration(mpm: MPM) throws {
            let config = try S.config(mpm, mpm == .prefork ? Self.prefork : Self.worker)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let oldChildren = Set(server.children())
                let result = try server.control("restart")
                #expect(result.succeeded, "\(result.statusText): \(result.stdout) \(result.stderr)")
                #expect(server.isRunning)
                // A full restart stops the old children before the new ones start.
                #expect(Set(server.children()).isDisjoint(with: oldChildren), "old children still there: \(oldChildren)")
                try Deadline.wait(for: "generation 1 to answer", timeout: .seconds(5)) {
                    try S.statusAuto(port: server.port)["ParentServerMPMGeneration"] == "1"
                }
                try waitForChildren(server, atLeast: 2)
                #expect(try S.get(port: server.port) == 200)
                #expect(server.pidFromPidFile() == server.pid)
                #expect(server.errorLog().contains(": SIGHUP received.  Attempting to restart"))
            }
        }

        @Test(arguments: [MPM.prefork, .worker])
        func gracefulStopRefusesNewConnectionsAndFinishesTheInFlightRequest(mpm: MPM) throws {
            let config = try S.config(mpm, mpm == .prefork ? Self.prefork : Self.worker)
            // Larger than the loopback socket buffers, so the server is still sending it.
            let size = 48 << 20
            try S.writeLargeDocument(config, "big.bin", bytes: size)
            try withServer(.skep, config: config) { server in
                try waitForChildren(server, atLeast: 2)
                let output = config.root.path + "/download"
                let download = try S.slowDownload("http://127.0.0.1:\(server.port)/big.bin", rate: "12M", output: output)
                try Deadline.wait(for: "the download to start", timeout: .seconds(5)) { S.fileSize(output) > 0 }
                let children = server.children()

                let start = ContinuousClock.now
                let control = try S.Background(server.executable, ["-k", "graceful-stop", "-f", server.configPath],
                                               environment: ServerBinary.environment())
                // New connections are refused at once (well before the download ends).
                var refusedAfter: Duration?
                let refusal = Deadline(after: .seconds(2))
                while !refusal.hasPassed {
                    if S.connectionRefused(port: server.port) { refusedAfter = ContinuousClock.now - start; break }
                    Deadline.sleep(for: .milliseconds(20))
                }
                let downloadedWhenRefused = S.fileSize(output)
                #expect(refusedAfter != nil, "connections still accepted 2 s after graceful-stop")
                #expect(downloadedWhenRefused < size || refusedAfter == nil, "the download ended before the check")

                _ = try download.wait(timeout: .seconds(30)) { _ = server.isRunning }
                #expect(download.stdout == "200 \(size)", "curl: \(download.stdout) \(download.stderr)")
                let exit = try control.wait(timeout: .seconds(30)) { _ = server.isRunning }
                #expect(exit == Subprocess.Exit(waitStatus: 0), "skep -k graceful-stop: \(control.stdout) \(control.stderr)")
                let masterExit = try server.waitForExit(timeout: .seconds(5))
                #expect(masterExit == Subprocess.Exit(waitStatus: 0))
                #expect(server.errorLog().contains(": caught SIGWINCH, shutting down gracefully"))
                #expect(children.allSatisfy { kill($0, 0) != 0 })
                #expect(server.stop().leftovers.isEmpty)
            }
        }
    }
}
