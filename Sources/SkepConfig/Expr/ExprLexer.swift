/// A token of Apache's expression scanner (util_expr_scan.l).
enum ExprToken: Equatable {
    case end
    case trueWord, falseWord
    case digit(String), id(String), string(String)
    case regex(String, caseless: Bool)
    case backref(Int)
    case unaryOp(String), binaryOp(String)
    case strBegin, strEnd, varBegin, varEnd
    case intEQ, intNE, intLT, intLE, intGT, intGE
    case strEQ, strNE, strLT, strLE, strGT, strGE
    case reg, nre, inList, concat, or, and, not
    case lparen, rparen, lbrace, rbrace, comma, colon
    /// The scanner gave up: Apache's `PERROR` message.
    case error(String)

    /// The token's name as Bison's verbose errors print it.
    var bisonName: String {
        switch self {
        case .end: return "$end"
        case .trueWord: return "T_TRUE"
        case .falseWord: return "T_FALSE"
        case .digit: return "T_DIGIT"
        case .id: return "T_ID"
        case .string: return "T_STRING"
        case .regex(_, let caseless): return caseless ? "T_REGEX_I" : "T_REGEX"
        case .backref: return "T_REGEX_BACKREF"
        case .unaryOp: return "T_OP_UNARY"
        case .binaryOp: return "T_OP_BINARY"
        case .strBegin: return "T_STR_BEGIN"
        case .strEnd: return "T_STR_END"
        case .varBegin: return "T_VAR_BEGIN"
        case .varEnd: return "T_VAR_END"
        case .intEQ: return "T_OP_EQ"
        case .intNE: return "T_OP_NE"
        case .intLT: return "T_OP_LT"
        case .intLE: return "T_OP_LE"
        case .intGT: return "T_OP_GT"
        case .intGE: return "T_OP_GE"
        case .strEQ: return "T_OP_STR_EQ"
        case .strNE: return "T_OP_STR_NE"
        case .strLT: return "T_OP_STR_LT"
        case .strLE: return "T_OP_STR_LE"
        case .strGT: return "T_OP_STR_GT"
        case .strGE: return "T_OP_STR_GE"
        case .reg: return "T_OP_REG"
        case .nre: return "T_OP_NRE"
        case .inList: return "T_OP_IN"
        case .concat: return "T_OP_CONCAT"
        case .or: return "T_OP_OR"
        case .and: return "T_OP_AND"
        case .not: return "T_OP_NOT"
        case .lparen: return "'('"
        case .rparen: return "')'"
        case .lbrace: return "'{'"
        case .rbrace: return "'}'"
        case .comma: return "','"
        case .colon: return "':'"
        case .error: return "T_ERROR"
        }
    }
}

/// Apache's expression scanner: the whole expression is scanned up front (the scanner's
/// states depend only on what it has read), ending in `.end` or at the first `.error`.
enum ExprLexer {
    /// The scanner's start conditions: a string's delimiter, a `%{...}` name, its argument.
    private enum State { case initial, string(UInt8), variable, variableArgument }

