import Glibc
import SkepConfig
import SkepSystem

/// A `prg:` map: one long-lived helper program per map and generation, as Apache runs it.
///
/// The master starts it while it builds the generation (`RewriteMaps.prepare`), before
/// the children fork, so every child of the generation inherits the same two pipes. A
/// lookup writes the key and a newline to the program's standard input and reads one
/// line back; the word `NULL` (any case) means "no value". The exchange is serialized
/// across threads and processes by a `ProcessLock` (Apache's `rewrite-map` mutex), so
/// answers never interleave. The program is stopped, through a pidfd, when the generation's
/// configuration is released by the process that started it (a restart or the end).
final class RewriteMapProgram: @unchecked Sendable {
    /// The program and its arguments as written after `prg:` (argv[0] made absolute).
    let arguments: [String]
    /// `RewriteMap name prg:/path user:group`: who the program runs as when the server
    /// starts as root (otherwise ignored, as APR ignores it without root).
    let user: String?
    let group: String?
    /// The `RewriteMap` line, for the start-up error.
    let location: SourceLocation?

    /// Where the helper is in its life; changed only by `start()` and `stop()`.
    enum State {
        /// Configured, not started (configuration test, or not started for this server).
        case configured
        /// Running: its pidfd, the pipe to its standard input and the one from its
        /// standard output, and the process that started it (the only one that stops it).
        case running(handle: ProcessHandle, input: Descriptor, output: Descriptor, owner: ProcessID, lock: ProcessLock)
        /// Stopped at the end of its generation (or its start failed).
        case stopped
    }

    private let mutex = Mutex()
    private var state: State = .configured

    init(arguments: [String], user: String?, group: String?, location: SourceLocation?) {
        self.arguments = arguments
        self.user = user
        self.group = group
        self.location = location
    }

    deinit { stop() }

    /// The program's pid while it runs (for tests and `-D DUMP` style reports).
    var pid: ProcessID? {
        mutex.withLock {
            if case .running(let handle, _, _, _, _) = state { return handle.pid }
            return nil
        }
    }

    /// Starts the program (configured → running); a map already started or stopped is
    /// left as it is. Throws Apache's AH00654 when it cannot be started.
    func start() throws(ConfigError) {
        let failure: String? = mutex.withLock {
            guard case .configured = state else { return nil }
            do {
                state = try launch()
                return nil
            } catch {
                state = .stopped
                return "\(error)"
            }
        }
        if let failure {
            throw ConfigError(location, "AH00654: mod_rewrite: could not start RewriteMap program \(arguments.first ?? ""): \(failure)")
        }
    }

    /// Why the program could not be started, before any system call said so.
    struct LaunchFailure: Error, CustomStringConvertible {
        let description: String
    }

    private func launch() throws -> State {
        guard let program = arguments.first else { throw LaunchFailure(description: "no program named") }
        let lock = try ProcessLock()
        let toProgram = try Descriptor.pipe()
        let fromProgram = try Descriptor.pipe()
        defer {
            // The program's ends belong to it once it runs (and are closed on failure).
            toProgram.read.close()
            fromProgram.write.close()
        }
        var path = program
        var argv = arguments
        if Credentials.isRoot, let user {
            // posix_spawn cannot change credentials; util-linux's setpriv does it in the
            // new process before it executes the program, as APR does after its fork.
            guard let account = try UserAccount.lookup(user) else { throw LaunchFailure(description: "no user \(user)") }
            var groupID = account.groupID
            if let group {
                guard let found = try GroupAccount.resolveGroupID(group) else { throw LaunchFailure(description: "no group \(group)") }
                groupID = found
            }
            path = "/usr/bin/setpriv"
            argv = ["setpriv", "--reuid=\(account.userID)", "--regid=\(groupID)", "--init-groups", "--"] + arguments
        }
        let directory = program.lastIndex(of: "/").map { String(program[..<$0]) }.flatMap { $0.isEmpty ? "/" : $0 }
        let pid: ProcessID
        do {
            pid = try Process.spawn(path: path, arguments: argv, standardInput: toProgram.read, standardOutput: fromProgram.write,
                                    workingDirectory: directory, closingOtherDescriptors: true)
        } catch {
            toProgram.write.close()
            fromProgram.read.close()
            throw error
        }
        return .running(handle: ProcessHandle(pid), input: toProgram.write, output: fromProgram.read, owner: Process.id, lock: lock)
    }

    /// Stops the program (running → stopped): SIGTERM through its pidfd and its pipes
    /// closed, so it also sees the end of its input. Only the process that started it
    /// does this; a child holding a copy of the configuration leaves it alone. The master
    /// reaps it with its children.
    func stop() {
        mutex.withLock {
            guard case .running(let handle, let input, let output, let owner, _) = state, owner == Process.id else { return }
            try? handle.send(.terminate)
            handle.close()
            input.close()
            output.close()
            state = .stopped
        }
    }

    /// The program's answer for `key`, as Apache's `lookup_map_program`: nil when it is not
    /// running, when the key holds a newline (it would put the pipe out of step), when
    /// the lock cannot be taken, or when the answer is `NULL`. A program that died
    /// answers the empty string, as in Apache (its pipe reads end-of-file).
    func lookup(_ key: String) -> String? {
        let running: (input: Descriptor, output: Descriptor, lock: ProcessLock)? = mutex.withLock {
            if case .running(_, let input, let output, _, let lock) = state { return (input, output, lock) }
            return nil
        }
        guard let running, !key.utf8.contains(UInt8(ascii: "\n")) else { return nil }
        guard let answer = try? running.lock.withLock({ Self.exchange(key, running.input, running.output) }) else { return nil }
        if answer.count == 4, String(decoding: answer, as: UTF8.self).lowercased() == "null" { return nil }
        return String(decoding: answer, as: UTF8.self)
    }

    /// Writes `key` and a newline, then reads up to the next newline one byte at a time,
    /// as Apache does: the pipe is shared by every child, so nothing past the answer's
    /// line may be taken from it. Write errors are ignored (a dead program's pipe then
    /// reads end-of-file).
    static func exchange(_ key: String, _ input: Descriptor, _ output: Descriptor) -> [UInt8] {
        var line = Array(key.utf8)
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(input.rawValue, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if written > 0 { offset += written } else if written == -1 && errno == EINTR { continue } else { break }
            }
        }
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = Glibc.read(output.rawValue, &byte, 1)
            if count == -1 && errno == EINTR { continue }
            guard count == 1, byte != UInt8(ascii: "\n") else { break }
            answer.append(byte)
        }
        return answer
    }

    /// `apr_tokenize_to_argv`: words separated by blanks, each optionally in single or
    /// double quotes, with a backslash taking the next character literally.
    static func tokenize(_ text: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        var inWord = false
        var quote: UInt8?
        var escaped = false
        for b in text.utf8 {
            if escaped {
                current.append(b)
                escaped = false
                continue
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                inWord = true
                continue
            }
            if let q = quote {
                if b == q { quote = nil } else { current.append(b) }
                continue
            }
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") {
                if inWord { words.append(String(decoding: current, as: UTF8.self)); current = []; inWord = false }
                continue
            }
            inWord = true
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") { quote = b } else { current.append(b) }
        }
        if inWord { words.append(String(decoding: current, as: UTF8.self)) }
        return words
    }
}
