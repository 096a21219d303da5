import CSkepSystem
import Glibc

/// An open file: a static file being served, or a log file being appended to.
///
/// Always opened close-on-exec so CGI children do not inherit it.
public struct File: Hashable, Sendable {
    /// The descriptor (for `Socket.sendfile(from:)`).
    public let descriptor: Descriptor

    @inlinable
    public init(descriptor: Descriptor) { self.descriptor = descriptor }

    /// open(O_RDONLY | O_CLOEXEC): a file to serve. ENOENT/EACCES are thrown for the caller
    /// to turn into 404/403.
    /// - Parameter noFollow: O_NOFOLLOW, fail with ELOOP if the last component is a symlink
    ///   (for `Options -FollowSymLinks`).
    public static func openForReading(_ path: String, noFollow: Bool = false) throws -> File {
        try open(path, flags: O_RDONLY | (noFollow ? O_NOFOLLOW : 0))
    }

    /// open(O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC): a log file. With O_APPEND, each
    /// `write` of one whole line lands atomically at the end even when many children
    /// append to the same file, which is how Apache's logs work.
    public static func openForAppending(_ path: String, permissions: mode_t = 0o644) throws -> File {
        try open(path, flags: O_WRONLY | O_APPEND | O_CREAT, permissions: permissions)
    }

    /// open(2) with any flags; O_CLOEXEC is always added. EINTR is retried.
    public static func open(_ path: String, flags: Int32, permissions: mode_t = 0o644) throws -> File {
        let fd = try withPath(path) { cPath in
            try retryingInterrupts("open") { cskep_open(cPath, flags | O_CLOEXEC, UInt32(permissions)) }
        }
        return File(descriptor: Descriptor(rawValue: fd))
    }

    /// fstat(2) of the open file: the size and mtime that go with exactly these bytes.
    public func status() throws -> FileStatus {
        var st = stat()
        if fstat(descriptor.rawValue, &st) == -1 { throw SystemError("fstat") }
        return FileStatus(st)
    }

    /// read(2) at the current position. Returns the count; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        Int(try retryingInterruptsLong("read") { Glibc.read(descriptor.rawValue, buffer.baseAddress, buffer.count) })
    }

    /// pread(2) at `offset` (does not move the position; safe from several threads).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        Int(try retryingInterruptsLong("pread") { Glibc.pread(descriptor.rawValue, buffer.baseAddress, buffer.count, off_t(offset)) })
    }

    /// One write(2); may be partial.
    public func write(_ buffer: UnsafeRawBufferPointer) throws -> Int {
        Int(try retryingInterruptsLong("write") { Glibc.write(descriptor.rawValue, buffer.baseAddress, buffer.count) })
    }

    /// Writes all of `buffer`, looping over partial writes. For log lines, pass the whole
    /// line so the first (normally only) write(2) carries it atomically.
    public func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            offset += try write(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
        }
    }

    /// Closes the file.
    public func close() { descriptor.close() }

    /// The whole content of the file at `path` (a map or list the server reads at once).
    public static func readAll(_ path: String) throws -> [UInt8] {
        let file = try File.openForReading(path)
        defer { file.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
            if count <= 0 { return bytes }
            bytes.append(contentsOf: chunk.prefix(count))
        }
    }
}

@inline(__always)
func retryingInterruptsLong(_ call: StaticString, _ body: () -> Int) throws -> Int {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(code: code, call)
    }
}
