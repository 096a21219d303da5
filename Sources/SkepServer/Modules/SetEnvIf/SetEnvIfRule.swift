import SkepConfig

/// One `SetEnvIf`/`BrowserMatch`/`SetEnvIfExpr` line (Apache's `sei_entry`): what it
/// looks at, how it matches, and the variables it sets or removes when it matches.
public struct SetEnvIfRule: Sendable {
    /// What the rule matches against.
    enum Subject: Sendable {
        case remoteAddress, remoteHost, serverAddress, requestMethod, requestProtocol, requestURI
        /// A request header, else (when the request has none) an environment variable.
        case header(String)
        /// The last request header whose name the regex matches.
        case headerPattern(PCRERegex)
        case expression(ApExpr)
    }

    /// How a value is tested.
    enum Test: Sendable {
        /// A pattern without regex metacharacters: a substring search, whose match sets
        /// values literally (no `$1`).
        case substring([UInt8], caseless: Bool)
        case regex(PCRERegex)
        /// `SetEnvIfExpr`: the expression decides.
        case expression
    }

    /// What a matching rule does to one variable.
    enum Action: Sendable, Equatable {
        case set(String)
        case unset
    }

    let subject: Subject
    let test: Test
    /// In order; a name given twice keeps its last action (Apache's `apr_table_setn`).
    let actions: [(name: String, action: Action)]

    /// `SetEnvIf attribute regex [!]var[=value] ...`.
    static func parse(_ d: Directive, attribute: String, words: ArraySlice<String>, caseless: Bool,
                      serverLevel: Bool) throws(ConfigError) -> SetEnvIfRule {
        guard let pattern = words.first else { throw d.error("Missing regular expression for \(d.name)") }
        let subject: Subject
        switch attribute.lowercased() {
        case "remote_addr": subject = .remoteAddress
        case "remote_host": subject = .remoteHost
        case "request_uri": subject = .requestURI
        case "request_method": subject = .requestMethod
        case "request_protocol": subject = .requestProtocol
        case "server_addr": subject = .serverAddress
        default:
            if attribute.utf8.allSatisfy(isHeaderNameByte) {
                subject = .header(attribute)
            } else {
                do {
                    subject = .headerPattern(try PCRERegex(attribute, caseless: caseless))
                } catch {
                    // Apache's message lacks the space: "SetEnvIfHeader name regex...".
                    throw d.error("\(d.name)Header name regex could not be compiled.")
                }
            }
        }
        let test: Test
        if let literal = literalPattern(pattern) {
            test = .substring(caseless ? literal.map(lowercase) : literal, caseless: caseless)
        } else {
            do {
                test = .regex(try PCRERegex(pattern, caseless: caseless))
            } catch {
                throw d.error("\(d.name) regex could not be compiled.")
            }
        }
        return SetEnvIfRule(subject: subject, test: test, actions: try actions(d, words.dropFirst(), serverLevel: serverLevel))
    }

    /// `SetEnvIfExpr expression [!]var[=value] ...`.
    static func parseExpression(_ d: Directive, serverLevel: Bool) throws(ConfigError) -> SetEnvIfRule {
        guard let source = d.arguments.first, !source.isEmpty else { throw d.error("Missing expression for \(d.name)") }
        let expression: ApExpr
        do {
            expression = try ApExpr(source)
        } catch {
            throw d.error("Could not parse expression \"\(source)\": \(error.message)")
        }
        return SetEnvIfRule(subject: .expression(expression), test: .expression,
                            actions: try actions(d, d.arguments.dropFirst(), serverLevel: serverLevel))
    }

    /// Apache's `add_envvars`: `var=value` sets, `!var` removes, `var` sets 1 (so does
    /// `var=`, as Apache reads it); `--early` at server level is accepted (Skep has no
    /// earlier post-read-request hook for it to precede).
    static func actions(_ d: Directive, _ words: ArraySlice<String>, serverLevel: Bool) throws(ConfigError) -> [(name: String, action: Action)] {
        var out: [(name: String, action: Action)] = []
        func add(_ name: String, _ action: Action) {
            if let i = out.firstIndex(where: { $0.name == name }) { out[i].action = action } else { out.append((name, action)) }
        }
        for word in words {
            if let equals = word.firstIndex(of: "="), equals != word.index(before: word.endIndex) {
                add(String(word[..<equals]), .set(String(word[word.index(after: equals)...])))
                continue
            }
            let name = word.hasSuffix("=") ? String(word.dropLast()) : word
            if name.hasPrefix("!") {
                add(String(name.dropFirst()), .unset)
            } else if name == "--early" && serverLevel {
                continue
            } else {
                add(name, .set("1"))
            }
        }
        guard !words.isEmpty else { throw d.error("Missing envariable expression for \(d.name)") }
        return out
    }

    /// `^[-A-Za-z0-9_]*$`: a plain header name; anything else is a regex over names.
    static func isHeaderNameByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    static func lowercase(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// Apache's `non_regex_pattern`: the pattern's bytes with escapes removed when it uses
    /// no regex metacharacter (and escapes only those); nil when it is a regex.
    static func literalPattern(_ pattern: String) -> [UInt8]? {
        var out: [UInt8] = []
        var escaped = false
        for b in pattern.utf8 {
            if "^.$|()[]*+?{}".utf8.contains(b) {
                guard escaped else { return nil }
                escaped = false
                out.append(b)
            } else if b == UInt8(ascii: "\\") {
                if escaped { out.append(b) }
                escaped.toggle()
            } else {
                if escaped { return nil }
                out.append(b)
            }
        }
        return out
    }
}
