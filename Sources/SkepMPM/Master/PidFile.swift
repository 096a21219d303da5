import SkepConfig
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// The master's PidFile: written at start and after every restart (so `skep -k` can tell
/// that a restart finished), removed on exit.
public struct PidFile {
    public let path: String

    public init(_ config: ServerConfig) {
        path = config.serverRootRelative(config[CoreServerConfig.self].pidFilePath)
    }

    public func write() throws {
        let text = "\(getpid())\n"
        let temporary = path + ".tmp"
        let file = try File.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions: 0o644)
        defer { file.close() }
        try Array(text.utf8).withUnsafeBytes { try file.writeAll($0) }
        try FileSystem.rename(temporary, to: path)
    }

    public func remove() {
        try? FileSystem.remove(path)
    }
}
