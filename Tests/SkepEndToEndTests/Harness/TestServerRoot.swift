import Foundation
import Glibc

/// A throwaway ServerRoot: a temp directory with `htdocs/` (the DocumentRoot),
/// `logs/`, `run/` and `conf/`, readable by www-data (Apache's children run as
/// www-data when the tests run as root). Tests put files into the docroot with
/// `writeDocument`.
///
/// The tree is removed by `remove()` (which `withServer` calls) unless the
/// environment sets `SKEP_KEEP_TEST_ROOTS=1`, to look at logs after a failure.
final class TestServerRoot {
    private let directory: TemporaryDirectory
    var path: String { directory.path }
    var docroot: String { path + "/htdocs" }
    var logs: String { path + "/logs" }
    var run: String { path + "/run" }
    var conf: String { path + "/conf" }

    init(prefix: String = "skep-e2e") throws {
        directory = try TemporaryDirectory(prefix: prefix)
        for sub in ["htdocs", "logs", "run", "conf"] {
            try directory.makeDirectory(sub)
        }
    }

    /// Writes a file under the DocumentRoot (creating intermediate directories);
    /// returns its absolute path.
    @discardableResult
    func writeDocument(_ relative: String, _ contents: String, mode: mode_t = 0o644) throws -> String {
        try writeFile(under: docroot, relative, Array(contents.utf8), mode: mode)
    }

    @discardableResult
    func writeDocument(_ relative: String, bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        try writeFile(under: docroot, relative, bytes, mode: mode)
    }

    /// Writes a file anywhere under the ServerRoot; returns its absolute path.
    @discardableResult
    func writeFile(_ relative: String, _ contents: String, mode: mode_t = 0o644) throws -> String {
        try writeFile(under: path, relative, Array(contents.utf8), mode: mode)
    }

    /// Creates a directory under the ServerRoot (mode 0755); returns its path.
    @discardableResult
    func makeDirectory(_ relative: String) throws -> String {
        try directory.makeDirectory(relative)
    }

    private func writeFile(under base: String, _ relative: String, _ bytes: [UInt8], mode: mode_t) throws -> String {
        let full = base + "/" + relative
        let parent = (full as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: parent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw HarnessError("cannot write \(full): \(errnoText())")
        }
        chmod(full, mode)
        return full
    }

    /// Reads a file under the ServerRoot as text ("" if absent).
    func read(_ relative: String) -> String {
        let full = relative.hasPrefix("/") ? relative : path + "/" + relative
        guard let data = FileManager.default.contents(atPath: full) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Removes the tree, unless SKEP_KEEP_TEST_ROOTS=1.
    func remove() {
        if ProcessInfo.processInfo.environment["SKEP_KEEP_TEST_ROOTS"] == "1" { return }
        directory.remove()
    }
}
