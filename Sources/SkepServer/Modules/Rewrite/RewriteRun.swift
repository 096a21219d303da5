import SkepConfig
import SkepHTTP
import SkepSystem
import Glibc

/// One pass of a rule list over a request: Apache's `rewrite_ctx` with the parts of
/// `request_rec` the rules change (`r->filename`, `r->args`, `r->path_info`,
/// `r->status`), kept as bytes so a path that is not UTF-8 matches as in Apache, and
/// written back to the request by the hook that ran the list.
struct RewriteRun {
    let r: Request
    let context: ServerContext
    /// The directory of a per-directory rule set, with a trailing slash; nil in server context.
    let perdir: String?
    let log: RewriteLog
    var filename: [UInt8]
    var args: [UInt8]?
    var pathInfo: [UInt8]
    /// What the current rule's pattern is matched against (`ctx->uri`).
    var uri: [UInt8] = []
    /// The subject and offsets of the rule's match (`$N`) and of the last matching
    /// condition (`%N`).
    var ruleMatch: (source: [UInt8], offsets: [Int])?
    var conditionMatch: (source: [UInt8], offsets: [Int])?
    /// Header names read by the rule's conditions, for `Vary` once the rule applies.
    var vary: [String] = []
    var varyThis: [String] = []
    /// `r->status`: what `F`, `G`, `R=4xx` or a redirect set.
    var status = 200
    /// The last rule that substituted (`lastsub`), for the prefix check of a local path.
    var lastSubstitution: RewriteRuleEntry?
    /// An `END` rule applied: no more rewriting for this request.
    var ended = false

    /// How a rule list ended (`ACTION_*`).
    enum Outcome: Equatable {
        case unchanged
        case changed(noEscape: Bool)
        /// `F`, `G`, `R=4xx`, an error: answer with this status.
        case status(Int)
    }

    enum RuleOutcome { case noMatch, match, noSubstitution, statusSet }

    init(_ r: Request, _ context: ServerContext, perdir: String?, filename: [UInt8], log: RewriteLog) {
        self.r = r
        self.context = context
        self.perdir = perdir
        self.log = log
        self.filename = filename
        self.args = r.query.map { Array($0.utf8) }
        self.pathInfo = Array(r.pathInfo.utf8)
    }

    // MARK: The list

    /// Apache's `apply_rewrite_list`.
    mutating func apply(_ rules: [RewriteRuleEntry]) -> Outcome {
        var changed = Outcome.unchanged
        var round = 1
        var i = 0
        let lineLimit = r.serverConfig(CoreServerConfig.self).limitRequestLine ?? 8190
        while i < rules.count {
            let p = rules[i]
            vary = []
            let rc = apply(p)
            if rc != .noMatch {
                if !p.flags.contains(.noSubstitution) {
                    log(2, perdir, "setting lastsub to rule with output \(p.outputText)")
                    lastSubstitution = p
                }
                // A rule that keeps growing the path (with path info) stops here.
                if filename.count > 2 * lineLimit {
                    context.errorLog.log(.error, module: "rewrite", client: r.client,
                                         "RewriteRule '\(p.pattern)' and URI '\(r.uri)' exceeded maximum length (\(2 * lineLimit))")
                    return .status(500)
                }
                for name in vary { r.noteVary(name) }
                if rc == .statusSet || p.flags.contains(.status) { return .status(status) }
                if rc != .noSubstitution { changed = .changed(noEscape: p.flags.contains(.noEscape)) }
                if p.flags.contains(.passThrough) {
                    log(2, perdir, "forcing '\(filename.text)' to get passed through to next API URI-to-filename handler")
                    filename = Array("passthrough:".utf8) + filename
                    changed = .changed(noEscape: false)
                    break
                }
                if p.flags.contains(.end) {
                    log(8, perdir, "Rule has END flag, no further rewriting for this request")
                    ended = true
                    break
                }
                if p.flags.contains(.proxy) || p.flags.contains(.lastRule) { break }
                if p.flags.contains(.newRound) {
                    round += 1
                    if round >= p.maxRounds {
                        context.errorLog.log(.error, module: "rewrite", client: r.client,
                                             "AH02596: RewriteRule '\(p.pattern)' and URI '\(r.uri)' exceeded maximum number of rounds (\(p.maxRounds)) via the [N] flag")
                        return .status(500)
                    }
                    i = 0
                    continue
                }
                if p.skip > 0 { i = min(rules.count, i + p.skip) }
            } else {
                // A rule that did not apply takes the rest of its chain with it.
                while i < rules.count, rules[i].flags.contains(.chain) { i += 1 }
            }
            i += 1
        }
        return changed
    }

    // MARK: One rule

