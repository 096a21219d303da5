import Foundation
import Glibc
import Testing

extension EmbeddingEndToEnd {
    /// A handler that traps or faults ends its own child only: under prefork that is the
    /// one request, under worker and event the connections that child held. The master
    /// logs the crash with the request, replaces the child at once, and does not back off
    /// for children that crash while serving.
    @Suite struct CrashIsolationTests {
        typealias E = EmbeddingTestSupport
        typealias S = MPMTestSupport

        /// How the child that ran `handler` dies.
        static func signal(of handler: String) -> String {
            handler == "crash-segv" ? "Segmentation fault (11)" : "Illegal instruction (4)"
        }

        static func request(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" }

        /// Sends a crash request on `client` and expects the connection to end with no response.
        static func expectNoResponse(_ client: RawHTTPClient, _ handler: String) throws {
            try client.send(request("/\(handler)"))
            E.expectEndsUnanswered(client, "/\(handler)")
        }

        /// The keep-alive connections of the load and the crash, each of which has served a
        /// `/slow`. Prefork: 9 connections, each on a child of its own; the crash goes on the
        /// last. Worker and event: 10 connections fill one child's 6 workers and 4 of
        /// another's; on the first (the victim) go 4 clients and the crash, and one stays
        /// idle; the second's go to the other clients.
        static func pinConnections(_ server: ServerProcess, _ mpm: MPM)
            throws -> (clients: [E.Pinned], crash: E.Pinned, idle: E.Pinned?)
        {
            if mpm == .prefork {
                try Deadline.wait(for: "10 children", timeout: .seconds(10)) { server.children().count >= 10 }
                let all = try E.pin(port: server.port, mpm: mpm, count: 9)
                return (Array(all.prefix(8)), all[8], nil)
            }
            let all = try E.pin(port: server.port, mpm: mpm, count: 10)
            let byPid = Dictionary(grouping: all, by: \.pid).values.sorted { $0.count > $1.count }
            guard byPid.count >= 2, byPid[0].count >= 5, byPid[1].count >= 3 else {
                throw HarnessError("the connections did not fill two children: \(byPid.map { "\($0[0].pid): \($0.count)" })")
            }
            let (victim, other) = (byPid[0], byPid[1])
            let idle = victim.count > 5 ? victim[5] : nil
            let kept = Array(victim.prefix(5) + other.prefix(4)) + (idle.map { [$0] } ?? [])
            for pinned in all where !kept.contains(where: { $0.client === pinned.client }) {
                pinned.client.close()
            }
            return (Array(victim.prefix(4) + other.prefix(4)), victim[4], idle)
        }

        @Test(arguments: [MPM.prefork, .worker, .event], E.crashHandlers)
        func aCrashingHandlerUnderLoadCostsOnlyItsChildsConnections(mpm: MPM, handler: String) throws {
            // Prefork: children for 8 keep-alive clients, the crash's connection and spares.
            let config = try E.config(mpm, E.sizing(mpm, children: 10))
            try withServer(.testApp, config: config, environment: E.asShipped) { server in
                let (pinned, crash, idle) = try Self.pinConnections(server, mpm)
                defer { idle?.client.close() }
                let victim = crash.pid
                let children = server.children().count
                let clients = LoadClient.start(port: server.port, path: "/slow?50", requests: 20, on: pinned)
                defer { clients.forEach { $0.stop() } }
                try Deadline.wait(for: "every client under way (done: \(clients.map(\.completed)))", timeout: .seconds(10)) {
                    clients.allSatisfy { $0.completed >= 3 }
                }

                try Self.expectNoResponse(crash.client, handler)
                let start = "AH00052: child pid \(victim) exit signal \(Self.signal(of: handler)); it was serving "
                let line = try Deadline.waitForValue("\(start)...\n\(server.diagnostics())", timeout: .seconds(10)) {
                    server.errorLog().split(separator: "\n").first { $0.contains(start) }.map(String.init)
                }
                // What was running when it crashed: the crash, and under worker and event the
                // clients' requests on that child; not the request its idle connection finished.
                let crashRequest = "\"GET /\(handler) HTTP/1.1\" from 127.0.0.1"
                if mpm == .prefork {
                    #expect(line.hasSuffix(start + crashRequest), "\(line)")
                } else {
                    let serving = line.components(separatedBy: start)[1].components(separatedBy: ", ")
                    #expect(serving.contains(crashRequest), "\(line)")
                    #expect(serving.allSatisfy { $0 == crashRequest || $0 == "\"GET /slow?50 HTTP/1.1\" from 127.0.0.1" }, "\(line)")
                }
                try LoadClient.waitForAll(clients)

                for client in clients {
                    let on = "client first on \(client.firstPid.map(String.init) ?? "?") (victim \(victim))"
                    if mpm == .prefork || client.firstPid != victim {
                        #expect(client.failures.isEmpty, "\(on): \(client.failures)")
                        #expect(client.completed == 20, "\(on)")
                    } else {
                        // Its connection went with the child; the next one is served elsewhere.
                        #expect(client.failures.count == 1, "\(on): \(client.failures)")
                        #expect(client.failures.allSatisfy { $0.pid == victim }, "\(on): \(client.failures)")
                    }
                }
                try Deadline.wait(for: "a replacement child (had \(children), have \(server.children()))", timeout: .seconds(10)) {
                    let now = server.children()
                    return now.count >= children && !now.contains(victim)
                }
                #expect(!server.errorLog().contains("children keep crashing"))
                #expect(try S.get(port: server.port, "/slow?1") == 200)
            }
        }

        /// Every request to the handler crashes its child: ten in a row cost those ten
        /// requests and nothing else; the master replaces each child at once, no back-off.
        @Test(arguments: [MPM.prefork, .event])
        func aHandlerThatCrashesOnEveryRequestCostsOnlyThoseRequests(mpm: MPM) throws {
            let config = try E.config(mpm)
            try withServer(.testApp, config: config, environment: E.asShipped) { server in
                let slow = (0..<2).map { _ in LoadClient(port: server.port, path: "/slow?50", count: .max) }
                slow.forEach { $0.start() }
                defer { slow.forEach { $0.stop() } }
                try Deadline.wait(for: "the /slow clients under way", timeout: .seconds(10)) { slow.allSatisfy { $0.completed >= 3 } }

                for _ in 0..<10 {
                    let client = try RawHTTPClient(port: server.port, timeout: .seconds(10))
                    defer { client.close() }
                    try Self.expectNoResponse(client, "crash-unwrap")
                }
                try Deadline.wait(for: "10 AH00052 lines\n\(server.diagnostics())", timeout: .seconds(10)) {
                    server.errorLog().split(separator: "\n").filter {
                        $0.contains("AH00052: child pid ") && $0.contains("\"GET /crash-unwrap HTTP/1.1\"")
                    }.count == 10
                }
                // /slow goes on being answered after the last crash.
                let after = slow.map(\.completed)
                try Deadline.wait(for: "/slow answered after the crashes", timeout: .seconds(10)) {
                    zip(slow, after).allSatisfy { $0.completed >= $1 + 3 }
                }
                slow.forEach { $0.stop() }
                try LoadClient.waitForAll(slow)

                let log = server.errorLog()
                #expect(!log.contains("children keep crashing"), "\(server.diagnostics())")
                let crashed = Set(log.split(separator: "\n").compactMap { line -> pid_t? in
                    guard let range = line.range(of: "AH00052: child pid ") else { return nil }
                    return pid_t(line[range.upperBound...].prefix { $0.isNumber })
                })
                let failures = slow.flatMap(\.failures)
                if mpm == .prefork {
                    #expect(failures.isEmpty, "\(failures)")
                } else {
                    // A /slow connection held by a child that crashed goes with it, no other:
                    // at most each client's once per crash (pid unknown when the connection
                    // was new, its first request under way).
                    #expect(failures.count <= 10 * slow.count, "\(failures)")
                    #expect(failures.allSatisfy { $0.pid.map(crashed.contains) ?? true }, "\(failures); crashed: \(crashed)")
                }
                #expect(try S.get(port: server.port, "/slow?1") == 200)
            }
        }
    }
}
