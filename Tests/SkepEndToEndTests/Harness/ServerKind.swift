/// Which server a config is rendered for and a process runs: the `skep` under test,
/// Debian's Apache httpd as the oracle for differential tests, or `SkepTestApp`, a
/// server built on the `Skep` library with test handlers (rendered and run as skep is).
enum ServerKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case skep
    case apache
    case testApp = "SkepTestApp"

    var description: String { rawValue }
}

/// Apache's three Multi-Processing Modules, which skep implements too.
enum MPM: String, Sendable, CaseIterable, CustomStringConvertible {
    case event
    case worker
    case prefork

    var description: String { rawValue }
    /// The module identifier, as in `LoadModule mpm_event_module ...`.
    var moduleName: String { "mpm_\(rawValue)" }
}

/// How a server is run.
enum RunMode: Sendable {
    /// The master in the foreground, forking children
    /// (skep: `-f CONF`; Apache: `-f CONF -DFOREGROUND`).
    case foreground
    /// One process, no children, foreground (`-X`), as Apache's debug mode.
    case singleProcess
}