    /// Apache's `apply_rewrite_rule`.
    mutating func apply(_ p: RewriteRuleEntry) -> RuleOutcome {
        uri = filename
        var isProxy = false
        if let perdir {
            isProxy = filename.starts(with: Self.proxyPrefix)
            // The rules match the full URL path: the path info goes back on.
            if !pathInfo.isEmpty {
                log(3, perdir, "add path info postfix: \(uri.text) -> \(uri.text)\(pathInfo.text)")
                uri += pathInfo
            }
            // The directory's own path is stripped, so rules match below it.
            let prefix = perdir.utf8
            if !isProxy, uri.count >= prefix.count, uri.starts(with: prefix) {
                let stripped = Array(uri.dropFirst(prefix.count))
                log(3, perdir, "strip per-dir prefix: \(uri.text) -> \(stripped.text)")
                uri = stripped
            }
        }
        log(3, perdir, "applying pattern '\(p.pattern)' to uri '\(uri.text)'")
        let offsets = uri.withUnsafeBytes { p.regex.firstMatchOffsets(bytes: $0) }
        guard (offsets != nil) != p.flags.contains(.notMatch) else { return .noMatch }
        varyThis = []
        conditionMatch = nil
        ruleMatch = offsets.map { (uri, $0) }

        // The conditions are checked only now that the pattern matched (cheaper).
        var i = 0
        let conditions = p.conditions
        while i < conditions.count {
            let c = conditions[i]
            let rc = apply(c)
            if c.noVary { varyThis = [] }
            if c.orNext {
                if !rc {
                    varyThis = []
                    i += 1
                    continue
                }
                // The rest of the OR group needs no checking.
                while i < conditions.count, conditions[i].orNext { i += 1 }
            } else if !rc {
                return .noMatch
            }
            if !varyThis.isEmpty {
                vary += varyThis
                varyThis = []
            }
            i += 1
        }

        var newURI: [UInt8] = []
        if !p.flags.contains(.noSubstitution) {
            var unsafeQuestionMark: Int? = p.flags.contains(.unsafeAllow3F) ? nil : -1
            newURI = expand(p.substitution, rule: p, questionMark: &unsafeQuestionMark)
            log(2, perdir, "rewrite '\(uri.text)' -> '\(newURI.text)'")
            if unsafeQuestionMark == 1 {
                context.errorLog.log(.error, module: "rewrite", client: r.client, "AH10508: Unsafe URL with %3f URL rewritten without UnsafeAllow3F")
                status = 403
                return .statusSet
            }
        }
        expandEnvironment(p.environment)
        expandCookies(p.cookies)

        if p.flags.contains(.noSubstitution) {
            forceTypeAndHandler(p)
            if p.flags.contains(.status) {
                log(2, perdir, "forcing responsecode \(p.status) for \(filename.text)")
                status = p.status
            }
            return .noSubstitution
        }

        // A relative result gets the directory back (per-directory) or a '/' (server).
        var prefixAdded = false
        if !isProxy, newURI.first != UInt8(ascii: "/"), Self.absoluteURIScheme(newURI).length == 0 {
            if let perdir {
                log(3, perdir, "add per-dir prefix: \(newURI.text) -> \(perdir)\(newURI.text)")
                newURI = Array(perdir.utf8) + newURI
                prefixAdded = true
            } else if !p.flags.contains(.proxy), !p.flags.contains(.forceRedirect) {
                log(3, perdir, "add root prefix: \(newURI.text) -> /\(newURI.text)")
                newURI = [UInt8(ascii: "/")] + newURI
                prefixAdded = true
            }
        }
        filename = newURI
        if perdir != nil, p.flags.contains(.discardPathInfo) { pathInfo = [] }
        splitOutQuery(p.flags)

        if p.flags.contains(.proxy) {
            fullyQualify()
            log(2, perdir, "forcing proxy-throughput with \(filename.text)")
            filename = Self.proxyPrefix + filename
            return .match
        }
        if p.flags.contains(.forceRedirect) {
            fullyQualify()
            log(2, perdir, "explicitly forcing redirect with \(filename.text)")
            status = p.status
            return .match
        }
        reduceURI()
        if Self.absoluteURIScheme(filename).length > 0 {
            log(2, perdir, "implicitly forcing redirect (rc=\(p.status) with \(filename.text)")
            status = p.status
            return .match
        }
        if !(p.flags.contains(.unc) || prefixAdded) {
            // Leading slashes merge, unless the substitution itself began with two.
            let output = p.output
            if !(output.count >= 2 && output[0] == UInt8(ascii: "/") && output[1] == UInt8(ascii: "/")) {
                while filename.count >= 2, filename[0] == UInt8(ascii: "/"), filename[1] == UInt8(ascii: "/") { filename.removeFirst() }
            }
        }
        forceTypeAndHandler(p)
        return .match
    }

    static let proxyPrefix = Array("proxy:".utf8)

    // MARK: One condition

