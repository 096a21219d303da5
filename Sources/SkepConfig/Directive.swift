/// One directive or section of the configuration tree, after `Include`, `Define`,
/// `${VAR}` and the `<If...>` conditionals have been resolved by the reader.
public struct Directive: Sendable {
    /// The name as written (`DocumentRoot`, or `Directory` for `<Directory ...>`).
    public var name: String
    /// The arguments, unquoted and with escapes resolved.
    public var arguments: [String]
    public var location: SourceLocation
    /// The logical line as written after variable expansion, for messages.
    public var text: String
    /// Nested directives when this is a section (`<VirtualHost>`, `<Directory>`...); nil otherwise.
    public var children: [Directive]?

    public init(name: String, arguments: [String], location: SourceLocation, text: String, children: [Directive]? = nil) {
        self.name = name
        self.arguments = arguments
        self.location = location
        self.text = text
        self.children = children
    }

    public var isSection: Bool { children != nil }

    /// The lowercased name, the key directive tables are looked up by (Apache matches case-insensitively).
    public var key: String { name.lowercased() }

    /// An error about this directive, in the `file:line: message (text)` form every error takes.
    public func error(_ message: String) -> ConfigError {
        ConfigError(location, "\(message) (\(text))")
    }

    public func warning(_ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(.warning, location, "\(message) (\(text))")
    }
}
