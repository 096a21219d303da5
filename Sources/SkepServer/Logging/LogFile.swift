import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// An append-only log file shared by every process and thread: each line is one
/// `write(2)` on an `O_APPEND` descriptor, so lines from many writers never interleave.
/// Opened by the master before it forks, so children inherit it, as Apache's logs are.
public final class LogFile: @unchecked Sendable {
    public let path: String
    public private(set) var descriptor: Descriptor

    /// Opens `path` for appending; `/dev/stderr` and `/dev/stdout` write to those streams.
    public init(path: String) throws {
        self.path = path
        switch path {
        case "/dev/stderr": descriptor = .standardError
        case "/dev/stdout": descriptor = .standardOutput
        default: descriptor = try File.openForAppending(path).descriptor
        }
    }

    /// Writes one whole line (the caller includes the newline).
    public func write(_ line: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < line.count {
            let n = Glibc.write(descriptor.rawValue, line.baseAddress! + offset, line.count - offset)  // trap-safe: offset < line.count, so the line is not empty
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }

    public func write(_ line: [UInt8]) { line.withUnsafeBytes { write($0) } }

    /// Reopens the file at its path, for log rotation on restart.
    public func reopen() throws {
        guard descriptor.rawValue > 2 else { return }
        let fresh = try File.openForAppending(path).descriptor
        _ = try fresh.duplicate(onto: descriptor)
        fresh.close()
    }
}