    static func tokens(_ source: String) -> [ExprToken] {
        let s = Array(source.utf8)
        var out: [ExprToken] = []
        var states: [State] = [.initial]
        var buffer: [UInt8] = []
        var i = 0

        func flush() -> ExprToken {
            // A NUL written with `\0` ends the C string Apache builds.
            let text = buffer.firstIndex(of: 0).map { Array(buffer[..<$0]) } ?? buffer
            buffer.removeAll(keepingCapacity: true)
            return .string(String(decoding: text, as: UTF8.self))
        }
        func at(_ k: Int) -> UInt8? { k < s.count ? s[k] : nil }
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        func isAlpha(_ c: UInt8?) -> Bool { c.map { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A } ?? false }
        func isIDChar(_ c: UInt8?) -> Bool { isAlpha(c) || isDigit(c) || c == UInt8(ascii: "_") }

        while true {
            guard let state = states.last else { return out + [.error("Unterminated string or variable")] }
            switch state {
            case .string, .variableArgument:
                let inString: UInt8? = if case .string(let d) = state { d } else { nil }
                guard let c = at(i) else {
                    return out + [.error("Unterminated string or variable")]
                }
                if let delimiter = inString, c == delimiter {
                    if buffer.isEmpty {
                        out.append(.strEnd)
                        states = [.initial]
                        i += 1
                    } else {
                        out.append(flush())
                    }
                    continue
                }
                if c == UInt8(ascii: "\n") { return out + [.error("Unterminated string or variable")] }
                if c == UInt8(ascii: "\\") {
                    guard let next = at(i + 1) else { return out + [.error("Unterminated string or variable")] }
                    if isDigit(next) {
                        var digits = 0
                        while isDigit(at(i + 1 + digits)) { digits += 1 }
                        var octal = 0
                        while octal < 3, let d = at(i + 1 + octal), d >= 0x30, d <= 0x37 { octal += 1 }
                        guard digits <= octal else { return out + [.error("Bad escape sequence")] }
                        var value = 0
                        for k in 0..<octal { value = value * 8 + Int(s[i + 1 + k] - 0x30) }  // trap-safe: at most three octal digits
                        guard value <= 0xFF else { return out + [.error("Escape sequence out of bound")] }
                        buffer.append(UInt8(value))  // trap-safe: value <= 0xFF, checked above
                        i += 1 + octal
                        continue
                    }
                    switch next {
                    case UInt8(ascii: "n"): buffer.append(0x0A)
                    case UInt8(ascii: "r"): buffer.append(0x0D)
                    case UInt8(ascii: "t"): buffer.append(0x09)
                    case UInt8(ascii: "b"): buffer.append(0x08)
                    case UInt8(ascii: "f"): buffer.append(0x0C)
                    default: buffer.append(next)
                    }
                    i += 2
                    continue
                }
                if c == UInt8(ascii: "$"), isDigit(at(i + 1)) {
                    if !buffer.isEmpty { out.append(flush()); continue }
                    out.append(.backref(Int(s[i + 1] - 0x30)))  // trap-safe: a digit
                    i += 2
                    continue
                }
                if c == UInt8(ascii: "%"), at(i + 1) == UInt8(ascii: "{") {
                    if !buffer.isEmpty { out.append(flush()); continue }
                    states.append(.variable)
                    out.append(.varBegin)
                    i += 2
                    continue
                }
                if inString == nil, c == UInt8(ascii: "}") {
                    if !buffer.isEmpty { out.append(flush()); continue }
                    states.removeLast()
                    out.append(.varEnd)
                    i += 1
                    continue
                }
                buffer.append(c)
                i += 1
            case .variable:
                guard let c = at(i) else { return out + [.error("Unterminated string or variable")] }
                if isAlpha(c) {
                    var j = i + 1
                    while isIDChar(at(j)) { j += 1 }
                    out.append(.id(String(decoding: s[i..<j], as: UTF8.self)))
                    i = j
                } else if c == UInt8(ascii: "}") {
                    states.removeLast()
                    out.append(.varEnd)
                    i += 1
                } else if c == UInt8(ascii: ":") {
                    states[states.count - 1] = .variableArgument  // trap-safe: states is not empty here
                    out.append(.colon)
                    i += 1
                } else {
                    return out + [.error("Invalid character in variable name '\(String(decoding: [c], as: UTF8.self))'")]
                }
            case .initial:
                guard let c = at(i) else { return out + [.end] }
                switch c {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"):
                    i += 1
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    states = [.string(c)]
                    out.append(.strBegin)
                    i += 1
                case UInt8(ascii: "%") where at(i + 1) == UInt8(ascii: "{"):
                    states.append(.variable)
                    out.append(.varBegin)
                    i += 2
                case UInt8(ascii: "$") where isDigit(at(i + 1)):
                    out.append(.backref(Int(s[i + 1] - 0x30)))  // trap-safe: a digit
                    i += 2
                case UInt8(ascii: "/"):
                    guard let token = regex(s, &i, delimiterAt: i) else { return out + [.end] }
                    out.append(token)
                case UInt8(ascii: "m") where at(i + 1).map(regexDelimiters.contains) == true:
                    guard let token = regex(s, &i, delimiterAt: i + 1) else { return out + [.end] }
                    out.append(token)
                case UInt8(ascii: "="):
                    if at(i + 1) == UInt8(ascii: "~") { out.append(.reg); i += 2 }
                    else if at(i + 1) == UInt8(ascii: "=") { out.append(.strEQ); i += 2 }
                    else { out.append(.strEQ); i += 1 }
                case UInt8(ascii: "!"):
                    if at(i + 1) == UInt8(ascii: "=") { out.append(.strNE); i += 2 }
                    else if at(i + 1) == UInt8(ascii: "~") { out.append(.nre); i += 2 }
                    else { out.append(.not); i += 1 }
                case UInt8(ascii: "<"):
                    if at(i + 1) == UInt8(ascii: "=") { out.append(.strLE); i += 2 } else { out.append(.strLT); i += 1 }
                case UInt8(ascii: ">"):
                    if at(i + 1) == UInt8(ascii: "=") { out.append(.strGE); i += 2 } else { out.append(.strGT); i += 1 }
                case UInt8(ascii: "&") where at(i + 1) == UInt8(ascii: "&"):
                    out.append(.and); i += 2
                case UInt8(ascii: "|") where at(i + 1) == UInt8(ascii: "|"):
                    out.append(.or); i += 2
                case UInt8(ascii: "."):
                    out.append(.concat); i += 1
                case UInt8(ascii: "("): out.append(.lparen); i += 1
                case UInt8(ascii: ")"): out.append(.rparen); i += 1
                case UInt8(ascii: "{"): out.append(.lbrace); i += 1
                case UInt8(ascii: "}"): out.append(.rbrace); i += 1
                case UInt8(ascii: ","): out.append(.comma); i += 1
                case UInt8(ascii: ":"): out.append(.colon); i += 1
                case UInt8(ascii: "-") where isDigit(at(i + 1)):
                    var j = i + 1
                    while isDigit(at(j)) { j += 1 }
                    out.append(.digit(String(decoding: s[i..<j], as: UTF8.self)))
                    i = j
                case UInt8(ascii: "-") where isAlpha(at(i + 1)) || at(i + 1) == UInt8(ascii: "_"):
                    var j = i + 2
                    while isIDChar(at(j)) { j += 1 }
                    let name = String(decoding: s[(i + 1)..<j], as: UTF8.self)
                    i = j
                    switch name {
                    case "in": out.append(.inList)
                    case "eq": out.append(.intEQ)
                    case "ne": out.append(.intNE)
                    case "lt": out.append(.intLT)
                    case "le": out.append(.intLE)
                    case "gt": out.append(.intGT)
                    case "ge": out.append(.intGE)
                    default: out.append(name.utf8.count == 1 ? .unaryOp(name) : .binaryOp(name))
                    }
                case _ where isDigit(c):
                    var j = i
                    while isDigit(at(j)) { j += 1 }
                    out.append(.digit(String(decoding: s[i..<j], as: UTF8.self)))
                    i = j
                case _ where isAlpha(c):
                    var j = i
                    while isIDChar(at(j)) { j += 1 }
                    let word = String(decoding: s[i..<j], as: UTF8.self)
                    i = j
                    out.append(keywords[word] ?? .id(word))
                default:
                    return out + [.error("Parse error near '\(String(decoding: [c], as: UTF8.self))'")]
                }
            }
        }
    }

    /// The characters that may follow `m` to start a regex (`m#...#`).
    static let regexDelimiters: Set<UInt8> = Set("/#$%^,;:_?|-!.'\"".utf8)

    static let keywords: [String: ExprToken] = [
        "true": .trueWord, "false": .falseWord, "and": .and, "or": .or, "not": .not,
        "lt": .intLT, "le": .intLE, "gt": .intGT, "ge": .intGE, "ne": .intNE, "eq": .intEQ, "in": .inList,
    ]

    /// `/re/` or `m#re#`, then an optional `i`; nil when the input ends inside the regex
    /// (Apache's scanner then simply ends).
    private static func regex(_ s: [UInt8], _ i: inout Int, delimiterAt d: Int) -> ExprToken? {
        let delimiter = s[d]  // trap-safe: the caller saw a byte at d
        var j = d + 1
        while j < s.count, s[j] != delimiter { j += 1 }
        guard j < s.count else { return nil }
        let pattern = String(decoding: s[(d + 1)..<j], as: UTF8.self)
        j += 1
        let caseless = j < s.count && s[j] == UInt8(ascii: "i")
        if caseless { j += 1 }
        i = j
        return .regex(pattern, caseless: caseless)
    }
}
