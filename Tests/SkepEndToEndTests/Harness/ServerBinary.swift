import Foundation
import Glibc

/// Where the server binaries are, and the command lines that run them.
///
/// skep: env `SKEP_BIN`, else `skep` next to the running test bundle (SwiftPM puts
/// products and `SkepPackageTests.xctest` in the same directory), else
/// `<package root>/.build/debug/skep` found by walking up from this source file.
/// SkepTestApp: env `SKEP_TEST_APP_BIN`, else found as skep is.
/// Apache: env `APACHE_BIN`, else `/usr/sbin/apache2`.
enum ServerBinary {
    static var apachePath: String {
        ProcessInfo.processInfo.environment["APACHE_BIN"] ?? "/usr/sbin/apache2"
    }

    /// Whether the oracle can run here (use in `.enabled(if:)`).
    static var apacheAvailable: Bool { access(apachePath, X_OK) == 0 }

    /// The places searched for skep, in order.
    static func skepCandidates(filePath: String = #filePath) -> [String] {
        candidates(named: "skep", override: "SKEP_BIN", filePath: filePath)
    }

    /// The places searched for the product `name` (env `override` wins), in order.
    static func candidates(named name: String, override: String, filePath: String = #filePath) -> [String] {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment[override], !explicit.isEmpty {
            return [explicit]
        }
        // The running test executable (.build/<triple>/debug/SkepPackageTests.xctest).
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent + "/" + name)
        }
        let argv0 = CommandLine.arguments.first ?? ""
        if argv0.contains("/") {
            let absolute = argv0.hasPrefix("/") ? argv0 : FileManager.default.currentDirectoryPath + "/" + argv0
            candidates.append((absolute as NSString).deletingLastPathComponent + "/" + name)
        }
        // Walk up from this file to the package root.
        var dir = (filePath as NSString).deletingLastPathComponent
        while dir != "/" && !dir.isEmpty {
            if FileManager.default.fileExists(atPath: dir + "/Package.swift") {
                candidates.append(dir + "/.build/debug/" + name)
                break
            }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return candidates
    }

    /// The skep binary; throws naming every place looked at when it is missing.
    static func skepPath() throws -> String {
        try found(skepCandidates(), "the skep binary", override: "SKEP_BIN")
    }

    /// The SkepTestApp binary (a product of the package, built with the tests).
    static func testAppPath() throws -> String {
        try found(candidates(named: "SkepTestApp", override: "SKEP_TEST_APP_BIN"), "SkepTestApp", override: "SKEP_TEST_APP_BIN")
    }

    private static func found(_ candidates: [String], _ what: String, override: String) throws -> String {
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) {
            return found
        }
        throw HarnessError(
            "\(what) was not found (build it with `swift build --build-tests`, or set \(override)); looked at: "
                + candidates.joined(separator: ", "))
    }

    static func path(for kind: ServerKind) throws -> String {
        switch kind {
        case .skep: return try skepPath()
        case .testApp: return try testAppPath()
        case .apache:
            guard apacheAvailable else { throw HarnessError("\(apachePath) is not installed") }
            return apachePath
        }
    }

    /// The arguments that run `kind` on `configPath` in `mode`.
    static func arguments(for kind: ServerKind, configPath: String, mode: RunMode) -> [String] {
        switch (kind, mode) {
        case (.skep, .foreground), (.testApp, .foreground): return ["-f", configPath]
        case (.skep, .singleProcess), (.testApp, .singleProcess): return ["-X", "-f", configPath]
        case (.apache, .foreground): return ["-f", configPath, "-DFOREGROUND"]
        case (.apache, .singleProcess): return ["-X", "-f", configPath]
        }
    }

    /// The environment servers run with: ours, in the C locale.
    static func environment(_ overrides: [String: String?] = [:]) -> [String: String] {
        var all: [String: String?] = ["LANG": "C", "LC_ALL": "C"]
        all.merge(overrides) { $1 }
        return Subprocess.environment(all)
    }

    /// `-t -f CONF`: "Syntax OK" (on stderr for Apache) or the errors, exit 1.
    static func configtest(_ kind: ServerKind, configPath: String, timeout: Duration = .seconds(30)) throws -> Subprocess.Result {
        try Subprocess.run(
            path(for: kind), ["-t", "-f", configPath], environment: environment(), timeout: timeout)
    }

    /// Runs the binary of `kind` with arbitrary arguments (e.g. `-k stop -f CONF`).
    static func run(_ kind: ServerKind, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> Subprocess.Result {
        try Subprocess.run(path(for: kind), arguments, environment: environment(), timeout: timeout)
    }
}
