#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system calls the reader needs, done with libc so that reading a
/// configuration starts no Foundation or Dispatch machinery in the master, which
/// must stay fork-safe (DESIGN.md section 5).
enum ConfigFiles {
    enum Kind { case file, directory, missing }

    static func kind(_ path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    /// The whole file as UTF-8 text, or the `strerror` text of why it could not be read.
    static func read(_ path: String) -> Result<String, FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(FileError(errno: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(FileError(errno: errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    static func realPath(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// The entries of a directory, sorted, without `.`, `..`.
    static func entries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// Paths matching a shell wildcard in any component. As Apache's
    /// `process_resource_config_fnmatch`, the matches of each component are sorted on
    /// their own, so `sites/a/x.conf` comes before `sites/a-b/x.conf`.
    static func glob(_ pattern: String) -> [String] {
        let absolute = pattern.hasPrefix("/")
        let components = pattern.split(separator: "/").map(String.init)
        var paths = [absolute ? "" : "."]
        for (index, component) in components.enumerated() {
            let last = index == components.count - 1
            var next: [String] = []
            for base in paths {
                let directory = base.isEmpty ? "/" : base
                if hasWildcard(component) {
                    for name in entries(directory) where !name.hasPrefix(".") || component.hasPrefix(".") {
                        guard fnmatch(component, name, FNM_PERIOD) == 0 else { continue }
                        let path = base + "/" + name
                        if last || kind(path) == .directory { next.append(path) }
                    }
                } else {
                    let path = base + "/" + component
                    if kind(path) != .missing { next.append(path) }
                }
            }
            paths = next
        }
        return paths.map { absolute ? $0 : String($0.dropFirst(2)) }
    }

    static func hasWildcard(_ path: String) -> Bool {
        path.contains("*") || path.contains("?") || path.contains("[")
    }

    static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }

    static func currentDirectory() -> String {
        guard let p = getcwd(nil, 0) else { return "/" }
        defer { free(p) }
        return String(cString: p)
    }
}

/// Why a file could not be read: its errno and `strerror`'s text.
public struct FileError: Error {
    public var errno: Int32
    public init(errno: Int32) { self.errno = errno }
    public var text: String { String(cString: strerror(errno)) }
}
