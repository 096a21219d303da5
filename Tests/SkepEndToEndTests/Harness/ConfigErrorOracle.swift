import Testing

/// A configuration both servers must refuse: `extra` added to the base config with
/// `modules` loaded, `-t` run on each.
enum ConfigErrorOracle {
    /// Both exit 1, and skep's message is Apache's (the line after "Syntax error on line
    /// N of FILE:"), at the line of `extra` Apache names.
    static func expectSameRefusal(_ extra: String, modules: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        var config = try TestConfig(extra: extra)
        defer { config.root.remove() }
        config.modules = modules
        config.skepModules = modules.filter { TestConfig.skepAvailableModules.contains($0) || $0 == "mime" || $0 == "log_config" }
        let ours = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
        let theirs = try Oracle.configtest(config)
        #expect(ours.status == 1 && theirs.status == 1, "skep \(ours.statusText) \(ours.stderr) / Apache \(theirs.statusText) \(theirs.stderr)",
                sourceLocation: sourceLocation)
        let lines = theirs.stderr.split(separator: "\n").map(String.init)
        guard let at = lines.firstIndex(where: { $0.contains("Syntax error on line") }), at + 1 < lines.count,
              let number = lines[at].split(separator: " ").dropFirst(5).first else {
            Issue.record("Apache's message: \(theirs.stderr)", sourceLocation: sourceLocation)
            return
        }
        // The same line of `extra` (the renderings differ in the lines before it).
        func start(_ kind: ServerKind) -> Int {
            let first = extra.split(separator: "\n").first.map(String.init) ?? extra
            return (config.render(for: kind).split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == first } ?? 0) + 1
        }
        let line = (Int(number) ?? 0) - start(.apache) + start(.skep)
        #expect(ours.stderr.contains(":\(line): \(lines[at + 1])"), "skep: \(ours.stderr)\nApache: \(theirs.stderr)", sourceLocation: sourceLocation)
    }
}
