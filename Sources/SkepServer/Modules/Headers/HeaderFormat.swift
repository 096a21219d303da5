import SkepConfig
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// A `Header` value: text and format specifiers, parsed once as Apache's
/// `parse_format_string` does and produced per request as its `process_tags` does.
public struct HeaderFormat: Sendable {
    /// One piece of the value.
    public enum Tag: Sendable, Equatable {
        /// Text, its `\n`, `\r`, `\t` and `\\` escapes already turned into their bytes.
        case literal(String)
        /// `%D`: `D=` and the microseconds since the request was received.
        case duration
        /// `%t`: `t=` and the time the request was received, in microseconds since 1970.
        case requestTime
        /// `%{VAR}e`: a variable of the request's environment, `(null)` when unset.
        case environment(String)
        /// `%{VAR}s`: an SSL variable; Skep serves no TLS, so always `(null)`, as Apache's
        /// answer on a plain-HTTP connection.
        case ssl(String)
        /// `%l`: `l=` and the 1, 5 and 15 minute load averages.
        case loadAverage
    }

    public var tags: [Tag]

    /// Parses `text`; the error is Apache's ("Unrecognized header format %x").
    public static func parse(_ text: String) throws(HeaderParseError) -> HeaderFormat {
        if text.hasPrefix("expr=") {
            throw HeaderParseError("Can't parse value expression : Skep's ap_expr has no string expressions (a value of expr=...); write the value with %{VAR}e instead")
        }
        var tags: [Tag] = []
        var bytes = Array(text.utf8)[...]
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { tags.append(.literal(String(decoding: literal, as: UTF8.self))) }
            literal = []
        }
        while let c = bytes.popFirst() {
            if c == UInt8(ascii: "\\") {
                // Apache's parse_misc_string: four escapes, anything else kept with its backslash.
                switch bytes.first {
                case UInt8(ascii: "\\"): literal.append(c); bytes.removeFirst()
                case UInt8(ascii: "r"): literal.append(13); bytes.removeFirst()
                case UInt8(ascii: "n"): literal.append(10); bytes.removeFirst()
                case UInt8(ascii: "t"): literal.append(9); bytes.removeFirst()
                default: literal.append(c)
                }
                continue
            }
            guard c == UInt8(ascii: "%") else { literal.append(c); continue }
            // "%%", and a '%' ending the value, are a '%'.
            guard let next = bytes.first, next != UInt8(ascii: "%") else {
                literal.append(c)
                if !bytes.isEmpty { bytes.removeFirst() }
                continue
            }
            var argument = ""
            if next == UInt8(ascii: "{") {
                bytes.removeFirst()
                // ap_getword up to '}', the whole rest when there is none.
                let end = bytes.firstIndex(of: UInt8(ascii: "}")) ?? bytes.endIndex
                argument = String(decoding: bytes[..<end], as: UTF8.self)
                bytes = end < bytes.endIndex ? bytes[bytes.index(after: end)...] : bytes[end...]
            }
            let letter = bytes.popFirst()
            flush()
            switch letter {
            case UInt8(ascii: "D"): tags.append(.duration)
            case UInt8(ascii: "t"): tags.append(.requestTime)
            case UInt8(ascii: "e"): tags.append(.environment(argument))
            case UInt8(ascii: "s"): tags.append(.ssl(argument))
            case UInt8(ascii: "l"): tags.append(.loadAverage)
            case UInt8(ascii: "i"), UInt8(ascii: "b"):
                throw HeaderParseError("Header format %\(Character(Unicode.Scalar(letter ?? 0))) (the scoreboard's idle or busy workers) is not supported by Skep")
            default:
                throw HeaderParseError("Unrecognized header format %\(letter.map { String(decoding: [$0], as: UTF8.self) } ?? "")")
            }
        }
        flush()
        return HeaderFormat(tags: tags)
    }

    /// The value for `r`.
    func produce(_ r: Request) -> String {
        var out = ""
        for tag in tags {
            switch tag {
            case .literal(let text): out += text
            case .duration:
                let (elapsed, overflow) = SystemClock.now().microseconds.subtractingReportingOverflow(r.received.microseconds)
                out += "D=\(overflow ? 0 : elapsed)"
            case .requestTime: out += "t=\(r.received.microseconds)"
            case .environment(let name): out += r.environment[name].map(Self.unwrapped) ?? "(null)"
            case .ssl: out += "(null)"
            case .loadAverage:
                var averages = [Double](repeating: 0, count: 3)
                _ = getloadavg(&averages, 3)
                out += "l=" + averages.map { Self.twoDecimals($0) }.joined(separator: "/")
            }
        }
        return out
    }

    /// Apache's `unwrap_header`: CR and LF become spaces, so a variable cannot split the field.
    static func unwrapped(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 10 || $0 == 13 }) else { return value }
        return String(decoding: value.utf8.map { $0 == 10 || $0 == 13 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// `%.2f` for a load average (never negative, far below Int's range).
    static func twoDecimals(_ value: Double) -> String {
        guard value.isFinite, value >= 0, value < 1e12 else { return "0.00" }
        let hundredths = Int((value * 100).rounded())  // trap-safe: bounded above
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
