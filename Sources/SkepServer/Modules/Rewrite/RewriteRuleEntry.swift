import SkepConfig

/// The flags of a `RewriteRule` (Apache's `RULEFLAG_*`).
struct RewriteRuleFlags: OptionSet, Sendable {
    let rawValue: UInt32
    static let forceRedirect = RewriteRuleFlags(rawValue: 1 << 0)
    static let lastRule = RewriteRuleFlags(rawValue: 1 << 1)
    static let newRound = RewriteRuleFlags(rawValue: 1 << 2)
    static let chain = RewriteRuleFlags(rawValue: 1 << 3)
    static let ignoreOnSubrequest = RewriteRuleFlags(rawValue: 1 << 4)
    static let notMatch = RewriteRuleFlags(rawValue: 1 << 5)
    static let proxy = RewriteRuleFlags(rawValue: 1 << 6)
    static let passThrough = RewriteRuleFlags(rawValue: 1 << 7)
    static let qsAppend = RewriteRuleFlags(rawValue: 1 << 8)
    static let noCase = RewriteRuleFlags(rawValue: 1 << 9)
    static let noEscape = RewriteRuleFlags(rawValue: 1 << 10)
    static let discardPathInfo = RewriteRuleFlags(rawValue: 1 << 11)
    static let noSubstitution = RewriteRuleFlags(rawValue: 1 << 12)
    static let status = RewriteRuleFlags(rawValue: 1 << 13)
    static let escapeBackReference = RewriteRuleFlags(rawValue: 1 << 14)
    static let end = RewriteRuleFlags(rawValue: 1 << 15)
    static let escapeNoPlus = RewriteRuleFlags(rawValue: 1 << 16)
    static let qsDiscard = RewriteRuleFlags(rawValue: 1 << 17)
    static let qsNone = RewriteRuleFlags(rawValue: 1 << 18)
    static let qsLast = RewriteRuleFlags(rawValue: 1 << 19)
    static let escapeControls = RewriteRuleFlags(rawValue: 1 << 20)
    static let unsafePrefixStat = RewriteRuleFlags(rawValue: 1 << 21)
    static let unsafeAllow3F = RewriteRuleFlags(rawValue: 1 << 22)
    static let unc = RewriteRuleFlags(rawValue: 1 << 23)
}

/// One `RewriteRule` with the `RewriteCond`s written before it (`rewriterule_entry`).
struct RewriteRuleEntry: Sendable {
    /// The pattern as written, without a leading `!` (for the trace log).
    var pattern: String
    var regex: PCRERegex
    /// The substitution as written (`-` for none), without a trailing `?` that only
    /// drops the query (`QSNONE`).
    var output: [UInt8]
    /// `output` split for expansion.
    var substitution: RewriteTemplate
    var flags: RewriteRuleFlags = []
    /// `R=code`, `F` (403), `G` (410); 302 by default.
    var status = 302
    var forcedType: RewriteTemplate?
    var forcedHandler: RewriteTemplate?
    /// `E=var:value` / `E=!var`, each expanded when the rule applies.
    var environment: [RewriteTemplate] = []
    /// `CO=name:value:domain[:lifetime[:path[:secure[:httponly[:samesite]]]]]`.
    var cookies: [RewriteTemplate] = []
    var skip = 0
    /// `N=limit`: the rounds after which the engine gives up with 500 (Apache's
    /// `REWRITE_MAX_ROUNDS`, 10000).
    var maxRounds = 10000
    /// `B=chars`: the bytes a back-reference escapes (nil: all but letters, digits and `_`).
    var escapes: [UInt8]?
    /// `BNE=chars`: bytes a back-reference never escapes.
    var noEscapes: [UInt8]?
    var conditions: [RewriteCondition] = []

    var outputText: String { String(decoding: output, as: UTF8.self) }
}

/// One `RewriteCond` (`rewritecond_entry`).
struct RewriteCondition: Sendable {
    enum Test: Sendable {
        case regex(PCRERegex)
        case expr(ApExpr)
        case fileExists, fileSize, directory, executable, symbolicLink
        /// `-U`, `-F`: Apache's lookahead subrequests.
        case urlLookup, fileLookup
        case lessThan, lessOrEqual, greaterThan, greaterOrEqual, equal
        case intLess, intLessOrEqual, intGreater, intGreaterOrEqual, intEqual
    }

