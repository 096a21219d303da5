import Foundation
import Glibc

/// Copies of a Debian package's installed trees (/usr/share/APP, /etc/APP, /var/lib/APP)
/// in a temporary directory, so that a test can run the application, change its config
/// and let it write its data without touching the system's files.
///
/// Each system path P is copied to `root + P` with `cp -a` (owners, modes and symbolic
/// links kept). Then every symbolic link in the copies that points into one of the copied
/// system paths is pointed at the copy instead — it stays a LINK (Debian ships
/// DokuWiki's `.htaccess` as a link into /etc, and the servers must follow it), only its
/// target changes. Links to paths not copied (/usr/share/javascript...) keep pointing at
/// the system's files (only read), relative ones made absolute.
///
/// `rewritePaths(in:)` makes the same change in a text file (a config naming
/// /etc/dokuwiki, an Apache snippet naming /usr/share/phpmyadmin): "unchanged except
/// paths".
final class HermeticCopy {
    let directory: TemporaryDirectory
    /// The system paths copied, longest first (so a longer prefix wins).
    let systemPaths: [String]
    var root: String { directory.path }

    /// Copies `systemPaths` (directories or files, absolute, without a trailing slash).
    init(_ systemPaths: [String], prefix: String = "skep-app") throws {
        self.systemPaths = systemPaths.sorted { $0.count > $1.count }
        directory = try TemporaryDirectory(prefix: prefix)
        do {
            for path in systemPaths {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw HarnessError("\(path) is not installed")
                }
                let parent = (copy(of: path) as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(
                    atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                let copied = try Subprocess.run("/bin/cp", ["-a", path, parent + "/"], timeout: .seconds(120))
                guard copied.succeeded else { throw HarnessError("cp -a \(path): \(copied.stderr)") }
            }
            for path in systemPaths { try relinkLinks(under: copy(of: path)) }
        } catch {
            directory.remove()
            throw error
        }
    }

    deinit { remove() }

    /// Removes the copies, unless SKEP_KEEP_TEST_ROOTS=1.
    func remove() {
        if ProcessInfo.processInfo.environment["SKEP_KEEP_TEST_ROOTS"] == "1" { return }
        directory.remove()
    }

    /// Where the copy of the system path `path` (or of a path under it) is.
    func copy(of path: String) -> String { root + path }

    /// `text` with every copied system path replaced by its copy's path (one pass, so a
    /// replacement is never replaced again).
    func rewritingPaths(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while !rest.isEmpty {
            if let path = systemPaths.first(where: { rest.hasPrefix($0) }) {
                out += copy(of: path)
                rest = rest.dropFirst(path.count)
            } else if let first = rest.first {
                out.append(first)
                rest = rest.dropFirst()
            }
        }
        return out
    }

    /// Rewrites the paths in the text file `file` (a path of the copy, or a system path,
    /// which is mapped to its copy), keeping its mode. Throws if nothing changed, so that a
    /// package update that moves the path shows up as a failure, not a silent no-op.
    func rewritePaths(in file: String) throws {
        let target = systemPaths.contains(where: { file.hasPrefix($0 + "/") }) ? copy(of: file) : file
        try edit(target) { rewritingPaths($0) }
    }

    /// Applies `change` to the text file `file` (in the copy); throws if it changes
    /// nothing. A symbolic link is edited through (its target, in the copy, changes).
    func edit(_ file: String, _ change: (String) -> String) throws {
        // Never through a link that leads out of the copies into the system's files.
        guard let resolved = realpath(file, nil) else { throw HarnessError("\(file): \(errnoText())") }
        defer { free(resolved) }
        guard String(cString: resolved).hasPrefix(root + "/") else {
            throw HarnessError("\(file) resolves to \(String(cString: resolved)), outside the copies in \(root)")
        }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let changed = change(text)
        guard changed != text else { throw HarnessError("\(file): the edit changed nothing (the package changed?)") }
        var info = stat()
        let mode: mode_t? = stat(file, &info) == 0 ? info.st_mode & 0o7777 : nil
        let owner = stat(file, &info) == 0 ? (info.st_uid, info.st_gid) : nil
        // Written in place (not atomically: that would replace a link with a file).
        guard let handle = FileHandle(forWritingAtPath: file) else { throw HarnessError("cannot write \(file): \(errnoText())") }
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(changed.utf8))
        if let mode { chmod(file, mode) }
        if let owner { chown(file, owner.0, owner.1) }
    }

    /// Gives `path` (in the copy) and everything under it to `user` (the account php-fpm's
    /// workers run as, when the tests run as root), as the package's postinst does for its
    /// data directories.
    func giveOwnership(of path: String, to user: String) throws {
        guard getuid() == 0 else { return }
        let result = try Subprocess.run("/bin/chown", ["-R", "\(user):\(user)", path], timeout: .seconds(60))
        guard result.succeeded else { throw HarnessError("chown -R \(user) \(path): \(result.stderr)") }
    }

    /// Fixes the links under `directory` (a copy): an absolute link into a copied system
    /// path is pointed at the copy; a relative link that leads out of the copies (WordPress's
    /// `../../../javascript/cropper`) is pointed at the system path it meant, absolutely.
    /// `find -type l` lists the links without following any (a link into a system directory
    /// must never be walked through, or the system's files would be changed).
    private func relinkLinks(under directory: String) throws {
        let found = try Subprocess.run("/usr/bin/find", [directory, "-type", "l", "-print0"], timeout: .seconds(60))
        guard found.succeeded else { throw HarnessError("find \(directory) -type l: \(found.stderr)") }
        for link in found.stdout.split(separator: "\0").map(String.init) {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { continue }
            let systemLink = String(link.dropFirst(root.count))
            let meant = target.hasPrefix("/")
                ? target : Self.normalized((systemLink as NSString).deletingLastPathComponent + "/" + target)
            let copied = systemPaths.contains { meant == $0 || meant.hasPrefix($0 + "/") }
            let newTarget: String
            switch (target.hasPrefix("/"), copied) {
            case (true, true): newTarget = copy(of: meant)
            case (false, false): newTarget = meant
            default: continue
            }
            guard unlink(link) == 0, symlink(newTarget, link) == 0 else {
                throw HarnessError("relinking \(link) (\(target)) to \(newTarget): \(errnoText())")
            }
        }
    }

    /// `path` with `.` and `..` components resolved lexically (links are not followed).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
