/// A substitution, TestString or flag value of mod_rewrite, split once when the
/// configuration is read into the pieces Apache's `do_expand` finds each time: so a
/// request only looks values up and joins them.
struct RewriteTemplate: Sendable {
    enum Piece: Sendable {
        /// Text as written; a `?` in it is the substitution's own (safe).
        case literal([UInt8])
        /// `\c`: the character, never a query separator Apache tracks.
        case escaped(UInt8)
        case variable(RewriteVariable)
        /// `$N`, `%N`.
        case ruleGroup(Int)
        case conditionGroup(Int)
        /// `${name:key|default}`; `fallback` nil without a `|` or with nothing after it.
        case map(name: String, key: RewriteTemplate, fallback: RewriteTemplate?)
    }

    let pieces: [Piece]

    private static let backslash = UInt8(ascii: "\\")
    private static let dollar = UInt8(ascii: "$")
    private static let percent = UInt8(ascii: "%")
    private static let openCurly = UInt8(ascii: "{")
    private static let closeCurly = UInt8(ascii: "}")

    init(_ text: [UInt8]) {
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = []
        }
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            if c == Self.backslash {
                flush()
                pieces.append(.escaped(i + 1 < n ? text[i + 1] : c))
                i += 2
            } else if c == Self.dollar || c == Self.percent, i + 1 < n, text[i + 1] == Self.openCurly,
                      let end = Self.closingCurly(text, from: i + 2) {
                if c == Self.percent {
                    flush()
                    pieces.append(.variable(RewriteVariable(Array(text[(i + 2)..<end]))))
                } else if let colon = Self.charInCurlies(text, from: i + 2, to: end, UInt8(ascii: ":")) {
                    flush()
                    let bar = Self.charInCurlies(text, from: colon + 1, to: end, UInt8(ascii: "|"))
                    let fallback = bar.flatMap { $0 + 1 < end ? RewriteTemplate(Array(text[($0 + 1)..<end])) : nil }
                    pieces.append(.map(name: String(decoding: text[(i + 2)..<colon], as: UTF8.self),
                                       key: RewriteTemplate(Array(text[(colon + 1)..<(bar ?? end)])), fallback: fallback))
                } else {
                    // `${` without a `:` is text, as Apache leaves it.
                    literal += [c, Self.openCurly]
                    i += 2
                    continue
                }
                i = end + 1
            } else if c == Self.dollar || c == Self.percent, i + 1 < n, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[i + 1]) {
                flush()
                let group = Int(text[i + 1] - UInt8(ascii: "0"))  // trap-safe: a digit, 0...9
                pieces.append(c == Self.dollar ? .ruleGroup(group) : .conditionGroup(group))
                i += 2
            } else if c == Self.dollar || c == Self.percent, i + 1 < n, text[i + 1] == Self.openCurly {
                // No closing brace: the two characters are text.
                literal += [c, Self.openCurly]
                i += 2
            } else {
                literal.append(c)
                i += 1
            }
        }
        flush()
        self.pieces = pieces
    }

    /// The `}` closing the `{` before `from`, nested braces counted.
    static func closingCurly(_ s: [UInt8], from: Int) -> Int? {
        var depth = 1
        var i = from
        while i < s.count {
            if s[i] == closeCurly {
                depth -= 1
                if depth == 0 { return i }
            } else if s[i] == openCurly {
                depth += 1
            }
            i += 1
        }
        return nil
    }

    /// `c` at the outer level of the braces, before `to`.
    static func charInCurlies(_ s: [UInt8], from: Int, to: Int, _ c: UInt8) -> Int? {
        var depth = 1
        var i = from
        while i < to {
            if s[i] == c, depth == 1 { return i }
            if s[i] == closeCurly {
                depth -= 1
                if depth == 0 { return nil }
            } else if s[i] == openCurly {
                depth += 1
            }
            i += 1
        }
        return nil
    }
}

