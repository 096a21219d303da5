import Glibc
import SkepSystem

/// One CGI script's process and the server's ends of its three pipes.
///
/// Started with `posix_spawn` from the thread that runs the request (a prefork child, or a
/// worker thread of a threaded child). glibc's `posix_spawn` clones with `CLONE_VM |
/// CLONE_VFORK` on a stack of its own: no address space is copied, no `atfork` handler
/// and no Swift code runs in the new process before `exec`, and only the calling thread
/// waits until the `exec` is done, so it is safe where `fork` is not (a threaded child
/// holding locks). Every descriptor above 2 is closed in the script, close-on-exec or not.
///
/// The script runs in a process group of its own, so a script that is stopped (its
/// client left, it timed out) is stopped with whatever it started; and it is always
/// reaped before the request ends.
final class CGIScriptProcess {
    /// Where the process is in its life; changed only by `reap`, `stop` and `finish`.
    enum State {
        case running(ProcessID)
        /// Reaped (or reaped by someone else, when the status is unknown).
        case ended(ExitStatus?)
    }

    private(set) var state: State
    /// The script's standard input, until the request body has been sent.
    private(set) var input: Descriptor?
    let output: Descriptor
    /// The script's standard error, until it reaches end of file.
    private(set) var errors: Descriptor?

    /// How long a script that did not end when it should have is given after SIGTERM
    /// before SIGKILL: Apache's `APR_KILL_AFTER_TIMEOUT` waits 3 seconds.
    static let terminateGraceNanoseconds: UInt64 = 3_000_000_000

    private init(pid: ProcessID, input: Descriptor, output: Descriptor, errors: Descriptor) {
        self.state = .running(pid)
        self.input = input
        self.output = output
        self.errors = errors
    }

    /// Starts `path` with `arguments` (argv[0] included) and `environment`, in `directory`.
    /// The server's ends of the pipes are non-blocking and close-on-exec.
    static func spawn(path: String, arguments: [String], environment: [String], directory: String) throws -> CGIScriptProcess {
        let stdin = try Descriptor.pipe()
        let stdout: (read: Descriptor, write: Descriptor)
        let stderr: (read: Descriptor, write: Descriptor)
        do {
            stdout = try Descriptor.pipe()
        } catch {
            stdin.read.close(); stdin.write.close()
            throw error
        }
        do {
            stderr = try Descriptor.pipe()
        } catch {
            [stdin.read, stdin.write, stdout.read, stdout.write].forEach { $0.close() }
            throw error
        }
        // The script's ends are installed as 0, 1 and 2 and closed here once it has them.
        defer { [stdin.read, stdout.write, stderr.write].forEach { $0.close() } }
        do {
            for end in [stdin.write, stdout.read, stderr.read] { try end.setNonBlocking(true) }
            let pid = try Process.spawn(path: path, arguments: arguments, environment: environment,
                                        standardInput: stdin.read, standardOutput: stdout.write, standardError: stderr.write,
                                        newProcessGroup: true, workingDirectory: directory, closingOtherDescriptors: true)
            return CGIScriptProcess(pid: pid, input: stdin.write, output: stdout.read, errors: stderr.read)
        } catch {
            [stdin.write, stdout.read, stderr.read].forEach { $0.close() }
            throw error
        }
    }

    /// Closes the script's standard input: the body has been sent (or will not be).
    func closeInput() {
        input?.close()
        input = nil
    }

    /// Stops reading standard error (it reached end of file).
    func closeErrors() {
        errors?.close()
        errors = nil
    }

    /// Reaps the script if it has exited; true once it has ended.
    @discardableResult
    func reap() -> Bool {
        guard case .running(let pid) = state else { return true }
        do {
            guard let status = try Process.reap(pid) else { return false }
            state = .ended(status)
        } catch {
            // ECHILD: nothing left to reap.
            state = .ended(nil)
        }
        return true
    }

    /// Ends the run as Apache's request cleanup does: reaps the script, and one still
    /// running is sent SIGTERM (with its group), given three seconds, then SIGKILL, and
    /// reaped. Closes every descriptor the server still holds.
    func finish() {
        closeInput()
        closeErrors()
        output.close()
        guard !reap(), case .running(let pid) = state else { return }
        try? Signal.terminate.send(toGroup: pid)
        let deadline = SystemClock.monotonicNanoseconds() &+ Self.terminateGraceNanoseconds
        var pause: UInt32 = 1000
        while SystemClock.monotonicNanoseconds() < deadline {
            if reap() { return }
            usleep(pause)
            pause = min(pause &* 2, 50_000)
        }
        try? Signal.kill.send(toGroup: pid)
        do {
            state = .ended(try Process.wait(for: pid))
        } catch {
            state = .ended(nil)
        }
    }

    /// Stops a script whose output is no longer wanted (its client left, it stalled past
    /// the timeout, the response was replaced): its group gets SIGTERM at once, then as
    /// `finish`.
    func stop() {
        if case .running(let pid) = state, !reap() {
            try? Signal.terminate.send(toGroup: pid)
        }
        finish()
    }
}
