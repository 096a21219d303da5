import SkepConfig

/// One `Header` or `RequestHeader` directive, parsed as Apache's `header_inout_cmd`
/// parses it: what to do, to which field, with what value, under which condition.
public struct HeaderEntry: Sendable {
    /// The action word (`set`, `edit*`...); the regexes are compiled at config time.
    public enum Action: Sendable {
        case set, setIfEmpty, add, append, merge, unset, note
        /// Copies the request fields whose names match into the response.
        case echo(PCRERegex)
        /// Replaces the first match of the regex in each value (`edit`) or every match (`edit*`).
        case edit(PCRERegex, all: Bool)
    }

    /// When the entry applies.
    public enum Condition: Sendable {
        case always
        /// `early`: in post-read-request, before the configuration of the URL is known.
        case early
        /// `env=VAR` (the variable is set) or `env=!VAR` (it is not).
        case environment(String, negated: Bool)
        /// `expr=...`: an ap_expr that must be true.
        case expression(ApExpr)
    }

    public var action: Action
    /// The field's name (anything from a ':' on dropped, as Apache does); for `echo`, a regex.
    public var header: String
    /// The value (for `edit`, the replacement) as format tags; empty for `unset` and `echo`.
    public var value: HeaderFormat
    public var condition: Condition

    public var isEarly: Bool {
        if case .early = condition { return true }
        return false
    }
}

/// Which of Apache's three lists a directive lands in.
public enum HeaderTable: Sendable {
    /// `RequestHeader`: `r->headers_in`, changed in the fixup phase.
    case request
    /// `Header [onsuccess]`: `r->headers_out`, on responses the content filters run on.
    case onSuccess
    /// `Header always`: `r->err_headers_out`, on every response, error pages included.
    case always
}

extension HeaderEntry {
    /// Apache's `header_cmd` then `header_inout_cmd`: the words of a `Header` or
    /// `RequestHeader` line; errors carry Apache's messages.
    public static func parse(_ words: [String], directive: String, request: Bool) throws(HeaderParseError) -> (HeaderTable, HeaderEntry) {
        var words = words[...]
        var table: HeaderTable = request ? .request : .onSuccess
        if !request, let first = words.first {
            switch first.lowercased() {
            case "always": table = .always; words.removeFirst()
            case "onsuccess": words.removeFirst()
            default: break
            }
        }
        let actionWord = words.popFirst() ?? ""
        var header = words.popFirst() ?? ""
        var value = words.popFirst()
        let subs = words.popFirst()
        var envclause = words.popFirst()
        guard words.isEmpty else { throw HeaderParseError("\(directive) has too many arguments") }

        var action: Action
        switch actionWord.lowercased() {
        case "set": action = .set
        case "setifempty": action = .setIfEmpty
        case "add": action = .add
        case "append": action = .append
        case "merge": action = .merge
        case "unset": action = .unset
        case "note": action = .note
        case "echo", "edit", "edit*": action = .unset  // replaced below, once the regex compiles
        default:
            throw HeaderParseError("first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', 'echo', 'note', 'edit', or 'edit*'.")
        }
        let lowered = actionWord.lowercased()
        var template: String?
        if lowered == "edit" || lowered == "edit*" {
            guard let subs, let pattern = value else { throw HeaderParseError("Header edit requires a match and a substitution") }
            // `AP_REG_EXTENDED` only: POSIX-style, case-sensitive.
            guard let regex = try? PCRERegex(pattern) else { throw HeaderParseError("Header edit regex could not be compiled") }
            action = .edit(regex, all: lowered == "edit*")
            template = subs
        } else {
            // Without a substitution, the fourth word is the condition.
            if envclause != nil { throw HeaderParseError("Too many arguments to directive") }
            envclause = subs
            template = value
        }
        if lowered == "unset" || lowered == "echo" {
            if let given = value {
                if envclause != nil {
                    throw HeaderParseError(lowered == "unset" ? "header unset takes two arguments" : "Header echo takes two arguments")
                }
                envclause = given
                value = nil
            }
            template = nil
            if lowered == "echo" {
                guard !request else { throw HeaderParseError("Header echo only valid on Header directives") }
                guard let regex = try? PCRERegex(header) else { throw HeaderParseError("Header echo regex could not be compiled") }
                action = .echo(regex)
            }
        } else if value == nil {
            throw HeaderParseError("Header requires three arguments")
        }

        var condition = Condition.always
        if let clause = envclause {
            let lower = clause.lowercased()
            if lower == "early" {
                condition = .early
            } else if lower.hasPrefix("env=") {
                let name = clause.dropFirst(4)
                if name.isEmpty || name == "!" {
                    throw HeaderParseError("error: missing environment variable name. envclause should be in the form env=envar ")
                }
                condition = name.hasPrefix("!") ? .environment(String(name.dropFirst()), negated: true) : .environment(String(name), negated: false)
            } else if lower.hasPrefix("expr=") {
                do throws(ExprParseError) {
                    condition = .expression(try ApExpr(String(clause.dropFirst(5))))
                } catch {
                    throw HeaderParseError("Can't parse envclause/expression: \(error.message)")
                }
            } else {
                throw HeaderParseError("Unknown parameter: \(clause)")
            }
        }

        if let colon = header.firstIndex(of: ":") { header = String(header[..<colon]) }
        let format: HeaderFormat
        if let template {
            format = try HeaderFormat.parse(template)
        } else {
            format = HeaderFormat(tags: [])
        }
        return (table, HeaderEntry(action: action, header: header, value: format, condition: condition))
    }
}

/// A directive's refusal, in Apache's words.
public struct HeaderParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
