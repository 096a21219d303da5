import SkepConfig
import SkepSystem

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
        /// `%{VAR}s`: a mod_ssl variable (`SSL_PROTOCOL`...; `HTTPS` is `off` on a plain
        /// connection), `(null)` without mod_ssl or for a name it does not know, as Apache's.
        case ssl(String)
        /// `%l`: `l=` and the 1, 5 and 15 minute load averages.
        case loadAverage
        /// `%i`: `i=` and the server's idle workers, from the scoreboard.
        case idleWorkers
        /// `%b`: `b=` and its busy workers.
        case busyWorkers
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
            case UInt8(ascii: "i"): tags.append(.idleWorkers)
            case UInt8(ascii: "b"): tags.append(.busyWorkers)
            default:
                throw HeaderParseError("Unrecognized header format %\(letter.map { String(decoding: [$0], as: UTF8.self) } ?? "")")
            }
        }
        flush()
        return HeaderFormat(tags: tags)
    }

    /// The value for `r`.
    func produce(_ r: Request, _ context: ServerContext) -> String {
        var out = ""
        for tag in tags {
            switch tag {
            case .literal(let text): out += text
            case .duration:
                let (elapsed, overflow) = SystemClock.now().microseconds.subtractingReportingOverflow(r.received.microseconds)
                out += "D=\(overflow ? 0 : elapsed)"
            case .requestTime: out += "t=\(r.received.microseconds)"
            case .environment(let name): out += r.environment[name].map(Self.unwrapped) ?? "(null)"
            // Without mod_ssl loaded there is no lookup at all, as Apache's optional function.
            case .ssl(let name): out += (context.ssl == nil ? nil : SSLModule.variable(name, r.tls)).map(Self.unwrapped) ?? "(null)"
            case .loadAverage:
                let (one, five, fifteen) = StatusReport.systemLoadAverage()
                out += "l=" + [one, five, fifteen].map { StatusReport.fixed($0, 2) }.joined(separator: "/")
            case .idleWorkers, .busyWorkers:
                // Apache's `ap_get_sload`; without a scoreboard (inetd-style runs) 0.
                let snapshot = context.scoreboard?.snapshot(generation: context.generation, includeText: false)
                out += tag == .idleWorkers ? "i=\(snapshot?.idleWorkers ?? 0)" : "b=\(snapshot?.busyWorkers ?? 0)"
            }
        }
        return out
    }

    /// Apache's `unwrap_header`: CR and LF become spaces, so a variable cannot split the field.
    static func unwrapped(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 10 || $0 == 13 }) else { return value }
        return String(decoding: value.utf8.map { $0 == 10 || $0 == 13 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
