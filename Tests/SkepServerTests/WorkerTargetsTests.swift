@testable import SkepServer
import Testing

/// The listener's memory of targets whose handler blocked: remembered per target and
/// host, forgotten after its lifetime, and bounded.
@Suite struct WorkerTargetsTests {
    static func with<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        Array(text.utf8).withUnsafeBytes(body)
    }

    @Test func aTargetIsRememberedForItsLifetimeOnItsHost() {
        let targets = WorkerTargets()
        let start: UInt64 = 1_000
        Self.with("/hello-world/") { target in
            Self.with("a.example") { host in
                #expect(!targets.contains(target, host: host, now: start))
                targets.insert(target, host: host, now: start)
                #expect(targets.contains(target, host: host, now: start + 1))
                #expect(targets.contains(target, host: host, now: start + WorkerTargets.lifetimeNanoseconds - 1))
                #expect(!targets.contains(target, host: host, now: start + WorkerTargets.lifetimeNanoseconds))
                // Forgotten once expired, until inserted again.
                #expect(!targets.contains(target, host: host, now: start + 1))
            }
            Self.with("b.example") { other in
                #expect(!targets.contains(target, host: other, now: start + 1))
            }
        }
        Self.with("/hello-world/?x=1") { target in
            Self.with("a.example") { host in #expect(!targets.contains(target, host: host, now: start + 1)) }
        }
    }

    @Test func theTableStartsAfreshAtItsLimit() {
        let targets = WorkerTargets()
        let host = UnsafeRawBufferPointer(start: nil, count: 0)
        for i in 0..<WorkerTargets.limit {
            Self.with("/t\(i)") { targets.insert($0, host: host, now: 0) }
        }
        #expect(Self.with("/t0") { targets.contains($0, host: host, now: 1) })
        Self.with("/one-more") { targets.insert($0, host: host, now: 0) }
        #expect(!Self.with("/t0") { targets.contains($0, host: host, now: 1) })
        #expect(Self.with("/one-more") { targets.contains($0, host: host, now: 1) })
    }
}