    /// Apache's `apply_rewrite_cond`.
    mutating func apply(_ c: RewriteCondition) -> Bool {
        var input: [UInt8] = []
        if case .expr = c.test {} else {
            var none: Int? = nil
            input = expand(c.input, rule: nil, questionMark: &none)
        }
        var rc = false
        switch c.test {
        case .fileExists: rc = stat(input)?.isRegularFile ?? false
        case .fileSize: rc = stat(input).map { $0.isRegularFile && $0.size > 0 } ?? false
        case .symbolicLink: rc = stat(input, followSymlinks: false)?.isSymbolicLink ?? false
        case .directory: rc = stat(input)?.isDirectory ?? false
        case .executable: rc = stat(input).map { $0.permissions & 0o111 != 0 } ?? false
        case .urlLookup:
            // Apache's lookahead subrequest answers below 400 unless access to the URL is
            // refused; Skep has no subrequests and takes a non-empty URL as reachable.
            rc = !input.isEmpty
            log(5, nil, "RewriteCond URI (-U check: path=\(input.text) -> status=\(rc ? 200 : 0)")
        case .fileLookup:
            rc = !input.isEmpty && stat(input) != nil
            log(5, nil, "RewriteCond file (-F check: path=\(input.text) -> file=\(input.text) status=\(rc ? 200 : 0)")
        case .greaterOrEqual: rc = Self.compare(input, c.operand, noCase: c.noCase) >= 0
        case .greaterThan: rc = Self.compare(input, c.operand, noCase: c.noCase) >= 1
        case .lessOrEqual: rc = Self.compare(input, c.operand, noCase: c.noCase) <= 0
        case .lessThan: rc = Self.compare(input, c.operand, noCase: c.noCase) <= -1
        case .equal: rc = c.noCase ? Self.caseFoldedEqual(input, c.operand) : input == c.operand
        case .intGreaterOrEqual: rc = RewriteParser.atoi(input) >= RewriteParser.atoi(c.operand)
        case .intGreater: rc = RewriteParser.atoi(input) > RewriteParser.atoi(c.operand)
        case .intLessOrEqual: rc = RewriteParser.atoi(input) <= RewriteParser.atoi(c.operand)
        case .intLess: rc = RewriteParser.atoi(input) < RewriteParser.atoi(c.operand)
        case .intEqual: rc = RewriteParser.atoi(input) == RewriteParser.atoi(c.operand)
        case .expr(let expression):
            var evaluation = ExprEvaluation(r, context)
            let result = evaluation.evaluate(expression)
            if result == nil || evaluation.failure != nil {
                log(1, perdir, "RewriteCond: expr='\(c.patternText)' evaluation failed: \(evaluation.failure ?? "")")
            }
            rc = result ?? false
            if rc, !c.negated, let match = evaluation.match {
                var offsets: [Int] = []
                for n in 0..<match.count {
                    let range = match.range(n)
                    offsets.append(range?.lowerBound ?? -1)
                    offsets.append(range?.upperBound ?? -1)
                }
                conditionMatch = (Array(match.subject.utf8), offsets)
            }
        case .regex(let regex):
            let offsets = input.withUnsafeBytes { regex.firstMatchOffsets(bytes: $0) }
            rc = offsets != nil
            if let offsets, !c.negated { conditionMatch = (input, offsets) }
        }
        if c.negated { rc.toggle() }
        log(4, perdir, "RewriteCond: input='\(input.text)' pattern='\(c.patternText)'\(c.noCase ? " [NC]" : "") => \(rc ? "matched" : "not-matched")")
        return rc
    }

    /// Apache's `stat` of a condition's path, through the file cache; on the event
    /// listener an unknown path stops the run (`wouldBlock`) and reads as missing.
    func stat(_ path: [UInt8], followSymlinks: Bool = true) -> FileStatus? {
        guard !path.isEmpty else { return nil }
        return (try? r.lookUp(String(decoding: path, as: UTF8.self), followSymlinks: followSymlinks, in: context.fileCache)) ?? nil
    }

    /// Apache's `compare_lexicography` (a longer string is greater), or `strcasecmp` with NC.
    static func compare(_ a: [UInt8], _ b: [UInt8], noCase: Bool) -> Int {
        if noCase {
            for i in 0..<min(a.count, b.count) {
                let x = lower(a[i]), y = lower(b[i])
                if x != y { return x < y ? -1 : 1 }
            }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
        guard a.count == b.count else { return a.count > b.count ? 1 : -1 }
        for i in 0..<a.count where a[i] != b[i] { return a[i] > b[i] ? 1 : -1 }
        return 0
    }

    static func lower(_ c: UInt8) -> UInt8 { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c) ? c | 0x20 : c }

