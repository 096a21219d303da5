import SkepConfig
import SkepHTTP
import SkepSystem
import Glibc

/// The substitution language of `RewriteRule` and `RewriteCond` (Apache's `do_expand`):
/// `\c` for a literal character, `$N` and `%N` back-references, `%{VAR}` variables and
/// `${map:key|default}` lookups, done in one pass so that a value never expands again.
extension RewriteRun {
    private static let question = UInt8(ascii: "?")
    private static let percent = UInt8(ascii: "%")

    /// Expands `template`. `questionMark` tracks where the substitution's `?` came from
    /// (nil: not tracked): 0 when the deciding one (the first, or the last with `QSL`)
    /// was written literally, 1 when an expansion produced it, which Apache 2.4.60+
    /// refuses without `UnsafeAllow3F` (a `%3f` in the URL would become a query).
    mutating func expand(_ template: RewriteTemplate, rule: RewriteRuleEntry?, questionMark: inout Int?) -> [UInt8] {
        // The common cases, without building a new buffer: plain text, or one variable
        // (`%{REQUEST_FILENAME}`) whose value is returned as it is.
        if template.pieces.count == 1 {
            switch template.pieces[0] {
            case .literal(let text):
                if questionMark != nil, text.contains(Self.question) { questionMark = 0 }
                return text
            case .variable(let variable) where questionMark == nil:
                return lookup(variable)
            default: break
            }
        }
        if template.pieces.isEmpty { return [] }
        let tracksLast = rule?.flags.contains(.qsLast) ?? false
        var tracking = questionMark != nil
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for piece in template.pieces {
            let start = out.count
            switch piece {
            case .literal(let text):
                if tracking, text.contains(Self.question) {
                    questionMark = 0
                    if !tracksLast { tracking = false }
                }
                out += text
                continue
            case .escaped(let c):
                out.append(c)
                continue
            case .variable(let variable):
                out += lookup(variable)
            case .map(let name, let keyTemplate, let fallback):
                var none: Int? = nil
                let key = expand(keyTemplate, rule: rule, questionMark: &none)
                var value = RewriteMaps.lookup(name, key: key.text, r, context).map { Array($0.utf8) }
                if value == nil, let fallback { value = expand(fallback, rule: rule, questionMark: &none) }
                out += value ?? []
            case .ruleGroup(let group), .conditionGroup(let group):
                let isRule: Bool
                if case .ruleGroup = piece { isRule = true } else { isRule = false }
                guard let match = isRule ? ruleMatch : conditionMatch, 2 * group + 1 < match.offsets.count else { continue }
                let from = match.offsets[2 * group], to = match.offsets[2 * group + 1]
                guard from >= 0, to > from, to <= match.source.count else { continue }
                let text = match.source[from..<to]
                if let rule, rule.flags.contains(.escapeBackReference) {
                    let escaped = Self.escapeBackReference(Array(text), rule)
                    log(5, perdir, "escaping backreference '\(Array(text).text)' to '\(escaped.text)'")
                    out += escaped
                } else {
                    out += text
                }
            }
            // An expansion that brought a `?`: not the administrator's, so unsafe.
            if tracking, out[start...].contains(Self.question) {
                questionMark = 1
                if !tracksLast { tracking = false }
            }
        }
        return out
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

    /// Apache's `lookup_variable` for a variable resolved at configuration time.
    mutating func lookup(_ variable: RewriteVariable) -> [UInt8] {
        func bytes(_ s: String?) -> [UInt8] { s.map { Array($0.utf8) } ?? [] }
        switch variable {
        case .httpUserAgent: return header("User-Agent")
        case .httpReferer: return header("Referer")
        case .httpCookie: return header("Cookie")
        case .httpForwarded: return header("Forwarded")
        case .httpHost: return header("Host")
        case .httpProxyConnection: return header("Proxy-Connection")
        case .httpAccept: return header("Accept")
        case .header(let name): return header(name)
        case .environment(let name):
            if let value = r.notes[name] ?? r.environment[name] { return Array(value.utf8) }
            return getenv(name).map { Array(String(cString: $0).utf8) } ?? []
        case .ssl:
            // Skep serves no TLS yet: every SSL variable is empty, as Apache's without
            // mod_ssl on the connection.
            return []
        case .lookahead(let inner, let raw):
            // Apache looks the variable up in a subrequest for the current URL or file;
            // Skep has no subrequests and reads it from this request.
            let value = lookup(inner)
            log(5, perdir, "lookahead: path=\(uri.text) var=\(raw) -> val=\(value.text)")
            return value
        case .remoteAddr: return bytes(r.client.host)
        case .remotePort: return bytes(String(r.client.port))
        case .remoteUser: return bytes(r.user)
        case .remoteIdent, .unknown: return []
        case .requestMethod: return bytes(r.method)
        case .requestFilename: return filename
        case .pathInfo: return pathInfo
        case .queryString: return args ?? []
        case .authType: return bytes(r.authType)
        case .documentRoot: return bytes(documentRoot)
        case .contextDocumentRoot: return bytes(r.contextDocumentRoot ?? documentRoot)
        case .contextPrefix: return bytes(r.contextPrefix)
        case .serverAdmin: return bytes(r.serverConfig(CoreServerConfig.self).serverAdmin)
        case .serverName: return bytes(r.serverNameForURL)
        case .serverAddr: return bytes(r.local.host)
        case .serverPort: return bytes(String(r.serverPortForURL))
        case .serverProtocol: return bytes(r.protocolName)
        case .serverSoftware: return bytes(context.serverBanner)
        case .apiVersion: return bytes("20120211:137")
        case .https: return bytes(r.tls == nil ? "off" : "on")
        case .ipv6:
            let host = r.client.host
            return bytes(host.contains(":") && !host.hasPrefix("::ffff:") ? "on" : "off")
        case .isSubrequest: return bytes("false")
        case .requestScheme: return bytes(r.scheme)
        case .requestURI: return r.uriBytes
        case .theRequest: return bytes(r.requestLine)
        case .scriptUser: return bytes(r.fileStatus.flatMap { ExprEvaluation.userName($0.userID) } ?? "<unknown>")
        case .scriptGroup: return bytes(r.fileStatus.flatMap { ExprEvaluation.groupName($0.groupID) } ?? "<unknown>")
        case .time:
            let value = ExprEvaluation.timeString(SystemClock.now().seconds, .full)
            log(1, perdir, "RESULT='\(value)'")
            return bytes(value)
        case .timeYear: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .year))
        case .timeMonth: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .month))
        case .timeDay: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .day))
        case .timeHour: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .hour))
        case .timeMinute: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .minute))
        case .timeSecond: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .second))
        case .timeWeekday: return bytes(ExprEvaluation.timeString(SystemClock.now().seconds, .weekday))
        }
    }

    var documentRoot: String { r.serverConfig(CoreServerConfig.self).documentRoot ?? context.config.serverRoot + "/htdocs" }

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
        var prefix = r.scheme + "://" + r.serverNameForURL + (port == r.defaultPort ? "" : ":\(port)")
        if filename.first != UInt8(ascii: "/") { prefix += "/" }
        filename = Array(prefix.utf8) + filename
    }

    /// Apache's `reduce_uri`: `http://thisserver[:port]/path` back to `/path`.
    mutating func reduceURI() {
        let scheme = Array((r.scheme + "://").utf8)
        guard filename.count > scheme.count, zip(filename, scheme).allSatisfy({ Self.lower($0) == $1 }) else { return }
        let rest = filename[scheme.count...]
        let hostEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") } ?? rest.endIndex
        let host = Array(rest[rest.startIndex..<hostEnd]).text
        var port = r.defaultPort
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
