/// The methods a directive inside `<Limit>` or `<LimitExcept>` applies to, Apache's
/// `cmd->limited` method mask: a set of method names, or every method but a set. Names are
/// case-sensitive, as Apache's method registry; HEAD is GET (Apache gives both one number).
public struct MethodLimit: Sendable, Hashable {
    /// The methods named (HEAD recorded as GET).
    var methods: Set<String>
    /// True for "every method but `methods`".
    var inverted: Bool

    /// Outside any `<Limit>`: every method.
    public static let all = MethodLimit(methods: [], inverted: true)
    /// No method: what a requirement tree starts from before its lines are added.
    public static let none = MethodLimit(methods: [], inverted: false)

    init(methods: Set<String>, inverted: Bool) {
        self.methods = Set(methods.map(Self.number))
        self.inverted = inverted
    }

    /// Whether a request with `method` is restricted by the directive.
    public func contains(_ method: String) -> Bool { methods.contains(Self.number(method)) != inverted }

    public var isEmpty: Bool { !inverted && methods.isEmpty }

    /// Methods in both (nested `<Limit>` sections: `cmd->limited &= limited`).
    public func intersection(_ other: MethodLimit) -> MethodLimit {
        switch (inverted, other.inverted) {
        case (false, false): return MethodLimit(methods: methods.intersection(other.methods), inverted: false)
        case (false, true): return MethodLimit(methods: methods.subtracting(other.methods), inverted: false)
        case (true, false): return MethodLimit(methods: other.methods.subtracting(methods), inverted: false)
        case (true, true): return MethodLimit(methods: methods.union(other.methods), inverted: true)
        }
    }

    /// Methods in either (a requirement section's mask, `section->limited |= ...`).
    public func union(_ other: MethodLimit) -> MethodLimit {
        switch (inverted, other.inverted) {
        case (false, false): return MethodLimit(methods: methods.union(other.methods), inverted: false)
        case (false, true): return MethodLimit(methods: other.methods.subtracting(methods), inverted: true)
        case (true, false): return MethodLimit(methods: methods.subtracting(other.methods), inverted: true)
        case (true, true): return MethodLimit(methods: methods.intersection(other.methods), inverted: true)
        }
    }

    /// The limit a `<Limit>` or `<LimitExcept>` section sets inside `enclosing`, refused
    /// with Apache's messages as `ap_limit_section` refuses it.
    public static func section(_ d: Directive, within enclosing: MethodLimit) throws(ConfigError) -> MethodLimit {
        let except = d.key == "limitexcept"
        guard !d.arguments.isEmpty else { throw d.error("<\(d.name)> directive requires additional arguments") }
        if !except, d.arguments.contains("TRACE") { throw d.error("TRACE cannot be controlled by <Limit>, see TraceEnable") }
        let limited = enclosing.intersection(MethodLimit(methods: Set(d.arguments), inverted: except))
        if limited.isEmpty { throw d.error("<\(d.name)> directive excludes all methods") }
        if limited == enclosing { throw d.error("<\(d.name)> directive specifies methods already excluded") }
        return limited
    }

    static func number(_ method: String) -> String { method == "HEAD" ? "GET" : method }
}
