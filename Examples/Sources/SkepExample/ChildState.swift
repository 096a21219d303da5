import Skep
import Synchronization

/// What one child process knows about itself, set by `child_init` and read by handlers.
///
/// Each child is a separate process with its own copy of this state, so nothing here is
/// shared between children. Within a worker or event child, though, `threads` handler
/// calls run at once: every access goes through the mutex. (Under prefork a child has
/// one thread and the lock is never contended.)
struct ChildState: Sendable {
    var pid: Int32 = 0
    var mpm = "none"
    /// How many handler calls this child may run at once: the size to give a per-child
    /// pool of database connections, for example.
    var threads = 0
    /// Requests the JSON endpoint has answered in this child.
    var requests = 0

    /// This process's state. A global `let` of a `Mutex` is safe to share between threads.
    static let current = Mutex(ChildState())

    static func declare(in module: inout Module) {
        // Runs in each new child before it serves, after it has switched to User/Group:
        // the place to open per-child resources (a connection pool sized by child.threads).
        module.onChildInit { child in
            current.withLock { $0 = ChildState(pid: child.pid, mpm: child.mpm, threads: child.threads) }
            child.log(.info,
                      "child \(child.pid) ready: \(child.mpm) MPM, \(child.threads) handler thread(s)")
        }
    }

    /// Counts one request and returns the state after it, in one critical section.
    static func countRequest() -> ChildState {
        current.withLock { state in
            state.requests += 1
            return state
        }
    }
}
