import SkepConfig
import SkepHTTP

/// Apache's mod_setenvif: `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch`,
/// `BrowserMatchNoCase` and `SetEnvIfExpr` set request variables from the request's
/// headers, addresses, method, protocol, URL, earlier variables or an expression.
///
/// As in Apache, the rules written at server level (main server, then the virtual
/// host's) run in the post-read-request phase, before the URL is translated; those in
/// `<Directory>`, `<Location>`, `<Files>` and `<If>` run in the header-parser phase,
/// once the sections are merged. Patterns are compiled when the configuration is read.
public struct SetEnvIfModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "setenvif_module", sourceName: "mod_setenvif.c", directives: [
        DirectiveSpec("SetEnvIf", .raw, .anywhere, help: "A header-name, regex and a list of variables.") { d, scope throws(ConfigError) in
            try add(d, &scope, caseless: false, browser: false)
        },
        DirectiveSpec("SetEnvIfNoCase", .raw, .anywhere, help: "a header-name, regex and a list of variables.") { d, scope throws(ConfigError) in
            try add(d, &scope, caseless: true, browser: false)
        },
        DirectiveSpec("BrowserMatch", .raw, .anywhere, help: "A browser regex and a list of variables.") { d, scope throws(ConfigError) in
            try add(d, &scope, caseless: false, browser: true)
        },
        DirectiveSpec("BrowserMatchNoCase", .raw, .anywhere, help: "A browser regex and a list of variables.") { d, scope throws(ConfigError) in
            try add(d, &scope, caseless: true, browser: true)
        },
        DirectiveSpec("SetEnvIfExpr", .raw, .anywhere, help: "an expression and a list of variables.") { d, scope throws(ConfigError) in
            let serverLevel = !scope.context.isDisjoint(with: .server)
            let rule = try SetEnvIfRule.parseExpression(d, serverLevel: serverLevel)
            append(rule, &scope, serverLevel: serverLevel)
        },
    ], overrides: [
        "SetEnvIf": .fileInfo,
        "SetEnvIfNoCase": .fileInfo,
        "BrowserMatch": .fileInfo,
        "BrowserMatchNoCase": .fileInfo,
        "SetEnvIfExpr": .fileInfo,
    ])

    public init(config: ServerConfig) {}

    static func add(_ d: Directive, _ scope: inout DirectiveScope, caseless: Bool, browser: Bool) throws(ConfigError) {
        let serverLevel = !scope.context.isDisjoint(with: .server)
        let rule: SetEnvIfRule
        if browser {
            rule = try SetEnvIfRule.parse(d, attribute: "User-Agent", words: d.arguments[...], caseless: caseless, serverLevel: serverLevel)
        } else {
            guard let attribute = d.arguments.first, !attribute.isEmpty else { throw d.error("Missing header-field name for \(d.name)") }
            rule = try SetEnvIfRule.parse(d, attribute: attribute, words: d.arguments.dropFirst(), caseless: caseless, serverLevel: serverLevel)
        }
        append(rule, &scope, serverLevel: serverLevel)
    }

    /// Server-level rules go to the server's record (post-read-request), the others to
    /// the section's (header parser), as Apache decides by `cmd->path`.
    static func append(_ rule: SetEnvIfRule, _ scope: inout DirectiveScope, serverLevel: Bool) {
        if serverLevel {
            scope.server[SetEnvIfConfig.self].rules.append(rule)
        } else {
            scope.directory[SetEnvIfConfig.self].rules.append(rule)
        }
    }

    public func postReadRequest(_ r: Request, _ server: ServerContext) -> HookResult {
        SetEnvIfMatcher.run(r.serverConfig(SetEnvIfConfig.self).rules, r, server, beforeTranslate: true)
        return .declined
    }

    public func headerParser(_ r: Request, _ server: ServerContext) -> HookResult {
        SetEnvIfMatcher.run(r.config(SetEnvIfConfig.self).rules, r, server, beforeTranslate: false)
        return .declined
    }
}

/// mod_setenvif's record, per server and per directory: the rules in order; a nested
/// scope's (or a virtual host's) follow the enclosing one's.
public struct SetEnvIfConfig: ModuleConfig {
    public var rules: [SetEnvIfRule] = []
    public init() {}
    public func merged(with child: SetEnvIfConfig) -> SetEnvIfConfig {
        child.rules.isEmpty ? self : SetEnvIfConfig(rules: rules + child.rules)
    }
    init(rules: [SetEnvIfRule]) { self.rules = rules }
}

/// Apache's `match_headers`: each rule's value is found, tested, and on a match its
/// variables are set (`$1`...`$9` from a regex) or removed.
enum SetEnvIfMatcher {
    static func run(_ rules: [SetEnvIfRule], _ r: Request, _ context: ServerContext, beforeTranslate: Bool) {
        for rule in rules {
            if case .expression = rule.test, case .expression(let expression) = rule.subject {
                var evaluation = ExprEvaluation(r, context)
                guard evaluation.evaluate(expression) == true else { continue }
                // `$N` in a value comes from the expression's last regex with groups.
                apply(rule, r, match: evaluation.match, literal: evaluation.match == nil)
                continue
            }
            let value = self.value(rule.subject, r, beforeTranslate: beforeTranslate)
            switch rule.test {
            case .substring(let needle, let caseless):
                if contains(value, needle, caseless: caseless) { apply(rule, r, match: nil, literal: true) }
            case .regex(let regex):
                if let match = regex.firstMatch(in: value) { apply(rule, r, match: match, literal: false) }
            case .expression:
                continue
            }
        }
    }

    static func apply(_ rule: SetEnvIfRule, _ r: Request, match: PCRERegex.Match?, literal: Bool) {
        for (name, action) in rule.actions {
            switch action {
            case .unset: r.environment[name] = nil
            case .set(let template):
                if literal {
                    r.environment[name] = template
                } else {
                    r.environment[name] = match?.substitute(template) ?? template
                }
            }
        }
    }

    /// The value a rule tests; "" when the header or variable is missing, so `^$` matches it.
    static func value(_ subject: SetEnvIfRule.Subject, _ r: Request, beforeTranslate: Bool) -> String {
        switch subject {
        case .remoteAddress, .remoteHost: return r.client.host
        case .serverAddress: return r.local.host
        case .requestMethod: return r.method
        case .requestProtocol: return r.protocolName
        case .requestURI:
            // Before translation Apache's `r->uri` is still the path as sent.
            if beforeTranslate, r.internalPath == nil, !r.head.pathRange.isEmpty {
                return String(decoding: UnsafeRawBufferPointer(rebasing: r.bytes[r.head.pathRange]), as: UTF8.self)
            }
            return r.uri
        case .header(let name):
            return r.header(name) ?? r.environment[name] ?? ""
        case .headerPattern(let regex):
            var found = ""
            for field in r.head.fields where regex.matches(r.head.string(field.name, in: r.bytes)) {
                found = r.head.string(field.value, in: r.bytes)
            }
            return found
        case .expression:
            return ""
        }
    }

    /// `apr_strmatch`: a substring search, the needle already lowercased when caseless.
    static func contains(_ haystack: String, _ needle: [UInt8], caseless: Bool) -> Bool {
        guard !needle.isEmpty else { return true }
        let bytes = Array(haystack.utf8)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) {
            var equal = true
            for k in 0..<needle.count {
                let b = caseless ? SetEnvIfRule.lowercase(bytes[start + k]) : bytes[start + k]
                if b != needle[k] { equal = false; break }
            }
            if equal { return true }
        }
        return false
    }
}
