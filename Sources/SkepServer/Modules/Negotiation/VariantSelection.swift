/// Apache's server-driven negotiation (mod_negotiation's `do_negotiation`, `best_match`,
/// `is_variant_better` and the RVSA/1.0 of RFC 2296), over a list of variants and the
/// request's `Accept*` fields, with no I/O: what it answers is which variant, and the
/// `Vary`, `Alternates` and `TCN` fields and variant list Apache sends with it.
public struct VariantSelection: Sendable {
    /// How the configuration asks `LanguagePriority` to be used (`ForceLanguagePriority`).
    public struct ForcePriority: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `None`: stored so that combining it with the others is refused.
        public static let none = ForcePriority(rawValue: 1)
        public static let prefer = ForcePriority(rawValue: 2)
        public static let fallback = ForcePriority(rawValue: 4)
    }

    /// What the request brings: its `Accept*` fields (nil when absent), method, and the
    /// environment variables Apache's negotiation reads.
    public struct Request: Sendable {
        public var accept: String?
        public var acceptLanguage: String?
        public var acceptCharset: String?
        public var acceptEncoding: String?
        /// RFC 2295's `Negotiate` field.
        public var negotiate: String?
        public var userAgent: String?
        /// GET or HEAD: Apache negotiates transparently (RFC 2295) only for these.
        public var isGetOrHead = true
        /// Path info after the negotiated name.
        public var hasPathInfo = false
        /// Apache prefers a script variant for POST, a query or path info.
        public var prefersScripts = false
        /// `prefer-language`, `no-gzip`, `gzip-only-text/html` from the environment.
        public var preferLanguage: String?
        public var noGzip = false
        public var gzipOnlyTextHTML = false

        public init(accept: String? = nil, acceptLanguage: String? = nil, acceptCharset: String? = nil,
                    acceptEncoding: String? = nil) {
            self.accept = accept
            self.acceptLanguage = acceptLanguage
            self.acceptCharset = acceptCharset
            self.acceptEncoding = acceptEncoding
        }
    }

    /// What negotiation decided.
    public enum Outcome: Sendable, Equatable {
        /// Serve `variants[index]`.
        case choice(Int)
        /// No variant is acceptable: 406 Not Acceptable with the variant list.
        case notAcceptable
        /// A client doing transparent negotiation gets the list: 300 Multiple Choices.
        case multipleChoices
    }

    public var variants: [Variant]
    public let languagePriority: [String]?
    public let force: ForcePriority

    /// The result, once `run` has been called, and the fields Apache adds to the response.
    public private(set) var outcome: Outcome = .notAcceptable
    public private(set) var isTransparent = false
    /// The `Vary` value (Apache's, after `fixup_vary`: comma-separated, no spaces), if any.
    public private(set) var vary: String?
    public private(set) var alternates: String?
    public private(set) var tcn: String?

    // Negotiation state (Apache's `negotiation_state`).
    var accepts: [AcceptItem]?
    var acceptEncodings: [AcceptItem]?
    var acceptLanguages: [AcceptItem]?
    var acceptCharsets: [AcceptItem]?
    var acceptQ = false
    var defaultLanguageQuality: Float = 1
    var dontFiddleHeaders = false
    var userAgentSupportsTransparent = false
    var sendAlternates = false
    var mayChoose = true
    var useRVSA = false

    public init(variants: [Variant], languagePriority: [String]?, force: ForcePriority) {
        self.variants = variants
        self.languagePriority = languagePriority
        self.force = force.isEmpty ? .prefer : force
    }

    /// Apache's `do_negotiation`.
    public mutating func run(_ request: Request) {
        accepts = request.accept.map(AcceptHeader.parseList)
        acceptQ = accepts?.contains { $0.quality < 1 } ?? false
        acceptEncodings = request.acceptEncoding.map(AcceptHeader.parseList)
        acceptLanguages = request.acceptLanguage.map(AcceptHeader.parseList)
        acceptCharsets = request.acceptCharset.map(AcceptHeader.parseList)

        isTransparent = request.isGetOrHead && !request.hasPathInfo
            && !variants.contains { $0.fileName.contains("/") || $0.body != nil }
        if isTransparent {
            parseNegotiate(request)
        } else {
            mayChoose = true
        }
        addDefaultAccepts(prefersScripts: request.prefersScripts)
        let (best, choice) = bestMatch(request)
        if !choice {
            sendAlternates = true
            setHeaders(choice: false)
            if isTransparent && userAgentSupportsTransparent {
                outcome = .multipleChoices
                return
            }
            guard let best else {
                outcome = .notAcceptable
                return
            }
            outcome = .choice(best)
            return
        }
        guard let best else { outcome = .notAcceptable; return }
        setHeaders(choice: true)
        outcome = .choice(best)
    }

    /// Apache's `parse_negotiate_header`.
    mutating func parseNegotiate(_ request: Request) {
        userAgentSupportsTransparent = false
        sendAlternates = false
        mayChoose = true
        useRVSA = false
        dontFiddleHeaders = false
        guard let negotiate = request.negotiate else { return }
        // Lynx sends `negotiate: trans` without supporting it.
        if negotiate == "trans", request.userAgent?.hasPrefix("Lynx") == true { return }
        mayChoose = false
        for raw in negotiate.split(separator: ",") {
            let token = String(raw.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()).lowercased()
            guard !token.isEmpty else { continue }
            if token == "trans" || token == "vlist" || token == "guess-small" || token.first?.isASCIIDigit == true || token == "*" {
                userAgentSupportsTransparent = true
                sendAlternates = true
                if token == "1.0" {
                    mayChoose = true
                    useRVSA = true
                    dontFiddleHeaders = true
                } else if token.hasPrefix("*") {
                    mayChoose = true
                    dontFiddleHeaders = true
                }
            }
        }
    }

    /// Apache's `maybe_add_default_accepts`: `*/*` when the client sent no Accept, and
    /// CGI scripts at a low (or, for POST and queries, a high) quality.
    mutating func addDefaultAccepts(prefersScripts: Bool) {
        var list = accepts ?? [AcceptItem(name: "*/*")]
        list.append(AcceptItem(name: Negotiation.cgiMagicType, quality: useRVSA ? 0 : (prefersScripts ? 2 : 0.001)))
        accepts = list
    }

    /// Apache's `best_match`: qualities for every variant, then the best one; whether
    /// the result is a choice.
    mutating func bestMatch(_ request: Request) -> (Int?, Bool) {
        var preferred = request.preferLanguage
        setDefaultLanguageQuality()
        while true {
            var best: Int?
            var bestQ: Float = 0
            for j in variants.indices {
                if request.noGzip || request.gzipOnlyTextHTML, discardedByEnvironment(variants[j], request) { continue }
                if let preferred, !variants[j].languages.contains(preferred) { continue }
                setAcceptQuality(j)
                if preferred != nil {
                    variants[j].languageQuality = 1
                    variants[j].definite = true
                } else {
                    setLanguageQuality(j)
                }
                setEncodingQuality(j)
                setCharsetQuality(j)
                if mayChoose {
                    let better = useRVSA ? isBetterRVSA(j, than: best, &bestQ) : isBetter(j, than: best, &bestQ)
                    if better { best = j }
                }
            }
            let choice: Bool
            if useRVSA {
                choice = best.map { variants[$0].definite } == true && bestQ > 0
            } else {
                choice = bestQ > 0
            }
            if preferred != nil && (best == nil || !choice) {
                preferred = nil
                continue
            }
            return (best, choice)
        }
    }

    /// Apache's `discard_variant_by_env`: `no-gzip` drops every encoded variant,
    /// `gzip-only-text/html=1` those that are not HTML.
    func discardedByEnvironment(_ v: Variant, _ request: Request) -> Bool {
        if Self.isIdentityEncoding(v.encoding) || v.encoding == "identity" { return false }
        if request.noGzip { return true }
        return !v.mimeType.hasPrefix("text/html")
    }

    static func isIdentityEncoding(_ e: String?) -> Bool {
        guard let e, !e.isEmpty else { return true }
        return e == "7bit" || e == "8bit" || e == "binary"
    }

    /// Apache's `set_default_lang_quality`: variants without a language are acceptable,
    /// but only just, when others have one.
    mutating func setDefaultLanguageQuality() {
        if !dontFiddleHeaders && variants.contains(where: { !$0.languages.isEmpty }) {
            defaultLanguageQuality = 0.0001
        } else {
            defaultLanguageQuality = 1
        }
    }

    /// Apache's `mime_match`, updating the variant's stars and matched level.
    static func typeMatches(_ accept: AcceptItem, _ v: inout Variant) -> Bool {
        let a = accept.name
        if a == "*" || a == "*/*" {
            if v.typeStars < 1 { v.typeStars = 1 }
            return true
        }
        if a.utf8.count > 2 && a.hasSuffix("/*") {
            let prefix = a.dropLast(1)  // "type/"
            if v.mimeType.hasPrefix(prefix) {
                if v.typeStars < 2 { v.typeStars = 2 }
                return true
            }
        }
        if a == v.mimeType || (a == "text/html" && AcceptHeader.includesTypes.contains(v.mimeType)) {
            if accept.level >= v.level {
                v.levelMatched = v.level
                v.typeStars = 3
                return true
            }
        }
        return false
    }

    /// Apache's `set_accept_quality`: the q of the most specific matching media range,
    /// with `*/*` and `type/*` made very low when the client gave no q-values at all.
    mutating func setAcceptQuality(_ j: Int) {
        guard let accepts else {
            if !variants[j].mimeType.isEmpty { variants[j].definite = false }
            return
        }
        var q: Float = 0
        var definite = true
        for item in accepts {
            let before = variants[j].typeStars
            guard Self.typeMatches(item, &variants[j]), before != variants[j].typeStars else { continue }
            if !dontFiddleHeaders && !acceptQ && variants[j].typeStars == 1 {
                q = 0.01
            } else if !dontFiddleHeaders && !acceptQ && variants[j].typeStars == 2 {
                q = 0.02
            } else {
                q = item.quality
            }
            definite = variants[j].typeStars == 3
        }
        variants[j].typeQuality = q
        variants[j].definite = variants[j].definite && definite
    }

    /// Apache's `find_lang_index`: the first LanguagePriority entry that is a prefix of
    /// the language (case-insensitively).
    static func languageIndex(_ priority: [String]?, _ language: String) -> Int {
        guard let priority else { return -1 }
        let lower = language.lowercased()
        for (i, entry) in priority.enumerated() where lower.hasPrefix(entry.lowercased()) { return i }
        return -1
    }

    /// Apache's `set_language_quality`, with its fiddle for `en-US` against `en`, `*`,
    /// and `ForceLanguagePriority`.
    mutating func setLanguageQuality(_ j: Int) {
        if variants[j].languages.isEmpty {
            if !dontFiddleHeaders { variants[j].languageQuality = defaultLanguageQuality }
            return
        }
        if let acceptLanguages {
            var best: AcceptItem?
            var star: AcceptItem?
            var fiddleQ: Float = 0
            var anyMatchOnStar = false
            for language in variants[j].languages {
                var bestThisTag: AcceptItem?
                var longest = 0
                for item in acceptLanguages {
                    if item.name == "*" {
                        if star == nil { star = item }
                        continue
                    }
                    let length = item.name.utf8.count
                    if language.utf8.starts(with: item.name.utf8) {
                        let rest = language.utf8.dropFirst(length)
                        if rest.isEmpty || rest.first == UInt8(ascii: "-") {
                            if length > longest {
                                longest = length
                                bestThisTag = item
                            }
                        }
                    }
                    if bestThisTag == nil && !dontFiddleHeaders, let dash = item.name.firstIndex(of: "-") {
                        if language.hasPrefix(item.name[..<dash]) { fiddleQ = 0.001 }
                    }
                }
                if best == nil || (bestThisTag != nil && bestThisTag.map { $0.quality > best?.quality ?? 0 } == true) {
                    best = bestThisTag
                }
                if bestThisTag == nil && star != nil { anyMatchOnStar = true }
            }
            if anyMatchOnStar, let star, best == nil || star.quality > best?.quality ?? 0 {
                best = star
                variants[j].definite = false
            }
            variants[j].languageQuality = best?.quality ?? fiddleQ
        } else {
            // No Accept-Language: the variant is not definite.
            variants[j].definite = false
        }

        let q = variants[j].languageQuality
        guard (force.contains(.prefer) && variants[j].languageIndex < 0) || (force.contains(.fallback) && q == 0) else { return }
        var bestIndex = -1
        for language in variants[j].languages {
            let index = Self.languageIndex(languagePriority, language)
            if index >= 0 && (bestIndex == -1 || index < bestIndex) { bestIndex = index }
        }
        guard bestIndex >= 0 else { return }
        if q != 0 {
            if force.contains(.prefer) { variants[j].languageIndex = bestIndex }
        } else if force.contains(.fallback) {
            variants[j].languageIndex = bestIndex
            variants[j].languageQuality = 0.0001
            variants[j].definite = false
        }
    }

    /// Apache's `set_charset_quality`: text without a charset counts as ISO-8859-1, which
    /// is acceptable unless the client names others and not it.
    mutating func setCharsetQuality(_ j: Int) {
        var charset = variants[j].charset
        guard let acceptCharsets else {
            if !charset.isEmpty { variants[j].definite = false }
            return
        }
        if charset.isEmpty {
            let type = variants[j].mimeType
            guard type.hasPrefix("text/") || AcceptHeader.includesTypes.contains(type) else { return }
            if dontFiddleHeaders { return }
            charset = "iso-8859-1"
        }
        var star: AcceptItem?
        for item in acceptCharsets {
            if item.name == charset {
                variants[j].charsetQuality = item.quality
                return
            } else if item.name == "*" {
                star = item
            }
        }
        if let star {
            variants[j].charsetQuality = star.quality
            variants[j].definite = false
            return
        }
        variants[j].charsetQuality = charset == "iso-8859-1" ? 1 : 0
    }

    /// Apache's `set_encoding_quality`: without Accept-Encoding every encoding goes, at a
    /// lower quality; with one, a listed encoding (`x-` ignored), or no encoding unless
    /// `identity;q=0`.
    mutating func setEncodingQuality(_ j: Int) {
        let encoding = variants[j].encoding
        guard let acceptEncodings else {
            variants[j].encodingQuality = Self.isIdentityEncoding(encoding) ? 1 : 0.5
            return
        }
        var name = Self.isIdentityEncoding(encoding) ? "identity" : encoding ?? "identity"
        let notFound: Float = Self.isIdentityEncoding(encoding) ? 0.0001 : 0
        if name.hasPrefix("x-") { name = String(name.dropFirst(2)) }
        var star: AcceptItem?
        for item in acceptEncodings {
            let listed = item.name.hasPrefix("x-") ? String(item.name.dropFirst(2)) : item.name
            if listed == name {
                variants[j].encodingQuality = item.quality
                return
            }
            if listed == "*" { star = item }
        }
        variants[j].encodingQuality = star?.quality ?? notFound
    }

    /// Apache's `level_cmp`: among HTML variants of equal quality, the highest level the
    /// client named, else the lowest level.
    static func levelCompare(_ a: Variant, _ b: Variant) -> Int {
        if a.isPseudoHTML && !b.isPseudoHTML { return 0 }
        if !a.isPseudoHTML && a.mimeType != b.mimeType { return 0 }
        if a.levelMatched > b.levelMatched { return 1 }
        if a.levelMatched < b.levelMatched { return -1 }
        if a.level < b.level { return 1 }
        if a.level > b.level { return -1 }
        return 0
    }

    /// Apache's `is_variant_better`: type quality times source quality, then language,
    /// LanguagePriority order, level, charset, encoding, and the smaller length.
    func isBetter(_ j: Int, than best: Int?, _ bestQ: inout Float) -> Bool {
        let v = variants[j]
        if v.encodingQuality == 0 || v.languageQuality == 0 || v.sourceQuality == 0 || v.charsetQuality == 0 || v.typeQuality == 0 {
            return false
        }
        let q = v.typeQuality * v.sourceQuality
        if q == 0 || q < bestQ { return false }
        guard let best, q <= bestQ else {
            bestQ = q
            return true
        }
        let b = variants[best]
        if v.languageQuality < b.languageQuality { return false }
        if v.languageQuality > b.languageQuality { bestQ = q; return true }
        if b.languageIndex != -1 && (v.languageIndex == -1 || v.languageIndex > b.languageIndex) { return false }
        if v.languageIndex != -1 && (b.languageIndex == -1 || v.languageIndex < b.languageIndex) { bestQ = q; return true }
        switch Self.levelCompare(v, b) {
        case -1: return false
        case 1: bestQ = q; return true
        default: break
        }
        if v.charsetQuality < b.charsetQuality { return false }
        if v.charsetQuality > b.charsetQuality
            || (!v.charset.isEmpty && v.charset != "iso-8859-1" && (b.charset.isEmpty || b.charset == "iso-8859-1")) {
            bestQ = q
            return true
        }
        if v.encodingQuality < b.encodingQuality { return false }
        if v.encodingQuality > b.encodingQuality { bestQ = q; return true }
        if v.bytes >= b.bytes { return false }
        bestQ = q
        return true
    }

    /// RFC 2296's RVSA/1.0 (`is_variant_better_rvsa`), for clients that ask for it.
    func isBetterRVSA(_ j: Int, than best: Int?, _ bestQ: inout Float) -> Bool {
        let v = variants[j]
        if v.encodingQuality == 0 { return false }
        let q = v.typeQuality * v.sourceQuality * v.charsetQuality * v.languageQuality
        if q <= 0 { return false }
        if q > bestQ { bestQ = q; return true }
        if q == bestQ, let best, v.encodingQuality > variants[best].encodingQuality { bestQ = q; return true }
        return false
    }

    /// Apache's `set_neg_headers`: `Vary` for every dimension the variants differ in,
    /// `Alternates` when asked for (and on a list response), `TCN`.
    mutating func setHeaders(choice: Bool) {
        var varyType = false, varyLanguage = false, varyCharset = false, varyEncoding = false
        if let first = variants.first {
            for v in variants.dropFirst() {
                if v.mimeType != first.mimeType { varyType = true }
                if v.charset != first.charset { varyCharset = true }
                if (v.languageList ?? "") != (first.languageList ?? "") { varyLanguage = true }
                if (v.encoding ?? "") != (first.encoding ?? "") { varyEncoding = true }
            }
        }
        if sendAlternates && !variants.isEmpty {
            alternates = variants.map(Self.alternatesEntry).joined(separator: ", ")
        }
        var tokens: [String] = []
        if isTransparent { tokens.append("negotiate") }
        if varyType { tokens.append("accept") }
        if varyLanguage { tokens.append("accept-language") }
        if varyCharset { tokens.append("accept-charset") }
        if varyEncoding { tokens.append("accept-encoding") }
        vary = tokens.isEmpty ? nil : tokens.joined(separator: ",")
        if isTransparent { tcn = choice ? "choice" : "list" }
    }

    /// One `Alternates` entry: `{"name" qs {type t} {charset c} {language l} {encoding e} {length n}}`.
    static func alternatesEntry(_ v: Variant) -> String {
        var s = "{\"\(Negotiation.escapePathSegment(v.fileName))\" \(sourceQualityText(v.sourceQuality))"
        if !v.mimeType.isEmpty { s += " {type \(v.mimeType)}" }
        if !v.charset.isEmpty { s += " {charset \(v.charset)}" }
        if let languages = v.languageList { s += " {language \(languages)}" }
        if let encoding = v.encoding, !encoding.isEmpty { s += " {encoding \(encoding)}" }
        if !v.hasHandler && v.bytes >= 0 { s += " {length \(v.bytes)}" }
        return s + "}"
    }

    /// `%1.3f` cut to five characters with trailing zeros stripped, as Apache writes qs.
    static func sourceQualityText(_ q: Float) -> String {
        let thousandths = Int((max(0, min(q, 99)) * 1000).rounded())  // trap-safe: clamped to 0...99000 first (a NaN q fails both comparisons: min/max give a bound)
        let fraction = String(thousandths % 1000)
        var text = Array("\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)".prefix(5))
        if text.count == 5 && text[4] == "0" {
            text.removeLast()
            if text[3] == "0" {
                text.removeLast()
                if text[2] == "0" { text = [text[0]] }
            }
        }
        return String(text)
    }

    /// Apache's `make_variant_list`: the HTML list of a 406 or 300 page.
    public func variantList() -> String {
        var s = "Available variants:\n<ul>\n"
        for v in variants {
            s += "<li><a href=\"\(Negotiation.escapePathSegment(v.fileName))\">\(ErrorPages.escape(v.fileName))</a> \(v.description)"
            if !v.mimeType.isEmpty { s += ", type \(v.mimeType)" }
            if let languages = v.languageList { s += ", language \(languages)" }
            if !v.charset.isEmpty { s += ", charset \(v.charset)" }
            if let encoding = v.encoding { s += ", encoding \(encoding)" }
            s += "</li>\n"
        }
        return s + "</ul>\n"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
