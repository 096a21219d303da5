import Skep

/// The module's per-directory record: what `ExampleGreeting` sets. Skep merges it down
/// the `<VirtualHost>`, `<Directory>`, `<Location>` and `<Files>` sections that match a
/// request, and a handler reads the result with `request.config(GreetingConfig.self)`.
struct GreetingConfig: ModuleConfig {
    /// nil where no `ExampleGreeting` applies.
    var greeting: String?

    static let defaultGreeting = "Hello from Skep"
    static let maximumLength = 200

    init() {}

    /// A nested section's greeting wins over the one around it.
    func merged(with child: GreetingConfig) -> GreetingConfig {
        var out = self
        out.greeting = child.greeting ?? greeting
        return out
    }

    static func declare(in module: inout Module) {
        module.directive("ExampleGreeting", .take1, in: .anywhere, for: GreetingConfig.self,
                         help: "the text the JSON endpoint greets with, in quotes") { arguments, config in
            config.greeting = try validated(arguments[0])
        }
    }

    /// The greeting, or the reason it is refused (reported at the directive's file:line).
    static func validated(_ text: String) throws -> String {
        if text.allSatisfy(\.isWhitespace) {
            throw DirectiveError("the greeting is empty; write the text in quotes, e.g. ExampleGreeting \"\(defaultGreeting)\"")
        }
        if text.count > maximumLength {
            throw DirectiveError("the greeting has \(text.count) characters; at most \(maximumLength) are allowed")
        }
        return text
    }
}