/// A `%{NAME}` of mod_rewrite (Apache's `lookup_variable`), resolved from its name once.
indirect enum RewriteVariable: Sendable {
    case httpUserAgent, httpReferer, httpCookie, httpForwarded, httpHost, httpProxyConnection, httpAccept
    case remoteAddr, remotePort, remoteUser, remoteIdent, requestMethod, requestFilename, pathInfo, queryString
    case authType, documentRoot, contextDocumentRoot, contextPrefix, serverAdmin, serverName, serverAddr, serverPort
    case serverProtocol, serverSoftware, apiVersion, https, ipv6, isSubrequest, requestScheme, requestURI, theRequest
    case scriptUser, scriptGroup, time, timeYear, timeMonth, timeDay, timeHour, timeMinute, timeSecond, timeWeekday
    /// `ENV:name`, `SSL:name`, `HTTP:header`.
    case environment(String), ssl(String), header(String)
    /// `LA-U:var`, `LA-F:var`.
    case lookahead(RewriteVariable, raw: String)
    /// A name Apache does not know: the empty string.
    case unknown

    init(_ raw: [UInt8]) {
        guard raw.count >= 4 else { self = .unknown; return }
        if raw[3] == UInt8(ascii: ":") {
            let family = String(decoding: raw[0..<3], as: UTF8.self).uppercased()
            let name = String(decoding: raw[4...], as: UTF8.self)
            guard !name.isEmpty else { self = .unknown; return }
            switch family {
            case "ENV": self = .environment(name)
            case "SSL": self = .ssl(name)
            default: self = .unknown
            }
            return
        }
        if raw[4] == UInt8(ascii: ":") {
            guard raw.count > 5 else { self = .unknown; return }
            let family = String(decoding: raw[0..<4], as: UTF8.self).uppercased()
            let rest = Array(raw[5...])
            switch family {
            case "HTTP": self = .header(String(decoding: rest, as: UTF8.self))
            case "LA-U", "LA-F": self = .lookahead(RewriteVariable(rest), raw: String(decoding: rest, as: UTF8.self))
            default: self = .unknown
            }
            return
        }
        switch String(decoding: raw, as: UTF8.self).uppercased() {
        case "HTTP_USER_AGENT": self = .httpUserAgent
        case "HTTP_REFERER": self = .httpReferer
        case "HTTP_COOKIE": self = .httpCookie
        case "HTTP_FORWARDED": self = .httpForwarded
        case "HTTP_HOST": self = .httpHost
        case "HTTP_PROXY_CONNECTION": self = .httpProxyConnection
        case "HTTP_ACCEPT": self = .httpAccept
        case "REMOTE_ADDR", "REMOTE_HOST", "CONN_REMOTE_ADDR": self = .remoteAddr
        case "REMOTE_PORT": self = .remotePort
        case "REMOTE_USER": self = .remoteUser
        case "REMOTE_IDENT": self = .remoteIdent
        case "REQUEST_METHOD": self = .requestMethod
        case "SCRIPT_FILENAME", "REQUEST_FILENAME": self = .requestFilename
        case "PATH_INFO": self = .pathInfo
        case "QUERY_STRING": self = .queryString
        case "AUTH_TYPE": self = .authType
        case "DOCUMENT_ROOT": self = .documentRoot
        case "CONTEXT_DOCUMENT_ROOT": self = .contextDocumentRoot
        case "CONTEXT_PREFIX": self = .contextPrefix
        case "SERVER_ADMIN": self = .serverAdmin
        case "SERVER_NAME": self = .serverName
        case "SERVER_ADDR": self = .serverAddr
        case "SERVER_PORT": self = .serverPort
        case "SERVER_PROTOCOL": self = .serverProtocol
        case "SERVER_SOFTWARE": self = .serverSoftware
        case "API_VERSION": self = .apiVersion
        case "HTTPS": self = .https
        case "IPV6": self = .ipv6
        case "IS_SUBREQ": self = .isSubrequest
        case "REQUEST_SCHEME": self = .requestScheme
        case "REQUEST_URI": self = .requestURI
        case "THE_REQUEST": self = .theRequest
        case "SCRIPT_USER": self = .scriptUser
        case "SCRIPT_GROUP": self = .scriptGroup
        case "TIME": self = .time
        case "TIME_YEAR": self = .timeYear
        case "TIME_MON": self = .timeMonth
        case "TIME_DAY": self = .timeDay
        case "TIME_HOUR": self = .timeHour
        case "TIME_MIN": self = .timeMinute
        case "TIME_SEC": self = .timeSecond
        case "TIME_WDAY": self = .timeWeekday
        default: self = .unknown
        }
    }
}
