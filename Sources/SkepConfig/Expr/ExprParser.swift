/// A recursive-descent parser for Apache's boolean expression grammar
/// (util_expr_parse.y): `||` binds loosest, then `&&`, then `!`, all right-associative;
/// words join with `.`. Names are looked up as they are reduced, so the first unknown
/// one is the error, as in Apache.
struct ExprParser {
    let tokens: [ExprToken]
    var position = 0

    init(tokens: [ExprToken]) { self.tokens = tokens }

    var current: ExprToken { position < tokens.count ? tokens[position] : .end }
    mutating func advance() { position += 1 }

    /// Bison's message for a token it cannot use; a scanner error is reported as itself.
    func unexpected(expecting: [String] = []) -> ExprParseError {
        if case .error(let message) = current { return ExprParseError(message) }
        var message = "syntax error, unexpected \(current.bisonName)"
        if !expecting.isEmpty { message += ", expecting " + expecting.joined(separator: " or ") }
        return ExprParseError(message)
    }

    mutating func expect(_ token: ExprToken, _ name: String) throws(ExprParseError) {
        guard current == token else { throw unexpected(expecting: [name]) }
        advance()
    }

    mutating func parseRoot() throws(ExprParseError) -> ExprCondition {
        let condition = try parseOr()
        guard current == .end else { throw unexpected(expecting: ["$end"]) }
        return condition
    }

    mutating func parseOr() throws(ExprParseError) -> ExprCondition {
        let left = try parseAnd()
        guard current == .or else { return left }
        advance()
        return .or(left, try parseOr())
    }

    mutating func parseAnd() throws(ExprParseError) -> ExprCondition {
        let left = try parseNot()
        guard current == .and else { return left }
        advance()
        return .and(left, try parseAnd())
    }

    mutating func parseNot() throws(ExprParseError) -> ExprCondition {
        switch current {
        case .not:
            advance()
            return .not(try parseNot())
        case .trueWord:
            advance()
            return .constant(true)
        case .falseWord:
            advance()
            return .constant(false)
        case .lparen:
            advance()
            let inner = try parseOr()
            try expect(.rparen, "')'")
            return inner
        case .unaryOp(let name):
            advance()
            let word = try parseWord()
            return .unary(try ExprUnaryOperator.named(name, argument: word), word)
        default:
            return try parseComparison()
        }
    }

    mutating func parseComparison() throws(ExprParseError) -> ExprCondition {
        let left = try parseWord()
        let op = current
        let comparison: ExprComparison
        switch op {
        case .intEQ: comparison = .intEQ
        case .intNE: comparison = .intNE
        case .intLT: comparison = .intLT
        case .intLE: comparison = .intLE
        case .intGT: comparison = .intGT
        case .intGE: comparison = .intGE
        case .strEQ: comparison = .strEQ
        case .strNE: comparison = .strNE
        case .strLT: comparison = .strLT
        case .strLE: comparison = .strLE
        case .strGT: comparison = .strGT
        case .strGE: comparison = .strGE
        case .binaryOp(let name):
            advance()
            let right = try parseWord()
            return .binary(try ExprBinaryOperator.named(name, right: right), left, right)
        case .inList:
            advance()
            return .inList(left, try parseWordList())
        case .reg, .nre:
            advance()
            guard case .regex(let pattern, let caseless) = current else { throw unexpected() }
            advance()
            let regex: PCRERegex
            do {
                regex = try PCRERegex(pattern, caseless: caseless)
            } catch {
                throw ExprParseError("Failed to compile regular expression")
            }
            return .match(left, regex, negated: op == .nre)
        default:
            throw unexpected()
        }
        advance()
        return .compare(left, comparison, try parseWord())
    }

    mutating func parseWordList() throws(ExprParseError) -> [ExprWord] {
        if case .id(let name) = current {
            // `T_ID '(' word ')'` here is a list function; Apache's core has none.
            advance()
            try expect(.lparen, "'('")
            _ = try parseWord()
            try expect(.rparen, "')'")
            throw ExprParseError("List-returning function '\(name)' does not exist")
        }
        try expect(.lbrace, "'{'")
        var words = [try parseWord()]
        while current == .comma {
            advance()
            words.append(try parseWord())
        }
        try expect(.rbrace, "'}'")
        return words
    }

    mutating func parseWord() throws(ExprParseError) -> ExprWord {
        var parts = [try parsePrimary()]
        while current == .concat {
            advance()
            parts.append(try parsePrimary())
        }
        return parts.count == 1 ? parts[0] : .concat(parts)
    }

    mutating func parsePrimary() throws(ExprParseError) -> ExprWord {
        switch current {
        case .digit(let text):
            advance()
            return .literal(text)
        case .backref(let n):
            advance()
            return .backreference(n)
        case .varBegin:
            return try parseVariable()
        case .id(let name):
            advance()
            try expect(.lparen, "'('")
            let argument = try parseWord()
            try expect(.rparen, "')'")
            return .function(try ExprFunction.named(name), argument)
        case .strBegin:
            advance()
            if current == .strEnd {
                advance()
                return .literal("")
            }
            let string = try parseString(until: .strEnd)
            try expect(.strEnd, "T_STR_END")
            return string
        default:
            throw unexpected()
        }
    }

    /// `string`: literal parts, variables and backreferences, up to `terminator`.
    mutating func parseString(until terminator: ExprToken) throws(ExprParseError) -> ExprWord {
        var parts: [ExprWord] = []
        while current != terminator {
            switch current {
            case .string(let text):
                advance()
                parts.append(.literal(text))
            case .backref(let n):
                advance()
                parts.append(.backreference(n))
            case .varBegin:
                parts.append(try parseVariable())
            default:
                throw unexpected()
            }
        }
        if parts.isEmpty { throw unexpected() }
        return parts.count == 1 ? parts[0] : .concat(parts)
    }

    /// `%{NAME}` or `%{FUNC:argument}`.
    mutating func parseVariable() throws(ExprParseError) -> ExprWord {
        advance()
        guard case .id(let name) = current else { throw unexpected(expecting: ["T_ID"]) }
        advance()
        switch current {
        case .varEnd:
            advance()
            return .variable(try ExprVariable.named(name))
        case .colon:
            advance()
            let argument = try parseString(until: .varEnd)
            advance()
            return .function(try ExprFunction.named(name), argument)
        default:
            throw unexpected(expecting: ["T_VAR_END", "':'"])
        }
    }
}