    static func caseFoldedEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lower($0) == lower($1) }
    }

    // MARK: E=, CO=, T=, H=

    /// Apache's `do_expand_env`: `E=name:value` sets, `E=!name` unsets.
    mutating func expandEnvironment(_ items: [RewriteTemplate]) {
        for item in items {
            var none: Int? = nil
            let expanded = expand(item, rule: nil, questionMark: &none)
            if expanded.first == UInt8(ascii: "!") {
                let name = Array(expanded.dropFirst()).text
                r.environment[name] = nil
                log(5, nil, "unsetting env variable '\(name)'")
            } else {
                let colon = expanded.firstIndex(of: UInt8(ascii: ":"))
                let name = Array(expanded[..<(colon ?? expanded.endIndex)]).text
                let value = colon.map { Array(expanded[($0 + 1)...]).text } ?? ""
                r.environment[name] = value
                log(5, nil, "setting env variable '\(name)' to '\(value)'")
            }
        }
    }

    /// Apache's `add_cookie`: `name:value:domain[:minutes[:path[:secure[:httponly[:samesite]]]]]`
    /// (`;` as the separator when the value starts with one), one `Set-Cookie` per name
    /// and request, on every response (Apache's `err_headers_out`).
    mutating func expandCookies(_ items: [RewriteTemplate]) {
        for item in items {
            var none: Int? = nil
            var expanded = expand(item, rule: nil, questionMark: &none)
            var separator = UInt8(ascii: ":")
            if expanded.first == UInt8(ascii: ";") {
                separator = UInt8(ascii: ";")
                expanded.removeFirst()
            }
            // apr_strtok: empty fields are skipped.
            let parts = expanded.split(separator: separator).map { Array($0).text }
            guard parts.count >= 3 else { continue }
            let name = parts[0]
            if r.errorHeaders.contains(where: { $0.name == "Set-Cookie" && $0.value.hasPrefix(name + "=") }) {
                log(5, nil, "skipping already set cookie '\(name)'")
                continue
            }
            var cookie = "\(name)=\(parts[1]); path=\(parts.count > 4 ? parts[4] : "/"); domain=\(parts[2])"
            if parts.count > 3 {
                let minutes = RewriteParser.atoi(parts[3].utf8)
                // trap-safe: atoi clamps to Int32, so the minutes in seconds fit an Int64 many times over
                if minutes != 0 { cookie += "; expires=" + Self.cookieDate(r.received.seconds + Int64(minutes) * 60) }
            }
            func yes(_ s: String, _ word: String) -> Bool { s.lowercased() == "true" || s == "1" || s.lowercased() == word.lowercased() }
            if parts.count > 5, yes(parts[5], "secure") { cookie += "; secure" }
            if parts.count > 6, yes(parts[6], "HttpOnly") { cookie += "; HttpOnly" }
            if parts.count > 7, parts[7] != "0", parts[7].lowercased() != "false" { cookie += "; SameSite=" + parts[7] }
            r.errorHeaders.append(("Set-Cookie", cookie))
            r.notes[RewriteModule.cookiesNote] = (r.notes[RewriteModule.cookiesNote].map { $0 + "\n" } ?? "") + cookie
            log(5, nil, "setting cookie '\(cookie)'")
        }
    }

    /// `Wed, 09-Dec-2026 10:00:00 GMT`, the cookie date Apache writes.
    static func cookieDate(_ seconds: Int64) -> String {
        var t = time_t(seconds)  // trap-safe: time_t is Int64 on Linux
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "" }
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = days.indices.contains(Int(parts.tm_wday)) ? days[Int(parts.tm_wday)] : "Sun"  // trap-safe: checked index
        let month = months.indices.contains(Int(parts.tm_mon)) ? months[Int(parts.tm_mon)] : "Jan"  // trap-safe: checked index
        var year = String(parts.tm_year + 1900)
        while year.count < 4 { year = "0" + year }
        return "\(day), \(two(parts.tm_mday))-\(month)-\(year) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Apache's `force_type_handler`: `T=` and `H=` are remembered in notes, applied
    /// after the other fixups (`hook_mimetype`).
    mutating func forceTypeAndHandler(_ p: RewriteRuleEntry) {
        var none: Int? = nil
        if let type = p.forcedType {
            let expanded = expand(type, rule: p, questionMark: &none).text.lowercased()
            if !expanded.isEmpty {
                log(2, perdir, "remember \(filename.text) to have MIME-type '\(expanded)'")
                r.notes[RewriteModule.forcedTypeNote] = expanded
            }
        }
        if let handler = p.forcedHandler {
            let expanded = expand(handler, rule: p, questionMark: &none).text.lowercased()
            if !expanded.isEmpty {
                log(2, perdir, "remember \(filename.text) to have Content-handler '\(expanded)'")
                r.notes[RewriteModule.forcedHandlerNote] = expanded
            }
        }
    }
}
