import Foundation
import Glibc

/// A fresh directory under $TMPDIR (or /tmp), world-readable (0755) so that Apache's
/// children, which run as www-data when the tests run as root, can read it.
final class TemporaryDirectory {
    let path: String

    init(prefix: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw HarnessError("mkdtemp in \(base): \(errnoText())") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o755)
    }

    /// Creates `relative` (and its parents) inside this directory, mode 0755.
    @discardableResult
    func makeDirectory(_ relative: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: full, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        return full
    }

    /// Removes the whole tree.
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
