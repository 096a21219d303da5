/// One `<If>`, `<ElseIf>` or `<Else>` section: its condition and the per-directory
/// records its directives built (Apache's `sec_if` entry with `condition_ifelse`).
public struct IfSection: Sendable {
    public enum Kind: Sendable { case `if`, elseIf, `else` }

    public var kind: Kind
    /// Nil for `<Else>`.
    public var condition: ApExpr?
    public var config: ConfigVector
    public var location: SourceLocation

    /// `<If>` and `<ElseIf>` evaluate a condition (Apache's `AP_CONDITION_IF` bit).
    public var hasCondition: Bool { kind != .else }
    /// `<ElseIf>` and `<Else>` are skipped when the section before them applied.
    public var followsIf: Bool { kind != .if }
}

/// The `<If>` sections of a scope, in configuration order. Merging appends the nested
/// scope's after the enclosing one's, as Apache's core merges `sec_if`, so a request
/// sees every applicable scope's sections in the order of the section walk.
public struct IfSections: ModuleConfig {
    public var sections: [IfSection] = []
    public init() {}
    public func merged(with child: IfSections) -> IfSections {
        child.sections.isEmpty ? self : IfSections(sections: sections + child.sections)
    }
    init(sections: [IfSection]) { self.sections = sections }
}
