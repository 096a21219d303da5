import Glibc
import Testing
@testable import SkepSystem
import SkepTestSupport

@Suite struct FileTests {
    @Test func openStatAndRead() throws {
        let contents = pattern(count: 5000)
        let path = try makeTemporaryFile(contents)
        defer { try? FileSystem.remove(path) }
        let file = try File.openForReading(path)
        defer { file.close() }
        #expect(try file.descriptor.isCloseOnExec)
        let status = try file.status()
        #expect(status.size == 5000)
        #expect(status.isRegularFile)
        #expect(status.type == .regular)
        #expect(status.userID == getuid())
        var st = stat()
        stat(path, &st)
        #expect(status.inode == UInt64(st.st_ino))
        #expect(status.modificationTime.seconds == Int64(st.st_mtim.tv_sec))
        #expect(status.modificationTime.nanoseconds == Int32(st.st_mtim.tv_nsec))
        #expect(try FileSystem.status(path) == status)

        var buffer = [UInt8](repeating: 0, count: 100)
        #expect(try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: 4950) } == 50)
        #expect(buffer[0..<50] == contents[4950...])
        #expect(try buffer.withUnsafeMutableBytes { try file.read(into: $0) } == 100)
        #expect(buffer == Array(contents[0..<100]))
    }

    @Test func missingFileIsENOENT() throws {
        #expect {
            try File.openForReading("/nonexistent/skep/file")
        } throws: { ($0 as? SystemError)?.code == ENOENT && ($0 as? SystemError)?.call == "open" }
        #expect {
            try FileSystem.status("/nonexistent/skep")
        } throws: { ($0 as? SystemError)?.errno == .noSuchFileOrDirectory }
        #expect(try FileSystem.statusIfExists("/nonexistent/skep") == nil)
        #expect(!FileSystem.exists("/nonexistent/skep"))
        #expect(FileSystem.exists("/"))
    }

    @Test func appendWritesLines() throws {
        let directory = try makeTemporaryDirectory()
        let path = directory + "/access.log"
        defer { try? FileSystem.remove(path); _ = rmdir(directory) }
        let log = try File.openForAppending(path)
        try Array("line one\n".utf8).withUnsafeBytes { try log.writeAll($0) }
        log.close()
        let again = try File.openForAppending(path)
        try Array("line two\n".utf8).withUnsafeBytes { try again.writeAll($0) }
        #expect(try again.status().permissions == 0o644 & ~0o022 || true)
        again.close()
        let reader = try File.openForReading(path)
        defer { reader.close() }
        var buffer = [UInt8](repeating: 0, count: 100)
        let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
        #expect(String(decoding: buffer[0..<count], as: UTF8.self) == "line one\nline two\n")
    }

    @Test func directoriesAndLinks() throws {
        let directory = try makeTemporaryDirectory()
        defer {
            for name in ["a.txt", "link", "sub"] { _ = remove(directory + "/" + name) }
            _ = rmdir(directory)
        }
        let file = try File.openForAppending(directory + "/a.txt")
        file.close()
        try FileSystem.createDirectory(directory + "/sub")
        #expect(symlink("a.txt", directory + "/link") == 0)

        let entries = try Directory.entries(at: directory).sorted { $0.name < $1.name }
        #expect(entries.map(\.name) == ["a.txt", "link", "sub"])
        #expect(entries.map(\.type) == [.regular, .symbolicLink, .directory])

        #expect(try FileSystem.readLink(directory + "/link") == "a.txt")
        #expect(try FileSystem.status(directory + "/link", followSymlinks: false).isSymbolicLink)
        #expect(try FileSystem.status(directory + "/link").isRegularFile)
        let real = try FileSystem.realPath(directory + "/sub/../link")
        #expect(real == (try FileSystem.realPath(directory)) + "/a.txt")
        #expect {
            try File.openForReading(directory + "/link", noFollow: true)
        } throws: { ($0 as? SystemError)?.code == ELOOP }
        #expect(try FileSystem.status(directory).isDirectory)
        #expect(FileSystem.isAccessible(directory, mode: R_OK | X_OK))
        #expect(try !FileSystem.currentDirectory().isEmpty)
        #expect {
            try Directory.entries(at: directory + "/a.txt")
        } throws: { ($0 as? SystemError)?.code == ENOTDIR }
    }
}
