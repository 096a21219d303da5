import Foundation
import Glibc

/// skep-example running on a free loopback port with a copy of `example.conf` that
/// differs only in its port and its log and pid paths (which go to a temporary
/// directory). Stop it with `stop()`.
final class ExampleServer {
    /// `Examples/`, the ServerRoot: the directory two levels above this file's.
    static let examplesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    let port: UInt16
    let directory: String
    let process = Process()

    /// Starts the server with `arguments` added (`-DPREFORK`) and returns once it accepts connections.
    init(_ arguments: [String] = []) throws {
        port = try freePort()
        directory = try makeTemporaryDirectory()
        let config = try Self.writeConfig(port: port, in: directory)
        process.executableURL = URL(fileURLWithPath: try Self.binary())
        process.arguments = ["-d", Self.examplesDirectory, "-f", config] + arguments
        guard FileManager.default.createFile(atPath: directory + "/output.log", contents: nil),
              let output = FileHandle(forWritingAtPath: directory + "/output.log") else {
            throw TestFailure("cannot create \(directory)/output.log")
        }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        do {
            try waitUntilReady(deadline: .now + .seconds(60))
        } catch {
            stop()
            throw error
        }
    }

    /// The binary next to the test bundle (SwiftPM puts products and
    /// `SkepExamplesPackageTests.xctest` in one directory), else in `Examples/.build/debug`.
    static func binary() throws -> String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent + "/skep-example")
        }
        candidates.append(examplesDirectory + "/.build/debug/skep-example")
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw TestFailure("skep-example is not built (swift build --package-path Examples); looked at "
                + candidates.joined(separator: ", "))
        }
        return found
    }

    /// `example.conf` with the port, `PidFile`, `ErrorLog` and `CustomLog` lines replaced
    /// and `extra` appended; returns the new file's path.
    static func writeConfig(port: UInt16, in directory: String, appending extra: String = "") throws -> String {
        var text = try String(contentsOfFile: examplesDirectory + "/example.conf", encoding: .utf8)
        let replacements = [
            "Listen 127.0.0.1:8088": "Listen 127.0.0.1:\(port)",
            "PidFile logs/skep-example.pid": "PidFile \(directory)/skep-example.pid",
            "ErrorLog /dev/stderr": "ErrorLog \(directory)/error.log",
            "CustomLog /dev/stdout common": "CustomLog \(directory)/access.log common",
        ]
        for (line, replacement) in replacements {
            guard text.contains(line + "\n") else { throw TestFailure("example.conf has no line '\(line)'") }
            text = text.replacingOccurrences(of: line + "\n", with: replacement + "\n")
        }
        let path = directory + "/example.conf"
        try (text + extra).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Polls until a connection to the port succeeds, failing early if the server exits.
    func waitUntilReady(deadline: ContinuousClock.Instant) throws {
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestFailure("skep-example exited: " + log()) }
            if let fd = try? connectLoopback(port) {
                close(fd)
                return
            }
            usleep(20_000)
        }
        throw TestFailure("skep-example did not accept connections on port \(port): " + log())
    }

    /// What the server wrote to its terminal and error log, for failure messages.
    func log() -> String {
        ["output.log", "error.log"].compactMap { try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
            .joined(separator: "\n")
    }

    /// SIGTERM to the master's PID, then waits for it to exit (SIGKILL after 30 s);
    /// returns its exit status. The master stops its children before it exits.
    @discardableResult
    func stop() -> Int32 {
        guard process.processIdentifier != 0 else { return -1 }  // never started
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `skep-example -t` on example.conf with `extra` appended; returns the exit status,
/// what it printed, and the checked file's path.
func configTest(appending extra: String) throws -> (status: Int32, output: String, config: String) {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let config = try ExampleServer.writeConfig(port: 8088, in: directory, appending: extra)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try ExampleServer.binary())
    process.arguments = ["-t", "-d", ExampleServer.examplesDirectory, "-f", config]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output, config)
}

func makeTemporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/skep-example-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp: errno \(errno)") }
    return String(cString: made)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
