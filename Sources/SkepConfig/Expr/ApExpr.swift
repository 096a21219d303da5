/// An Apache expression (`ap_expr`, https://httpd.apache.org/docs/2.4/expr.html), parsed
/// once at configuration time: `<If>`, `Require expr`, `SetEnvIfExpr` and later
/// `Header expr=` and `RewriteCond expr` hold one and evaluate it per request
/// (SkepServer's `ExprEvaluation`). Names (variables, functions, operators) are looked
/// up while parsing, so an unknown one is a configuration error with Apache's wording.
public struct ApExpr: Sendable {
    /// The expression as written, for messages.
    public let source: String
    public let root: ExprCondition

    /// Parses `source` with Apache's grammar (util_expr_parse.y); the error's message is
    /// Apache's (`Variable 'X' does not exist`, `syntax error, unexpected $end`...).
    public init(_ source: String) throws(ExprParseError) {
        self.source = source
        var parser = ExprParser(tokens: ExprLexer.tokens(source))
        self.root = try parser.parseRoot()
    }
}

/// Why an expression could not be parsed, in Apache's words.
public struct ExprParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// A condition: Apache's `expr` and `comparison` productions.
public indirect enum ExprCondition: Sendable {
    case constant(Bool)
    case not(ExprCondition)
    case and(ExprCondition, ExprCondition)
    case or(ExprCondition, ExprCondition)
    /// `-eq`... (integers) and `==`... (strings).
    case compare(ExprWord, ExprComparison, ExprWord)
    /// `word -in { a, b }`.
    case inList(ExprWord, [ExprWord])
    /// `=~` (and `!~` when `negated`); a pattern with groups sets `$0`...`$9`.
    case match(ExprWord, PCRERegex, negated: Bool)
    case unary(ExprUnaryOperator, ExprWord)
    case binary(ExprBinaryOperator, ExprWord, ExprWord)
}

/// A word: a value computed per request.
public indirect enum ExprWord: Sendable {
    case literal(String)
    case variable(ExprVariable)
    /// `$0`...`$9` of the last `=~` with groups.
    case backreference(Int)
    case function(ExprFunction, ExprWord)
    /// `a . b`, and the parts of an interpolated string.
    case concat([ExprWord])

    /// The text when the word is a constant string (Apache's `op_String`), for the
    /// operators that take one at configuration time (`-R`, `-ipmatch`).
    var constant: String? {
        if case .literal(let text) = self { return text }
        return nil
    }
}

/// The comparison operators: integers (`-eq`...) compare as `apr_atoi64` reads them;
/// strings (`==`...) byte for byte.
public enum ExprComparison: Sendable {
    case intEQ, intNE, intLT, intLE, intGT, intGE
    case strEQ, strNE, strLT, strLE, strGT, strGE
}

/// `-n`, `-z`, `-T`, `-R subnet`, and the file tests.
public enum ExprUnaryOperator: Sendable {
    case nonEmpty, empty, isTrue
    case remoteIn(IPMatch)
    case directory, exists, regularFile, nonEmptyFile, symbolicLink, executable

    /// Looked up case-sensitively, as Apache's unary operators are.
    static func named(_ name: String, argument: ExprWord) throws(ExprParseError) -> ExprUnaryOperator {
        switch name {
        case "n": return .nonEmpty
        case "z": return .empty
        case "T": return .isTrue
        case "R": return .remoteIn(try subnet("-R", argument))
        case "d": return .directory
        case "e": return .exists
        case "f": return .regularFile
        case "s": return .nonEmptyFile
        case "L", "h": return .symbolicLink
        case "x": return .executable
        case "F", "U", "A":
            throw ExprParseError("Unary operator '-\(name)' is not supported by Skep (it needs subrequests)")
        default: throw ExprParseError("Unary operator '-\(name)' does not exist")
        }
    }

