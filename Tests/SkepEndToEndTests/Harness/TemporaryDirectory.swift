import Foundation
import Glibc

/// A fresh directory under $TMPDIR (or /tmp), world-readable (0755) so that Apache's
/// children, which run as www-data when the tests run as root, can read it.
final class TemporaryDirectory {
    let path: String

    init(prefix: String) throws {
        path = try makeTemporaryDirectory(prefix: prefix)
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
