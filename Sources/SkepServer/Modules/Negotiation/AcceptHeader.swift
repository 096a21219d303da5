/// One element of an `Accept`, `Accept-Language`, `Accept-Charset` or `Accept-Encoding`
/// field, or of a type map's `Content-Type` (Apache's `accept_rec`): a lower-cased name
/// with its `q` (or `qs`), `level` and `charset` parameters.
public struct AcceptItem: Sendable, Hashable {
    public var name: String
    public var quality: Float = 1
    public var level: Float = 0
    public var charset: String = ""

    public init(name: String, quality: Float = 1, level: Float = 0, charset: String = "") {
        self.name = name
        self.quality = quality
        self.level = level
        self.charset = charset
    }
}

/// Apache's parsing of negotiation header lines (`do_header_line`, `get_entry`, `atoq`,
/// `ap_get_token`), kept byte for byte: the old space-separated `Accept` form, quoted
/// parameters, and a malformed q-value read as 1, so that a client gets the variant
/// Apache would give it.
public enum AcceptHeader {
    /// Apache's `include` magic types, which `text/html` also matches.
    static let includesTypes: Set<String> = ["text/x-server-parsed-html", "text/x-server-parsed-html3"]

    /// The elements of a field value, in order; empty elements (`en,,fr`) are kept with
    /// an empty name, as Apache keeps them.
    public static func parseList(_ line: String) -> [AcceptItem] {
        let bytes = Array(line.utf8)
        var items: [AcceptItem] = []
        var at = 0
        while at < bytes.count {
            let start = at
            items.append(entry(bytes, &at))
            if at == start { at += 1 }  // never loop on a byte no rule consumes
        }
        return items
    }

    /// One media type with its parameters (`text/html;level=3;q=0.5`), as a type map's
    /// `Content-Type` or mod_mime's type is read.
    public static func parseEntry(_ text: String) -> AcceptItem {
        var at = 0
        return entry(Array(text.utf8), &at)
    }

    /// Apache's `get_entry`: reads one element from `at`, leaving `at` after its comma.
    static func entry(_ b: [UInt8], _ at: inout Int) -> AcceptItem {
        var item = AcceptItem(name: lowered(token(b, &at, acceptWhite: false)))
        // Apache's kludge: HTML is level 2 unless the client says otherwise.
        if item.name == "text/html" || item.name == "text/x-server-parsed-html" {
            item.level = 2
        } else if item.name == "text/x-server-parsed-html3" {
            item.level = 3
        }
        while at < b.count && b[at] == UInt8(ascii: ";") {
            at += 1
            let parameter = token(b, &at, acceptWhite: true)
            // The name runs to a blank or '='; without a '=' the parameter is ignored.
            guard let nameEnd = parameter.firstIndex(where: { isSpace($0) || $0 == UInt8(ascii: "=") }) else { continue }
            let name = lowered(parameter[..<nameEnd])
            var v = parameter.index(after: nameEnd)
            while v < parameter.endIndex && (isSpace(parameter[v]) || parameter[v] == UInt8(ascii: "=")) { v += 1 }
            var end = v
            if v < parameter.endIndex && parameter[v] == UInt8(ascii: "\"") {
                v += 1
                end = v
                while end < parameter.endIndex && ![UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\"")].contains(parameter[end]) { end += 1 }
            } else {
                while end < parameter.endIndex && !isSpace(parameter[end]) { end += 1 }
            }
            let value = lowered(parameter[v..<end])
            if name == "q" || name == "qs" {
                item.quality = quality(value)
            } else if name == "level" {
                item.level = Float(atoi(value))
            } else if name == "charset" {
                item.charset = value
            }
        }
        if at < b.count && b[at] == UInt8(ascii: ",") { at += 1 }
        return item
    }

    /// Apache's `ap_get_token`: skips leading blanks; the token runs to a `;` or `,` (and
    /// a blank unless `acceptWhite`), quoted strings kept whole; trailing blanks skipped.
    static func token(_ b: [UInt8], _ at: inout Int, acceptWhite: Bool) -> ArraySlice<UInt8> {
        while at < b.count && isSpace(b[at]) { at += 1 }
        let start = at
        while at < b.count && (acceptWhite || !isSpace(b[at])) && b[at] != UInt8(ascii: ";") && b[at] != UInt8(ascii: ",") {
            let c = b[at]
            at += 1
            if c == UInt8(ascii: "\"") {
                while at < b.count {
                    let q = b[at]
                    at += 1
                    if q == UInt8(ascii: "\"") { break }
                }
            }
        }
        let token = b[start..<at]
        while at < b.count && isSpace(b[at]) { at += 1 }
        return token
    }

    /// Apache's `atoq`: `0`, `0.ddd` or `.ddd` (three digits at most); anything else is 1.
    public static func quality(_ text: String) -> Float {
        var s = Substring(text).drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard !s.isEmpty else { return 1 }
        if s.first != "." {
            guard s.first == "0" else { return 1 }
            s = s.dropFirst()
        }
        guard s.first == "." else { return 0 }
        s = s.dropFirst()
        var thousandths = 0
        let digits = Array(s.utf8.prefix(3))
        func digit(_ k: Int) -> Int? {
            guard k < digits.count, digits[k] >= 0x30, digits[k] <= 0x39 else { return nil }
            return Int(digits[k] - 0x30)  // trap-safe: a digit byte, 0...9
        }
        if let d0 = digit(0) {
            thousandths += d0 * 100
            if let d1 = digit(1) {
                thousandths += d1 * 10
                // Apache's test is `> '0'` here: a third 0 adds nothing either way.
                if let d2 = digit(2) { thousandths += d2 }
            }
        }
        return Float(thousandths) / 1000
    }

    /// C's `atoi` on a short value: leading blanks, a sign, then digits, saturating.
    static func atoi(_ text: String) -> Int {
        var s = Substring(text).drop(while: { $0 == " " || $0 == "\t" })
        var negative = false
        if s.first == "-" || s.first == "+" { negative = s.first == "-"; s = s.dropFirst() }
        var value = 0
        for c in s.utf8 {
            guard c >= 0x30 && c <= 0x39 else { break }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))  // trap-safe: a digit byte, 0...9
            if o1 || o2 { return negative ? Int(Int32.min) : Int(Int32.max) }  // trap-safe: Int32 to Int widens
            value = a
        }
        return negative ? -value : value
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    static func lowered<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
