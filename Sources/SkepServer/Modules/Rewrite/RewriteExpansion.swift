import SkepConfig
import SkepHTTP
import SkepSystem
import Glibc

/// The substitution language of `RewriteRule` and `RewriteCond` (Apache's `do_expand`):
/// `\c` for a literal character, `$N` and `%N` back-references, `%{VAR}` variables and
/// `${map:key|default}` lookups, done in one pass so that a value never expands again.
extension RewriteRun {
    private static let backslash = UInt8(ascii: "\\")
    private static let dollar = UInt8(ascii: "$")
    private static let percent = UInt8(ascii: "%")
    private static let openCurly = UInt8(ascii: "{")
    private static let closeCurly = UInt8(ascii: "}")
    private static let question = UInt8(ascii: "?")

    /// Expands `template`. `questionMark` tracks where the substitution's `?` came from
    /// (nil: not tracked): 0 when the deciding one (the first, or the last with `QSL`)
    /// was written literally, 1 when an expansion produced it, which Apache 2.4.60+
    /// refuses without `UnsafeAllow3F` (a `%3f` in the URL would become a query).
    mutating func expand(_ template: [UInt8], rule: RewriteRuleEntry?, questionMark: inout Int?) -> [UInt8] {
        // The common case: no special character at all.
        if !template.contains(where: { $0 == Self.backslash || $0 == Self.dollar || $0 == Self.percent }) {
            if questionMark != nil, template.contains(Self.question) { questionMark = 0 }
            return template
        }
        let tracksLast = rule?.flags.contains(.qsLast) ?? false
        var tracking = questionMark != nil
        var out: [UInt8] = []
        out.reserveCapacity(template.count + 32)
        var i = 0
        let n = template.count
        while i < n {
            let c = template[i]
            var expandedFrom: Int?
            if c == Self.backslash {
                out.append(i + 1 < n ? template[i + 1] : c)
                i += 2
                continue
            } else if (c == Self.dollar || c == Self.percent), i + 1 < n, template[i + 1] == Self.openCurly {
                guard let end = Self.closingCurly(template, from: i + 2) else {
                    out += [c, Self.openCurly]
                    i += 2
                    continue
                }
                let start = out.count
                if c == Self.percent {
                    out += lookupVariable(Array(template[(i + 2)..<end]))
                } else if let colon = Self.charInCurlies(template, from: i + 2, to: end, UInt8(ascii: ":")) {
                    let name = Array(template[(i + 2)..<colon]).text
                    let bar = Self.charInCurlies(template, from: colon + 1, to: end, UInt8(ascii: "|"))
                    var none: Int? = nil
                    let key = expand(Array(template[(colon + 1)..<(bar ?? end)]), rule: rule, questionMark: &none)
                    var value = RewriteMaps.lookup(name, key: key.text, r, context).map { Array($0.utf8) }
                    if value == nil, let bar, bar + 1 < end {
                        value = expand(Array(template[(bar + 1)..<end]), rule: rule, questionMark: &none)
                    }
                    out += value ?? []
                } else {
                    out += [c, Self.openCurly]
                    i += 2
                    continue
                }
                expandedFrom = start
                i = end + 1
            } else if (c == Self.dollar || c == Self.percent), i + 1 < n, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(template[i + 1]) {
                let group = Int(template[i + 1] - UInt8(ascii: "0"))  // trap-safe: a digit, 0...9
                if let match = c == Self.dollar ? ruleMatch : conditionMatch, 2 * group + 1 < match.offsets.count {
                    let from = match.offsets[2 * group], to = match.offsets[2 * group + 1]
                    if from >= 0, to > from, to <= match.source.count {
                        let start = out.count
                        let piece = Array(match.source[from..<to])
                        if let rule, rule.flags.contains(.escapeBackReference) {
                            let escaped = Self.escapeBackReference(piece, rule)
                            log(5, perdir, "escaping backreference '\(piece.text)' to '\(escaped.text)'")
                            out += escaped
                        } else {
                            out += piece
                        }
                        expandedFrom = start
                    }
                }
                i += 2
            } else {
                if tracking, c == Self.question {
                    questionMark = 0
                    if !tracksLast { tracking = false }
                }
                out.append(c)
                i += 1
                continue
            }
            if tracking, let start = expandedFrom, out[start...].contains(Self.question) {
                questionMark = 1
                if !tracksLast { tracking = false }
            }
        }
        return out
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

    /// Apache's `escape_backref` for `B`, `B=chars`, `BNP`, `BCTLS`, `BNE=chars`.
    static func escapeBackReference(_ piece: [UInt8], _ rule: RewriteRuleEntry) -> [UInt8] {
        let noPlus = rule.flags.contains(.escapeNoPlus)
        let controls = rule.flags.contains(.escapeControls)
        var out: [UInt8] = []
        out.reserveCapacity(piece.count * 3)
        for c in piece {
            let visible = (0x21...0x7E).contains(c) || c >= 0x80
            let chosen = (controls ? !visible : rule.escapes == nil) || (rule.escapes?.contains(c) ?? false)
            guard chosen, !(rule.noEscapes?.contains(c) ?? false) else {
                out.append(c)
                continue
            }
            let alphanumeric = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
            if alphanumeric || c == UInt8(ascii: "_") {
                out.append(c)
            } else if c == 0x20, !noPlus {
                out.append(UInt8(ascii: "+"))
            } else {
                out += [percent, hexDigits[Int(c >> 4)], hexDigits[Int(c & 0xF)]]  // trap-safe: nibbles, 0...15
            }
        }
        return out
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    // MARK: Variables

    /// Apache's `lookup_variable`: `%{NAME}`, `%{ENV:x}`, `%{SSL:x}`, `%{HTTP:header}`,
    /// `%{LA-U:x}`, `%{LA-F:x}`.
    mutating func lookupVariable(_ raw: [UInt8]) -> [UInt8] {
        guard raw.count >= 4 else { return [] }
        if raw[3] == UInt8(ascii: ":") {
            let family = Array(raw[0..<3]).text.uppercased()
            let name = Array(raw[4...]).text
            guard !name.isEmpty else { return [] }
            if family == "ENV" {
                if let value = r.notes[name] ?? r.environment[name] { return Array(value.utf8) }
                return getenv(name).map { Array(String(cString: $0).utf8) } ?? []
            }
            // SSL: Skep serves no TLS yet, so every SSL variable is empty, as Apache's
            // without mod_ssl on the connection.
            return []
        }
        if raw.count > 5, raw[4] == UInt8(ascii: ":") {
            let family = Array(raw[0..<4]).text.uppercased()
            let name = Array(raw[5...])
            switch family {
            case "HTTP": return header(name.text)
            case "LA-U", "LA-F":
                // Apache looks the variable up in a subrequest for the current URL or
                // file; Skep has no subrequests and reads it from this request.
                let value = lookupVariable(name)
                log(5, perdir, "lookahead: path=\(uri.text) var=\(name.text) -> val=\(value.text)")
                return value
            default: return []
            }
        }
        let name = raw.text.uppercased()
        let core = r.serverConfig(CoreServerConfig.self)
        func bytes(_ s: String?) -> [UInt8] { s.map { Array($0.utf8) } ?? [] }
        switch name {
        case "HTTP_USER_AGENT": return header("User-Agent")
        case "HTTP_REFERER": return header("Referer")
        case "HTTP_COOKIE": return header("Cookie")
        case "HTTP_FORWARDED": return header("Forwarded")
        case "HTTP_HOST": return header("Host")
        case "HTTP_PROXY_CONNECTION": return header("Proxy-Connection")
        case "HTTP_ACCEPT": return header("Accept")
        case "REMOTE_ADDR", "REMOTE_HOST", "CONN_REMOTE_ADDR": return bytes(r.client.host)
        case "REMOTE_PORT": return bytes(String(r.client.port))
        case "REMOTE_USER": return bytes(r.user)
        case "REMOTE_IDENT": return []
        case "REQUEST_METHOD": return bytes(r.method)
        case "SCRIPT_FILENAME", "REQUEST_FILENAME": return filename
        case "PATH_INFO": return pathInfo
        case "QUERY_STRING": return args ?? []
        case "AUTH_TYPE": return bytes(r.authType)
        case "DOCUMENT_ROOT", "CONTEXT_DOCUMENT_ROOT" where name == "DOCUMENT_ROOT" || r.contextDocumentRoot == nil:
            return bytes(core.documentRoot ?? context.config.serverRoot + "/htdocs")
        case "CONTEXT_DOCUMENT_ROOT": return bytes(r.contextDocumentRoot)
        case "CONTEXT_PREFIX": return bytes(r.contextPrefix)
        case "SERVER_ADMIN": return bytes(core.serverAdmin)
        case "SERVER_NAME": return bytes(r.serverNameForURL)
        case "SERVER_ADDR": return bytes(r.local.host)
        case "SERVER_PORT": return bytes(String(r.serverPortForURL))
        case "SERVER_PROTOCOL": return bytes(r.protocolName)
        case "SERVER_SOFTWARE": return bytes(context.serverBanner)
        case "API_VERSION": return bytes("20120211:137")
        case "HTTPS": return bytes("off")
        case "IPV6":
            let host = r.client.host
            return bytes(host.contains(":") && !host.hasPrefix("::ffff:") ? "on" : "off")
        case "IS_SUBREQ": return bytes("false")
        case "REQUEST_SCHEME": return bytes("http")
        case "REQUEST_URI": return r.uriBytes
        case "THE_REQUEST": return bytes(r.requestLine)
        case "SCRIPT_USER": return bytes(r.fileStatus.flatMap { ExprEvaluation.userName($0.userID) } ?? "<unknown>")
        case "SCRIPT_GROUP": return bytes(r.fileStatus.flatMap { ExprEvaluation.groupName($0.groupID) } ?? "<unknown>")
        case "TIME":
            let value = ExprEvaluation.timeString(SystemClock.now().seconds, .full)
            log(1, perdir, "RESULT='\(value)'")
            return bytes(value)
        case "TIME_YEAR": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .year))
        case "TIME_MON": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .month))
        case "TIME_DAY": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .day))
        case "TIME_HOUR": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .hour))
        case "TIME_MIN": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .minute))
        case "TIME_SEC": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .second))
        case "TIME_WDAY": return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .weekday))
        default: return []
        }
    }

    /// A request header for a variable; its name joins the rule's `Vary` (`Host` never
    /// does, as RFC 7231 7.1.4 advises and Apache follows).
    mutating func header(_ name: String) -> [UInt8] {
        guard let value = r.header(name) else { return [] }
        if name.lowercased() != "host" { varyThis.append(name) }
        return Array(value.utf8)
    }

    // MARK: URLs

    /// Apache's `is_absolute_uri`: the length of a known `scheme://` (or `scheme:`)
    /// prefix, 0 for none, and whether the scheme takes a query string.
    static func absoluteURIScheme(_ uri: [UInt8]) -> (length: Int, takesQuery: Bool) {
        guard uri.first != UInt8(ascii: "/"), uri.count > 5 else { return (0, false) }
        func has(_ prefix: String) -> Bool {
            let p = Array(prefix.utf8)
            return uri.count >= p.count && zip(uri, p).allSatisfy { lower($0) == $1 }
        }
        let schemes: [(String, Bool)] = [
            ("ajp://", true), ("balancer://", true), ("ftp://", false), ("fcgi://", true), ("gopher://", false),
            ("http://", true), ("https://", true), ("h2://", true), ("h2c://", true), ("ldap://", false),
            ("mailto:", true), ("news:", false), ("nntp://", false), ("scgi://", true), ("ws://", true), ("wss://", true),
        ]
        for (scheme, query) in schemes where has(scheme) { return (scheme.utf8.count, query) }
        if has("unix:") { return (has("unix://") ? 7 : 5, true) }
        return (0, false)
    }

    /// Apache's `ap_escape_uri`: every byte but letters, digits and `$-_.+!*'(),:;@&=/~` as `%hh`.
    static func escapeURI<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes {
            let kept = (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
                || Self.uriKept.contains(b)
            if kept { out.append(b) } else { out += [percent, hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]] }  // trap-safe: nibbles, 0...15
        }
        return out
    }

    static let uriKept = Set("$-_.+!*'(),:;@&=/~".utf8)

    /// Apache's `escape_absolute_uri`: the scheme and host kept, the path escaped.
    static func escapeAbsoluteURI(_ uri: [UInt8], schemeLength: Int) -> [UInt8] {
        guard schemeLength > 0, uri.count >= schemeLength else { return uri }
        var cut = schemeLength
        if uri[schemeLength - 1] == UInt8(ascii: "/") {
            while cut < uri.count, uri[cut] != UInt8(ascii: "/") { cut += 1 }
            guard cut < uri.count, cut + 1 < uri.count else { return uri }
            cut += 1
        }
        return Array(uri[..<cut]) + escapeURI(uri[cut...])
    }

    /// Apache's `splitout_queryargs`: a `?` in the new URL starts its query (the last
    /// one with `QSL`); `QSA` keeps the old query after the new one, `QSD` drops it.
    mutating func splitOutQuery(_ flags: RewriteRuleFlags) {
        if flags.contains(.qsNone) {
            log(2, nil, "discarding query string, no parse from substitution")
            args = nil
            return
        }
        let scheme = Self.absoluteURIScheme(filename)
        if scheme.length > 0, !scheme.takesQuery {
            args = nil
            return
        }
        if flags.contains(.qsDiscard) {
            args = nil
            log(2, nil, "discarding query string")
        }
        let searched = filename[scheme.length...]
        guard let q = flags.contains(.qsLast) ? searched.lastIndex(of: Self.question) : searched.firstIndex(of: Self.question) else { return }
        let old = filename
        let query = Array(filename[(q + 1)...])
        filename = Array(filename[..<q])
        if flags.contains(.qsAppend) {
            if !query.isEmpty { args = query + [UInt8(ascii: "&")] + (args ?? []) }
        } else {
            args = query
        }
        if var a = args {
            if a.isEmpty {
                args = nil
            } else {
                if a.last == UInt8(ascii: "&") { a.removeLast() }
                args = a
            }
        }
        log(3, nil, "split uri=\(old.text) -> uri=\(filename.text), args=\(args?.text ?? "<none>")")
    }

    /// Apache's `fully_qualify_uri`: `http://host[:port]` before a local URL.
    mutating func fullyQualify() {
        guard Self.absoluteURIScheme(filename).length == 0 else { return }
        let port = r.serverPortForURL
        var prefix = "http://" + r.serverNameForURL + (port == 80 ? "" : ":\(port)")
        if filename.first != UInt8(ascii: "/") { prefix += "/" }
        filename = Array(prefix.utf8) + filename
    }

    /// Apache's `reduce_uri`: `http://thisserver[:port]/path` back to `/path`.
    mutating func reduceURI() {
        let scheme = Array("http://".utf8)
        guard filename.count > scheme.count, zip(filename, scheme).allSatisfy({ Self.lower($0) == $1 }) else { return }
        let rest = filename[scheme.count...]
        let hostEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") } ?? rest.endIndex
        let host = Array(rest[rest.startIndex..<hostEnd]).text
        var port = 80
        var url: [UInt8]
        if hostEnd < rest.endIndex, rest[hostEnd] == UInt8(ascii: ":") {
            let portEnd = rest[hostEnd...].firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            port = RewriteParser.atoi(rest[(hostEnd + 1)..<portEnd]) & 0xFFFF
            url = Array(rest[portEnd...])
            if url.isEmpty { url = [UInt8(ascii: "/")] }
        } else if hostEnd < rest.endIndex {
            url = Array(rest[hostEnd...])
        } else {
            url = [UInt8(ascii: "/")]
        }
        guard matchesThisServer(host: host, port: port) else { return }
        log(3, nil, "reduce \(filename.text) -> \(url.text)")
        filename = url
        r.notes[RewriteModule.uriReducedNote] = "true"
    }

    /// Apache's `ap_matches_request_vhost`: the host names this server (its name, an
    /// alias, or the host the request asked for) on its port.
    func matchesThisServer(host: String, port: Int) -> Bool {
        let core = r.serverConfig(CoreServerConfig.self)
        let names = [r.hostName, core.serverName.map { ServerContext.hostPart($0) }].compactMap { $0?.lowercased() }
        guard names.contains(host.lowercased()) else { return false }
        return port == r.serverPortForURL || port == Int(r.local.port)  // trap-safe: UInt16 widens
    }

    /// Apache's `prefix_stat`: does the first component of `path` exist (and, unless
    /// `UnsafePrefixStat`, did the last substitution write it, or is the path under
    /// DocumentRoot)? If not, the path is taken as DocumentRoot-relative.
    func prefixStat(_ path: [UInt8], lastSubstitution: RewriteRuleEntry?) -> Bool {
        guard path.first == UInt8(ascii: "/") else { return false }
        let rest = path.dropFirst()
        let first = rest.firstIndex(of: UInt8(ascii: "/")).map { Array(path[..<$0]) } ?? path
        // apr_filepath_merge with NOTABOVEROOT: `..` cannot climb out of `/`.
        guard !first.isEmpty, stat(first) != nil else { return false }
        guard let last = lastSubstitution else {
            log(3, nil, "prefix_stat no lastsub subst prefix \(first.text)")
            return true
        }
        log(3, nil, "prefix_stat compare statpath \(first.text) and lastsub output \(last.outputText) STATOK \(last.flags.contains(.unsafePrefixStat) ? RewriteRuleFlags.unsafePrefixStat.rawValue : 0) ")
        if last.flags.contains(.unsafePrefixStat) { return true }
        let root = Array((r.serverConfig(CoreServerConfig.self).documentRoot ?? context.config.serverRoot + "/htdocs").utf8)
        if startsWith(last.output, first) || startsWith(path, root) { return true }
        if let contextRoot = r.contextDocumentRoot.map({ Array($0.utf8) }), contextRoot != root, startsWith(path, contextRoot) { return true }
        return false
    }

    private func startsWith(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        let rc = haystack.starts(with: needle)
        log(5, nil, "prefix_stat startsWith(\(haystack.text), \(needle.text)) \(rc ? 1 : 0)")
        return rc
    }

    /// Apache's `subst_prefix_path` (`RewriteBase`): `match` at the start of `input`
    /// replaced with `subst`.
    func substitutePrefix(_ input: [UInt8], match: String, subst: String) -> [UInt8] {
        var m = Array(match.utf8)
        if m.last == UInt8(ascii: "/") { m.removeLast() }
        guard input.count > m.count, input.starts(with: m), input[m.count] == UInt8(ascii: "/") else { return input }
        let tail = input[(m.count + 1)...]
        log(5, nil, "strip matching prefix: \(input.text) -> \(Array(tail).text)")
        var out = Array(subst.utf8)
        if !out.isEmpty, out.last != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
        out += tail
        log(4, nil, "add subst prefix: \(Array(tail).text) -> \(out.text)")
        return out
    }
}