    /// The TestString, expanded per request.
    var input: RewriteTemplate
    /// The CondPattern as written (with `!` and the operator), for the trace log.
    var patternText: String
    /// What follows the operator (the string or integer compared with).
    var operand: [UInt8]
    var test: Test
    var negated = false
    var noCase = false
    var orNext = false
    var noVary = false
}

/// Reading `RewriteRule` and `RewriteCond` lines as Apache's `cmd_rewriterule` and
/// `cmd_rewritecond` do.
enum RewriteParser {
    /// Apache's `parseargline`: two or three words, each optionally quoted with `"` or
    /// `'`; a backslash before a blank keeps the blank in the word (and the backslash,
    /// which the regex or the expansion reads as an escape). The third must be `[...]`.
    static func arguments(_ line: [UInt8]) throws(RewriteParseError) -> (first: [UInt8], second: [UInt8], flags: [UInt8]?) {
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }
        func skipSpaces() { while i < line.count, isSpace(line[i]) { i += 1 } }
        /// One word from `i`; `ended` is false when the line ended inside it.
        func word() -> (word: [UInt8], ended: Bool) {
            var quote: UInt8?
            if i < line.count, line[i] == UInt8(ascii: "\"") || line[i] == UInt8(ascii: "'") {
                quote = line[i]
                i += 1
            }
            let start = i
            while i < line.count {
                let c = line[i]
                if (quote == nil && isSpace(c)) || c == quote { break }
                if c == UInt8(ascii: "\\"), i + 1 < line.count, isSpace(line[i + 1]) { i += 2; continue }
                i += 1
            }
            let w = Array(line[start..<min(i, line.count)])
            let ended = i < line.count
            if ended { i += 1 }
            return (w, ended)
        }
        skipSpaces()
        let first = word()
        guard first.ended else { throw RewriteParseError("bad argument line: at least two arguments required") }
        skipSpaces()
        let second = word()
        guard second.ended else { return (first.word, second.word, nil) }
        skipSpaces()
        guard i < line.count else { return (first.word, second.word, nil) }
        let third = word().word
        // The oracle (2.4.71) refuses a third word that is not `[...]` in these words
        // (newer 2.4 sources say more).
        guard third.first == UInt8(ascii: "["), third.last == UInt8(ascii: "]") else {
            throw RewriteParseError("bad flag delimiters")
        }
        return (first.word, second.word, third)
    }

    /// Apache's `cmd_parseflagfield`: `[key=value,key,...]` split on commas, blanks
    /// around each trimmed; a key without `=` has an empty value.
    static func flags(_ field: [UInt8]) -> [(key: String, value: String, hasValue: Bool)] {
        var out: [(String, String, Bool)] = []
        let inner = field.dropFirst().dropLast()
        for part in inner.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            var item = Array(part)
            while let f = item.first, f == 0x20 || f == 0x09 { item.removeFirst() }
            while let l = item.last, l == 0x20 || l == 0x09 { item.removeLast() }
            if item.isEmpty { continue }
            if let eq = item.firstIndex(of: UInt8(ascii: "=")) {
                out.append((String(decoding: item[..<eq], as: UTF8.self), String(decoding: item[(eq + 1)...], as: UTF8.self), true))
            } else {
                out.append((String(decoding: item, as: UTF8.self), "", false))
            }
        }
        return out
    }

    /// C's `atoi`: leading blanks, a sign, digits; 0 when there are none; clamped.
    static func atoi<S: Sequence>(_ bytes: S) -> Int where S.Element == UInt8 {
        var value = 0, negative = false, started = false, signAllowed = true
        for c in bytes {
            if !started, signAllowed, c == 0x20 || (0x09...0x0D).contains(c) { continue }
            if !started, signAllowed, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                negative = c == UInt8(ascii: "-")
                signAllowed = false
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { break }
            started = true
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))  // trap-safe: c is a digit
            if o1 || o2 { value = Int(Int32.max); break }  // trap-safe: Int32 widens to Int
            value = min(s, Int(Int32.max))  // trap-safe: Int32 widens to Int
        }
        return negative ? -value : value
    }

    /// A `RewriteRule` line (the text after the directive's name).
    static func rule(_ line: [UInt8]) throws(RewriteParseError) -> RewriteRuleEntry {
        let (first, second, flagField) = try arguments(line)
        var flags: RewriteRuleFlags = []
        var status = 302
        var entry = (type: [UInt8]?.none, handler: [UInt8]?.none, env: [[UInt8]](), cookies: [[UInt8]](), skip: 0, maxRounds: 10000,
                     escapes: [UInt8]?.none, noEscapes: [UInt8]?.none)
        if let flagField {
            for (key, value, _) in self.flags(flagField) {
                try ruleFlag(key, value, &flags, &status, &entry)
            }
        }
        var pattern = first
        if pattern.first == UInt8(ascii: "!") {
            flags.insert(.notMatch)
            pattern.removeFirst()
        }
        let patternText = String(decoding: pattern, as: UTF8.self)
        let regex: PCRERegex
        do {
            regex = try PCRERegex(patternText, caseless: flags.contains(.noCase))
        } catch {
            throw RewriteParseError("cannot compile regular expression '\(patternText)'")
        }
        var output = second
        if output == [UInt8(ascii: "-")] { flags.insert(.noSubstitution) }
        if output.last == UInt8(ascii: "?") {
            // A literal `?` ending the substitution: with QSA it marks where the query
            // ends (QSL); without, it drops the query and is itself dropped.
            if flags.contains(.qsAppend) {
                flags.insert(.qsLast)
            } else {
                flags.insert(.qsNone)
                output.removeLast()
            }
        } else if flags.contains(.qsDiscard), !output.contains(UInt8(ascii: "?")) {
            flags.insert(.qsNone)
        }
        var rule = RewriteRuleEntry(pattern: patternText, regex: regex, output: output, substitution: RewriteTemplate(output))
        rule.flags = flags
        rule.status = status
        rule.forcedType = entry.type.map(RewriteTemplate.init)
        rule.forcedHandler = entry.handler.map(RewriteTemplate.init)
        rule.environment = entry.env.map(RewriteTemplate.init)
        rule.cookies = entry.cookies.map(RewriteTemplate.init)
        rule.skip = entry.skip
        rule.maxRounds = entry.maxRounds
        rule.escapes = entry.escapes
        rule.noEscapes = entry.noEscapes
        return rule
    }

    /// Apache's `cmd_rewriterule_setflag`: the first letter picks the family, the rest
    /// of the key must be one of the family's spellings.
    private static func ruleFlag(_ key: String, _ value: String, _ flags: inout RewriteRuleFlags, _ status: inout Int,
                                 _ entry: inout (type: [UInt8]?, handler: [UInt8]?, env: [[UInt8]], cookies: [[UInt8]], skip: Int, maxRounds: Int,
                                                 escapes: [UInt8]?, noEscapes: [UInt8]?)) throws(RewriteParseError) {
        guard let firstLetter = key.first else { throw RewriteParseError("unknown flag ''") }
        let rest = String(key.dropFirst()).lowercased()
        var unknown = false
        switch firstLetter.lowercased() {
        case "b":
            if rest.isEmpty || rest == "ackrefescaping" {
                flags.insert(.escapeBackReference)
                if !value.isEmpty { entry.escapes = Array(value.utf8) }
            } else if rest == "ne" {
                guard !value.isEmpty else { throw RewriteParseError("flag 'BNE' wants a list of characters (i.e. [BNE=...])") }
                entry.noEscapes = Array(value.utf8)
            } else if rest == "np" || rest == "ackrefernoplus" {
                flags.insert(.escapeNoPlus)
            } else if rest == "ctls" {
                flags.formUnion([.escapeControls, .escapeBackReference])
            } else {
                unknown = true
            }
        case "c":
            if rest.isEmpty || rest == "hain" {
                flags.insert(.chain)
            } else if rest == "o" || rest == "ookie" {
                entry.cookies.append(Array(value.utf8))
            } else {
                unknown = true
            }
        case "d":
            // Apache accepts any other `D...` flag without a word.
            if rest.isEmpty || rest == "pi" || rest == "iscardpath" { flags.insert(.discardPathInfo) }
        case "e":
            if rest.isEmpty || rest == "nv" {
                entry.env.append(Array(value.utf8))
            } else if rest == "nd" {
                flags.insert(.end)
            } else {
                unknown = true
            }
        case "f":
            if rest.isEmpty || rest == "orbidden" {
                flags.formUnion([.status, .noSubstitution])
                status = 403
            } else {
                unknown = true
            }
        case "g":
            if rest.isEmpty || rest == "one" {
                flags.formUnion([.status, .noSubstitution])
                status = 410
            } else {
                unknown = true
            }
        case "h":
            if rest.isEmpty || rest == "andler" { entry.handler = Array(value.utf8) } else { unknown = true }
        case "l":
            if rest.isEmpty || rest == "ast" { flags.insert(.lastRule) } else { unknown = true }
        case "n":
            if rest == "e" || rest == "oescape" {
                flags.insert(.noEscape)
            } else if rest.isEmpty || rest == "ext" {
                flags.insert(.newRound)
                if !value.isEmpty { entry.maxRounds = atoi(value.utf8) }
            } else if rest == "s" || rest == "osubreq" {
                flags.insert(.ignoreOnSubrequest)
            } else if rest == "c" || rest == "ocase" {
                flags.insert(.noCase)
            } else {
                unknown = true
            }
        case "p":
            if rest.isEmpty || rest == "roxy" {
                flags.insert(.proxy)
            } else if rest == "t" || rest == "assthrough" {
                flags.insert(.passThrough)
            } else {
                unknown = true
            }
        case "q":
            switch rest {
            case "sa", "sappend": flags.insert(.qsAppend)
            case "sd", "sdiscard": flags.insert(.qsDiscard)
            case "sl", "slast": flags.insert(.qsLast)
            default: unknown = true
            }
        case "r":
            if rest.isEmpty || rest == "edirect" {
                flags.insert(.forceRedirect)
                if !value.isEmpty {
                    switch value.lowercased() {
                    case "permanent": status = 301
                    case "temp": status = 302
                    case "seeother": status = 303
                    default:
                        guard let c = value.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
                            // Apache keeps its status 0 for a word it does not know,
                            // which answers as a 302.
                            status = 0
                            return
                        }
                        let code = atoi(value.utf8)
                        guard code == 500 || HTTPStatusReasons.isKnown(code) else {
                            throw RewriteParseError("invalid HTTP response code '\(value)' for flag 'R'")
                        }
                        if !(300...399).contains(code) { flags.formUnion([.status, .noSubstitution]) }
                        status = code
                    }
                }
            } else {
                unknown = true
            }
        case "s":
            if rest.isEmpty || rest == "kip" { entry.skip = atoi(value.utf8) } else { unknown = true }
        case "t":
            if rest.isEmpty || rest == "ype" { entry.type = Array(value.utf8) } else { unknown = true }
        case "u":
            switch rest {
            case "nsafeprefixstat": flags.insert(.unsafePrefixStat)
            case "nsafeallow3f": flags.insert(.unsafeAllow3F)
            case "nc": flags.insert(.unc)
            default: unknown = true
            }
        default:
            unknown = true
        }
        if unknown { throw RewriteParseError("unknown flag '\(key)'") }
    }

    /// A `RewriteCond` line (the text after the directive's name).
    static func condition(_ line: [UInt8]) throws(RewriteParseError) -> RewriteCondition {
        let (input, patternWord, flagField) = try arguments(line)
        var negated = false, noCase = false, orNext = false, noVary = false
        if let flagField {
            for (key, _, _) in flags(flagField) {
                switch key.lowercased() {
                case "nocase", "nc": noCase = true
                case "ornext", "or": orNext = true
                case "novary", "nv": noVary = true
                default: throw RewriteParseError("unknown flag '\(key)'")
                }
            }
        }
        var a2 = patternWord[...]
        if a2.first == UInt8(ascii: "!") {
            negated = true
            a2 = a2.dropFirst()
        }
        var test: RewriteCondition.Test?
        let isExpr = String(decoding: input, as: UTF8.self).lowercased() == "expr"
        let b = Array(a2)
        func at(_ i: Int) -> UInt8 { i < b.count ? b[i] : 0 }
        if !isExpr, b.count >= 2 {
            if b[0] == UInt8(ascii: "-") {
                if b.count == 2 {
                    switch b[1] {
                    case UInt8(ascii: "f"): test = .fileExists
                    case UInt8(ascii: "s"): test = .fileSize
                    case UInt8(ascii: "d"): test = .directory
                    case UInt8(ascii: "x"): test = .executable
                    case UInt8(ascii: "h"), UInt8(ascii: "L"), UInt8(ascii: "l"): test = .symbolicLink
                    case UInt8(ascii: "U"): test = .urlLookup
                    case UInt8(ascii: "F"): test = .fileLookup
                    default: break
                    }
                } else if b.count > 3 {
                    switch (b[1], b[2]) {
                    case (UInt8(ascii: "l"), UInt8(ascii: "t")): test = .intLess
                    case (UInt8(ascii: "l"), UInt8(ascii: "e")): test = .intLessOrEqual
                    case (UInt8(ascii: "g"), UInt8(ascii: "t")): test = .intGreater
                    case (UInt8(ascii: "g"), UInt8(ascii: "e")): test = .intGreaterOrEqual
                    case (UInt8(ascii: "e"), UInt8(ascii: "q")): test = .intEqual
                    case (UInt8(ascii: "n"), UInt8(ascii: "e")):
                        // `-ne` is `-eq` inverted, so `!-ne` is `-eq`.
                        test = .intEqual
                        negated.toggle()
                    default: break
                    }
                    if test != nil { a2 = a2.dropFirst(3) }
                }
            } else {
                switch b[0] {
                case UInt8(ascii: ">"):
                    if at(1) == UInt8(ascii: "=") { test = .greaterOrEqual; a2 = a2.dropFirst(2) } else { test = .greaterThan; a2 = a2.dropFirst() }
                case UInt8(ascii: "<"):
                    if at(1) == UInt8(ascii: "=") { test = .lessOrEqual; a2 = a2.dropFirst(2) } else { test = .lessThan; a2 = a2.dropFirst() }
                case UInt8(ascii: "="):
                    test = .equal
                    a2 = a2.dropFirst()
                    // `=""` compares with the empty string.
                    if Array(a2) == Array("\"\"".utf8) { a2 = a2.dropFirst(2) }
                default: break
                }
            }
        }
        let operand = Array(a2)
        let patternText = String(decoding: patternWord, as: UTF8.self)
        if isExpr {
            do {
                test = .expr(try ApExpr(String(decoding: operand, as: UTF8.self)))
            } catch {
                throw RewriteParseError("cannot compile expression \"\(String(decoding: operand, as: UTF8.self))\": \(error)")
            }
        }
        let isString: Bool
        switch test {
        case .lessThan?, .lessOrEqual?, .greaterThan?, .greaterOrEqual?, .equal?: isString = true
        default: isString = false
        }
        if test != nil, !isString {
            // Apache warns (AH00665) and ignores NC on a test that is no regex or string.
            noCase = false
        }
        if test == nil {
            let source = String(decoding: operand, as: UTF8.self)
            do {
                test = .regex(try PCRERegex(source, caseless: noCase))
            } catch {
                throw RewriteParseError("cannot compile regular expression '\(source)'")
            }
        }
        guard let test else { throw RewriteParseError("cannot read the pattern '\(patternText)'") }
        return RewriteCondition(input: RewriteTemplate(input), patternText: patternText, operand: operand, test: test,
                                negated: negated, noCase: noCase, orNext: orNext, noVary: noVary)
    }
}

/// Why a `RewriteRule` or `RewriteCond` line was refused, in Apache's words (without
/// the directive's name, which the caller puts first).
struct RewriteParseError: Error, Sendable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// The status codes Apache has a reason phrase for (`ap_index_of_response` finds them);
/// `R=` refuses the others.
enum HTTPStatusReasons {
    static func isKnown(_ code: Int) -> Bool { known.contains(code) }

    /// Apache 2.4's `status_lines` (http_protocol.c); 306 and 418 are not among them.
    static let known: Set<Int> = [
        100, 101, 102, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
        400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424,
        426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
    ]
}
