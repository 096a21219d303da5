import Foundation
import Glibc

/// A fresh directory `$TMPDIR/PREFIX.XXXXXX` (or under /tmp), mode 0700, made by
/// `mkdtemp`; its path. Nobody removes it: for a directory removed with its test, use
/// `TempDir`.
public func makeTemporaryDirectory(prefix: String = "skep-test") throws -> String {
    let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw HarnessError("mkdtemp in \(base): \(errnoText())") }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fresh temporary directory, removed with everything in it when the value goes away.
///
/// Its path has symbolic links resolved (a /tmp that is a link), as the configuration
/// stores ServerRoot and the paths under it.
public final class TempDir {
    /// The directory's real path.
    public let path: String

    public init(prefix: String = "skep-test") throws {
        let made = try makeTemporaryDirectory(prefix: prefix)
        if let real = realpath(made, nil) {
            path = String(cString: real)
            free(real)
        } else {
            path = made
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` at `relative` (creating parent directories) and returns the full path.
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try writeFile(full, text)
        return full
    }

    /// Creates the directory `relative` (and its parents); returns the full path.
    @discardableResult
    public func mkdir(_ relative: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

/// Writes `text` to the file at `path` in place (`O_TRUNC`: the same inode when it
/// exists, as an editor that saves over a file), mode 0644 when created.
public func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HarnessError("open \(path): \(errnoText())") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw HarnessError("write \(path): \(errnoText())") }
        offset += n
    }
}

/// The whole file at `path` as UTF-8 text, nil when it cannot be read.
public func readFile(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}
