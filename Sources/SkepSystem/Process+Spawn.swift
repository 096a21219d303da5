import CSkepSystem
import Glibc

extension Process {
    /// Starts `path` as a new program with posix_spawn (piped logs such as
    /// `CustomLog "|/usr/bin/rotatelogs ..."`, CGI-style helpers, FastCGI back ends).
    ///
    /// Why posix_spawn and not fork+exec: it is safe from a multi-threaded child (it uses
    /// vfork-style cloning and runs no Swift code in the new process), and cheap. The new
    /// program starts with an empty signal mask and default dispositions for every signal,
    /// so it does not inherit the master's blocked signals or a child's ignored SIGPIPE.
    ///
    /// - Parameters:
    ///   - path: an absolute path (no PATH search).
    ///   - arguments: argv, including argv[0].
    ///   - environment: `"NAME=value"` strings; `nil` inherits the caller's environment.
    ///   - standardInput/Output/Error: descriptors to install as 0, 1, 2 (others are
    ///     inherited unless close-on-exec, which every SkepSystem descriptor is).
    ///   - newProcessGroup: put the program in its own process group (so a terminal's
    ///     Ctrl-C does not reach it, and the group can be signalled at once).
    ///   - workingDirectory: the directory the program starts in (a CGI script's own).
    ///   - closingOtherDescriptors: close every descriptor above 2 in the new program,
    ///     close-on-exec or not, so nothing another thread opened without `O_CLOEXEC`
    ///     (a library's descriptor) can leak into it.
    /// - Returns: the new process's pid; reap it with `wait(for:)`/`reap(_:)`.
    public static func spawn(
        path: String,
        arguments: [String],
        environment: [String]? = nil,
        standardInput: Descriptor? = nil,
        standardOutput: Descriptor? = nil,
        standardError: Descriptor? = nil,
        newProcessGroup: Bool = false,
        workingDirectory: String? = nil,
        closingOtherDescriptors: Bool = false
    ) throws -> ProcessID {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, target) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            if let source {
                let result = posix_spawn_file_actions_adddup2(&actions, source.rawValue, target)
                if result != 0 { throw SystemError(code: result, "posix_spawn_file_actions_adddup2") }
            }
        }
        if let workingDirectory {
            let result = workingDirectory.withCString { cskep_spawn_addchdir(&actions, $0) }
            if result != 0 { throw SystemError(code: result, "posix_spawn_file_actions_addchdir_np") }
        }
        if closingOtherDescriptors {
            let result = cskep_spawn_addclosefrom(&actions, 3)
            if result != 0 { throw SystemError(code: result, "posix_spawn_file_actions_addclosefrom_np") }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = SignalSet.empty.raw
        var allSignals = SignalSet.all.raw
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }

        var pid: pid_t = 0
        let result: Int32 = path.withCString { cPath in
            argv.withUnsafeBufferPointer { argvBuffer in
                if let envp {
                    return envp.withUnsafeBufferPointer { envBuffer in
                        posix_spawn(&pid, cPath, &actions, &attributes, argvBuffer.baseAddress!, envBuffer.baseAddress!)
                    }
                }
                return posix_spawn(&pid, cPath, &actions, &attributes, argvBuffer.baseAddress!, environ)
            }
        }
        if result != 0 { throw SystemError(code: result, "posix_spawn") }
        return ProcessID(pid)
    }
}
