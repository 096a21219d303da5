import Testing
import SkepConfig
import SkepMPM

@Suite struct MPMExplanationTests {
    func stockText(_ kind: MPMKind) throws -> String {
        let settings = try load(loadModule(kind) + "\n" + stockBlock(kind)).mpm
        return MPMExplanation(settings).text
    }

    @Test func ubuntuStockEvent() throws {
        let settings = try load(loadModule(.event) + "\n" + stockBlock(.event)).mpm
        let text = MPMExplanation(settings).text
        // Skep's own figure depends on the open-file limit where the test runs.
        let idle = settings.idleConnectionsPerChild
        #expect(text == """
            MPM: event
            Threads per child: 25 worker threads, plus 1 listener thread and the child's main thread (ThreadsPerChild 25, ThreadLimit 64).
            Children: at most 6 (MaxRequestWorkers 150 / ThreadsPerChild 25; ServerLimit 16 sizes the scoreboard), 2 at start (StartServers), so 50 worker threads at start.
            Idle threads kept between 25 and 75 (MinSpareThreads, MaxSpareThreads): between 1 child's worth and 3 children's worth; whole children are started (1, 2, 4 ... up to 32 a second) or retired (one a second) to stay in the band.
            Connections per child: Apache's rule accepts new connections while connections < ThreadsPerChild + AsyncRequestWorkerFactor x idle workers = 25 + 2 x idle, so up to 75 per child (25 x (2 + 1)) when every worker is idle.
            Connections in all (Apache's figure): 6 children x 75 = 450. Apache counts idle keep-alive connections in that rule, so a child holding many of them stops accepting new clients.
            Skep's figure: the rule above counts only connections that need a worker (a request queued or running, a write in progress); connections that only wait (keep-alive, a head still arriving, lingering close) cost no worker and are bounded apart by IdleConnectionsPerChild \(idle), so up to \(75 + idle) per child and \(6 * (75 + idle)) in all.
            Requests that cannot block (a small file in the child's file cache, server-status, a redirect, an error) are answered by the listener itself, with no hand-off; every other request goes to a worker, one hand-off each (ListenerHandlers On).
            MaxConnectionsPerChild: 0, children are never retired for their connection count.
            Adjustments: none; Apache would run these figures as written.
            """)
        // The figures the brief names, each checked on its own as well.
        #expect(text.contains("25 worker threads"))
        #expect(text.contains("at most 6"))
        #expect(text.contains("2 at start"))
        #expect(text.contains("between 1 child's worth and 3 children's worth"))
        #expect(text.contains("up to 75 per child"))
        #expect(text.contains("= 450."))
    }

    @Test func ubuntuStockWorker() throws {
        let text = try stockText(.worker)
        #expect(text == """
            MPM: worker
            Threads per child: 25 worker threads, plus 1 listener thread and the child's main thread (ThreadsPerChild 25, ThreadLimit 64).
            Children: at most 6 (MaxRequestWorkers 150 / ThreadsPerChild 25; ServerLimit 16 sizes the scoreboard), 2 at start (StartServers), so 50 worker threads at start.
            Idle threads kept between 25 and 75 (MinSpareThreads, MaxSpareThreads): between 1 child's worth and 3 children's worth; whole children are started (1, 2, 4 ... up to 32 a second) or retired (one a second) to stay in the band.
            Connections: one worker thread holds a connection for its whole life, keep-alive waits included, so 150 connections at once in all (25 per child); more wait in the listen backlog.
            MaxConnectionsPerChild: 0, children are never retired for their connection count.
            Adjustments: none; Apache would run these figures as written.
            """)
    }

    @Test func ubuntuStockPrefork() throws {
        let text = try stockText(.prefork)
        #expect(text == """
            MPM: prefork
            Processes: one connection per child process, no threads.
            Children: at most 150 (MaxRequestWorkers 150; ServerLimit 256 sizes the scoreboard), 5 at start (StartServers).
            Idle children kept between 5 and 10 (MinSpareServers, MaxSpareServers): below the band the master forks 1, 2, 4 ... up to 32 a second; above it, it retires one a second.
            Connections: 150 served at once in all, one per child; more wait in the listen backlog.
            MaxConnectionsPerChild: 0, children are never retired for their connection count.
            Adjustments: none; Apache would run these figures as written.
            """)
    }

    @Test func partialChildrenOfIdleThreads() {
        var c = MPMConfig()
        c.minSpareThreads = 10
        c.maxSpareThreads = 60
        let text = MPMExplanation(MPMSettings(kind: .worker, c)).text
        #expect(text.contains("between 0 children and 10/25 of one and 2 children and 10/25 of one;"))
        c.minSpareThreads = 30
        c.maxSpareThreads = 100
        #expect(MPMExplanation(MPMSettings(kind: .event, c)).text.contains("between 1 child and 5/25 of one and 4 children's worth;"))
    }

    @Test func adjustmentsAreListed() {
        var c = MPMConfig()
        c.maxRequestWorkers = 130
        c.maxConnectionsPerChild = 1
        c.gracefulShutdownTimeoutSeconds = 1
        let lines = MPMExplanation(MPMSettings(kind: .event, c)).text.split(separator: "\n").map(String.init)
        #expect(lines.suffix(4) == [
            "MaxConnectionsPerChild: a child retires after 1 connection.",
            "GracefulShutdownTimeout: a graceful stop waits at most 1 second for requests to finish.",
            "Adjustments Apache would make (Skep makes the same):",
            "  - MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 125, for a maximum of 5 servers.",
        ])
        #expect(lines.contains { $0.hasPrefix("Connections in all (Apache's figure): 5 children x 75 = 375.") })
    }

    @Test func pluralsAndTheTruncatedFactor() {
        var c = MPMConfig()
        c.maxConnectionsPerChild = 500
        c.gracefulShutdownTimeoutSeconds = 30
        c.asyncRequestWorkerFactor = 1.9
        let text = MPMExplanation(MPMSettings(kind: .event, c)).text
        #expect(text.contains("MaxConnectionsPerChild: a child retires after 500 connections."))
        #expect(text.contains("GracefulShutdownTimeout: a graceful stop waits at most 30 seconds for requests to finish."))
        #expect(text.contains("= 25 + 1 x idle, so up to 50 per child (25 x (1 + 1)) when every worker is idle."))
        #expect(text.contains("Connections in all (Apache's figure): 16 children x 50 = 800."))
        #expect(!MPMExplanation(MPMSettings(kind: .event, MPMConfig())).text.contains("GracefulShutdownTimeout"))
    }
}
