import SkepSystem

/// Waits for a forked child with a deadline; SIGKILLs and reaps it and returns nil if it
/// overruns.
public func waitForChild(_ pid: ProcessID, timeoutMilliseconds: Int = 10_000) throws -> ExitStatus? {
    let deadline = Deadline(after: .milliseconds(timeoutMilliseconds))
    while !deadline.hasPassed {
        if let status = try Process.reap(pid) { return status }
        // The poll interval of this wait (waitpid WNOHANG), as in `Deadline.wait`.
        Deadline.sleep(for: .milliseconds(1))
    }
    try? Signal.kill.send(to: pid)
    _ = try? Process.wait(for: pid)
    return nil
}