    static func subnet(_ op: String, _ argument: ExprWord) throws(ExprParseError) -> IPMatch {
        guard let text = argument.constant else { throw ExprParseError("\(op) requires subnet/netmask as constant argument") }
        do {
            return try IPMatch(text)
        } catch {
            throw ExprParseError("parsing of subnet/netmask failed")
        }
    }
}

/// `-ipmatch`, `-strmatch`, `-strcmatch`, `-fnmatch`.
public enum ExprBinaryOperator: Sendable {
    case ipMatch(IPMatch)
    case strMatch, strCaseMatch, fnMatch

    /// Looked up without regard to case, as Apache's binary operators are.
    static func named(_ name: String, right: ExprWord) throws(ExprParseError) -> ExprBinaryOperator {
        switch name.lowercased() {
        case "ipmatch": return .ipMatch(try ExprUnaryOperator.subnet("-\(name)", right))
        case "strmatch": return .strMatch
        case "strcmatch": return .strCaseMatch
        case "fnmatch": return .fnMatch
        default: throw ExprParseError("Binary operator '-\(name)' does not exist")
        }
    }
}

/// The string functions of Apache's core (`name(word)` and `%{NAME:arg}`).
public enum ExprFunction: Sendable {
    case req, reqNoVary, resp, reqenv, note, env, osenv
    case tolower, toupper, escape, unescape, base64, unbase64, md5, sha1
    case file, filesize

    /// Looked up without regard to case, as Apache's are.
    static func named(_ name: String) throws(ExprParseError) -> ExprFunction {
        switch name.lowercased() {
        case "req", "http": return .req
        case "req_novary": return .reqNoVary
        case "resp": return .resp
        case "reqenv": return .reqenv
        case "note": return .note
        case "env": return .env
        case "osenv": return .osenv
        case "tolower": return .tolower
        case "toupper": return .toupper
        case "escape": return .escape
        case "unescape": return .unescape
        case "base64": return .base64
        case "unbase64": return .unbase64
        case "md5": return .md5
        case "sha1": return .sha1
        case "file": return .file
        case "filesize": return .filesize
        default: throw ExprParseError("Function '\(name)' does not exist")
        }
    }
}

/// The `%{NAME}` variables of Apache's core (util_expr_eval.c's four tables).
public enum ExprVariable: String, Sendable, CaseIterable {
    // Request headers.
    case HTTP_USER_AGENT, HTTP_PROXY_CONNECTION, HTTP_REFERER, HTTP_COOKIE, HTTP_FORWARDED, HTTP_HOST, HTTP_ACCEPT
    // The request.
    case REQUEST_METHOD, REQUEST_SCHEME, REQUEST_URI, REQUEST_FILENAME, REMOTE_HOST, REMOTE_IDENT, REMOTE_USER
    case SERVER_ADMIN, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, SCRIPT_FILENAME, PATH_INFO, QUERY_STRING
    case IS_SUBREQ, DOCUMENT_ROOT, AUTH_TYPE, THE_REQUEST, CONTENT_TYPE, HANDLER, REQUEST_LOG_ID
    case SCRIPT_USER, SCRIPT_GROUP, DOCUMENT_URI, LAST_MODIFIED, CONTEXT_PREFIX, CONTEXT_DOCUMENT_ROOT
    case REQUEST_STATUS, REMOTE_ADDR, REMOTE_PORT
    // The connection.
    case HTTPS, IPV6, CONN_LOG_ID, CONN_REMOTE_ADDR, HTTP2
    // The rest.
    case TIME_YEAR, TIME_MON, TIME_DAY, TIME_HOUR, TIME_MIN, TIME_SEC, TIME_WDAY, TIME, SERVER_SOFTWARE, API_VERSION

    static let byName: [String: ExprVariable] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// Looked up without regard to case, as Apache's are.
    static func named(_ name: String) throws(ExprParseError) -> ExprVariable {
        guard let variable = byName[name.uppercased()] else { throw ExprParseError("Variable '\(name)' does not exist") }
        return variable
    }
}
