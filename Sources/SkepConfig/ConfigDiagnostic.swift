/// One finding of the configuration reader, always printed as `file:line: message`
/// so that a user (and an editor) can jump to the directive.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: Sendable, Hashable { case error, warning, note }

    public var severity: Severity
    public var location: SourceLocation?
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation?, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public var description: String {
        let prefix = location.map { "\($0): " } ?? ""
        switch severity {
        case .error: return prefix + message
        case .warning: return prefix + "warning: " + message
        case .note: return prefix + "note: " + message
        }
    }
}

/// A configuration that must not start a server. It carries every error found,
/// not only the first, so a user sees the whole problem in one run.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(_ diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }

    public init(_ location: SourceLocation?, _ message: String) {
        self.diagnostics = [ConfigDiagnostic(.error, location, message)]
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
