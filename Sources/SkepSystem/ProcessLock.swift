import CSkepSystem
import Glibc

/// A lock that serializes threads and processes alike: a `Mutex` for the threads of one
/// process, then a POSIX record lock (`fcntl(F_SETLKW)`) on a temporary file for the
/// processes, as Apache's `apr_global_mutex` (its default `fcntl` mechanism) does.
///
/// Made in the master before the children fork: they inherit the descriptor, and record
/// locks are owned per process, so each child excludes the others through the same file.
/// The file is unlinked at once; nothing is left behind, and a process that dies while it
/// holds the lock releases it with its descriptors.
public final class ProcessLock: @unchecked Sendable {
    private let threads = Mutex()
    private let file: Descriptor
    /// The lock file's descriptor (tests check the record lock through it).
    var descriptor: Descriptor { file }

    /// Creates the lock file in `directory` (unlinked at once).
    public init(directory: String = "/tmp") throws {
        var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
            + Array("skep-lock.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }  // trap-safe: a non-empty array has a base address
        if fd == -1 { throw SystemError("mkstemp") }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }  // trap-safe: a non-empty array has a base address
        file = Descriptor(rawValue: fd)
        // Not inherited by the programs the server starts (it is by the children it forks).
        try? file.setCloseOnExec(true)
    }

    deinit { file.close() }

    /// Runs `body` holding the lock, against every thread and every process that shares it.
    /// Throws (and runs nothing) when the record lock cannot be taken.
    public func withLock<Result>(_ body: () throws -> Result) throws -> Result {
        try threads.withLock {
            var result: Int32
            repeat { result = cskep_lock_whole_file(file.rawValue, 1) } while result == -1 && errno == EINTR
            if result == -1 { throw SystemError("fcntl(F_SETLKW)") }
            defer { _ = cskep_unlock_whole_file(file.rawValue) }
            return try body()
        }
    }
}
