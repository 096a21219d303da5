import SkepConfig

/// When a mod_filter provider applies: `AddOutputFilterByType`'s list of media types
/// (compared with the answer's type up to its parameters, as `filter_lookup`), or a
/// `FilterProvider` expression. Until Skep has the ap_expr engine, expressions are the
/// common one-comparison shapes, checked at config time:
/// `VAR OP 'text'` (`=`, `==`, `!=`) and `VAR =~ /re/` or `m#re#` (`!~`; flag `i`),
/// where VAR is `%{CONTENT_TYPE}`, `%{REQUEST_URI}`, `%{HANDLER}`, `%{REQUEST_METHOD}`,
/// `%{HTTP:Name}`, `%{ENV:name}`, `%{NAME}` for another request field `%{HTTP_...}`,
/// or the functions `resp('Name')`, `req('Name')`, `http('Name')`, `env('name')`,
/// `reqenv('name')`, `note('name')`. Anything else is refused with a message.
public enum FilterCondition: Sendable {
    case types([String])
    case compare(Variable, equal: Bool, String)
    case match(Variable, PCRERegex, negated: Bool)

    /// Why an expression was refused (the message after `file:line:`).
    public struct Failure: Error {
        public let message: String
        init(_ message: String) { self.message = message }
    }

    public enum Variable: Sendable, Equatable {
        case contentType, requestURI, handler, method
        case requestHeader(String), responseHeader(String), environment(String), note(String)
    }

    /// Whether the provider applies to `response` of `r`, whose `Content-Type` the
    /// caller looked up once for all providers.
    func holds(_ response: Response, _ r: Request, contentType: String?) -> Bool {
        switch self {
        case .types(let types):
            // Compared as bytes (this runs on every response of a chained section); a
            // String-to-Substring `==` would compare by Unicode equivalence.
            guard var type = contentType else { return false }
            return type.withUTF8 { bytes in
                let end = bytes.firstIndex { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") } ?? bytes.count
                let bare = UnsafeBufferPointer(rebasing: bytes[..<end])
                return types.contains { $0.utf8.count == bare.count && $0.utf8.elementsEqual(bare) }
            }
        case .compare(let variable, let equal, let text):
            return (Self.value(variable, response, r) == text) == equal
        case .match(let variable, let regex, let negated):
            return regex.matches(Self.value(variable, response, r)) != negated
        }
    }

    static func value(_ variable: Variable, _ response: Response, _ r: Request) -> String {
        switch variable {
        case .contentType: return response.header("Content-Type") ?? ""
        case .requestURI: return r.uri
        case .handler: return r.handler ?? ""
        case .method: return r.method
        case .requestHeader(let name): return r.header(name) ?? ""
        case .responseHeader(let name): return response.header(name) ?? ""
        case .environment(let name): return r.environment[name] ?? ""
        case .note(let name): return r.notes[name] ?? ""
        }
    }

    /// Parses a FilterProvider expression; the error is the message for `file:line:`.
    static func parse(_ text: String) throws(Failure) -> FilterCondition {
        var s = Substring(text)
        skipBlanks(&s)
        guard let variable = parseVariable(&s) else { throw unsupported(text) }
        skipBlanks(&s)
        let op: String
        if s.hasPrefix("=~") || s.hasPrefix("!~") || s.hasPrefix("==") || s.hasPrefix("!=") {
            op = String(s.prefix(2)); s = s.dropFirst(2)
        } else if s.hasPrefix("=") {
            op = "=="; s = s.dropFirst()
        } else {
            throw unsupported(text)
        }
        skipBlanks(&s)
        switch op {
        case "=~", "!~":
            var delimiter: Character = "/"
            if s.hasPrefix("m"), s.count > 1 { s = s.dropFirst(); delimiter = s.first ?? "/" } else if !s.hasPrefix("/") { throw unsupported(text) }
            s = s.dropFirst()
            guard let end = s.firstIndex(of: delimiter) else { throw unsupported(text) }
            let pattern = String(s[..<end])
            s = s[s.index(after: end)...]
            var caseless = false
            if s.hasPrefix("i") { caseless = true; s = s.dropFirst() }
            skipBlanks(&s)
            guard s.isEmpty else { throw unsupported(text) }
            do {
                return .match(variable, try PCRERegex(pattern, caseless: caseless), negated: op == "!~")
            } catch {
                throw Failure("Error parsing FilterProvider expression:\(error)")
            }
        default:
            guard let quote = s.first, quote == "'" || quote == "\"" else { throw unsupported(text) }
            s = s.dropFirst()
            guard let end = s.firstIndex(of: quote) else { throw unsupported(text) }
            let value = String(s[..<end])
            s = s[s.index(after: end)...]
            skipBlanks(&s)
            guard s.isEmpty else { throw unsupported(text) }
            return .compare(variable, equal: op == "==", value)
        }
    }

    private static func unsupported(_ text: String) -> Failure {
        Failure("FilterProvider expression \"\(text)\": Skep reads only `%{VAR} = 'text'`, `!=`, and `%{VAR} =~ /regex/` (or `!~`) until it has Apache's ap_expr")
    }

    private static func skipBlanks(_ s: inout Substring) {
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    }

    private static func parseVariable(_ s: inout Substring) -> Variable? {
        if s.hasPrefix("%{") {
            guard let close = s.firstIndex(of: "}") else { return nil }
            let name = String(s[s.index(s.startIndex, offsetBy: 2)..<close])
            s = s[s.index(after: close)...]
            let upper = name.uppercased()
            if upper.hasPrefix("HTTP:") { return .requestHeader(String(name.dropFirst(5))) }
            if upper.hasPrefix("ENV:") { return .environment(String(name.dropFirst(4))) }
            switch upper {
            case "CONTENT_TYPE": return .contentType
            case "REQUEST_URI": return .requestURI
            case "HANDLER": return .handler
            case "REQUEST_METHOD": return .method
            default:
                guard upper.hasPrefix("HTTP_") else { return nil }
                return .requestHeader(String(upper.dropFirst(5)).replacingUnderscores())
            }
        }
        for (function, make) in [("resp", Variable.responseHeader), ("req", Variable.requestHeader), ("http", Variable.requestHeader),
                                 ("env", Variable.environment), ("reqenv", Variable.environment), ("note", Variable.note)] as [(String, (String) -> Variable)] {
            guard s.lowercased().hasPrefix(function + "(") else { continue }
            var rest = s.dropFirst(function.count + 1)
            guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(of: quote) else { return nil }
            let argument = String(rest[..<end])
            rest = rest[rest.index(after: end)...]
            guard rest.first == ")" else { return nil }
            s = rest.dropFirst()
            return make(argument)
        }
        return nil
    }
}

extension String {
    /// `USER_AGENT` as the header name `USER-AGENT` (ap_expr's `%{HTTP_USER_AGENT}`).
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
