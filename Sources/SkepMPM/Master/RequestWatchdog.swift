import SkepScoreboard
import SkepServer
import SkepSystem

/// Skep's own `RequestWatchdogTimeout`, what gunicorn does for hung workers and Apache
/// cannot: once a second the master looks for requests that have run longer than the
/// limit, logs each with its request line and slot, and retires its child gracefully
/// (its other requests finish, a fresh child takes its place at once). A child that is
/// still there after a further `timeout` seconds — the hung request holds it — is killed.
struct RequestWatchdog {
    var timeoutSeconds: Int
    /// Children retired for a hung request, and when they must be gone by.
    private var deadlines: [ProcessID: UInt64] = [:]

    init(timeoutSeconds: Int) {
        self.timeoutSeconds = timeoutSeconds
    }

    var isOn: Bool { timeoutSeconds > 0 }

    mutating func forget(_ pid: ProcessID) {
        deadlines[pid] = nil
    }

    /// One pass over the live children: retires those holding an overdue request and
    /// kills those that outlived their retirement.
    mutating func check(_ children: [ProcessID: Int], scoreboard: Scoreboard, threads: Int, log: ErrorLog, module: String,
                        retire: (Int) -> Void) {
        guard isOn else { return }
        let now = SystemClock.monotonicMilliseconds()
        let wall = SystemClock.now().microseconds
        let limit = Int64(timeoutSeconds) * 1_000_000  // trap-safe: RequestWatchdogTimeout is 0...86400 s (MPMModule)
        for (pid, slot) in children {
            if let deadline = deadlines[pid] {
                guard now >= deadline else { continue }
                log.log(.error, module: module, always: true,
                        "child pid \(pid) still holds a request \(timeoutSeconds) s after RequestWatchdogTimeout retired it: sending SIGKILL")
                try? Signal.kill.send(to: pid)
                deadlines[pid] = UInt64.max
                continue
            }
            let overdue = (0..<threads).map { scoreboard.worker(slot, $0) }.filter {
                $0.pid == pid.rawValue && $0.status == .writing && wall - $0.startMicroseconds > limit
            }
            guard !overdue.isEmpty else { continue }
            for worker in overdue {
                log.log(.error, module: module, always: true,
                        "RequestWatchdogTimeout: \"\(worker.request)\" from \(worker.client) in slot \(slot).\(worker.thread) of child pid \(pid) has run \((wall - worker.startMicroseconds) / 1_000_000) s (limit \(timeoutSeconds) s): retiring the child")
            }
            retire(slot)
            deadlines[pid] = now + UInt64(timeoutSeconds) * 1000  // trap-safe: RequestWatchdogTimeout is 0...86400 s (MPMModule)
        }
    }
}
