import SkepConfig

/// What an authorization provider or section decides, Apache's `authz_status`.
public enum AuthzResult: Sendable, Equatable {
    case granted
    case denied
    /// Denied, but a user (after authentication) may change the answer.
    case deniedNoUser
    /// No opinion (a negated requirement that did not match).
    case neutral
    case generalError
}

/// A tree of `Require` lines, mod_authz_core's `authz_section_conf`: the implicit
/// `<RequireAny>` of a section's `Require` lines, `<RequireAll>`, `<RequireAny>`,
/// `<RequireNone>` containers, and the sections `AuthMerging And|Or` joins.
public struct AuthzSection: Sendable {
    /// How a section combines its children.
    public enum Logic: Sendable, Equatable {
        case and
        case or
    }

    public indirect enum Node: Sendable {
        case requirement(Requirement)
        case section(AuthzSection)
    }

    public var logic: Logic
    /// `<RequireNone>` (and Apache's `<RequireNotAll>`): the result is inverted.
    public var negated: Bool
    /// Made by `AuthMerging` from an enclosing and a nested section (for messages).
    public var isMerged: Bool
    public var children: [Node]
    /// The methods any of its lines restricts (`section->limited`, the union of the
    /// children's): for another method the section has no say.
    public var limited: MethodLimit

    public init(logic: Logic, negated: Bool = false, isMerged: Bool = false, children: [Node] = [], limited: MethodLimit = .none) {
        self.logic = logic
        self.negated = negated
        self.isMerged = isMerged
        self.children = children
        self.limited = limited
    }

    /// The section `Require` lines outside any container go into (`create_default_section`).
    static var implicitAny: AuthzSection { AuthzSection(logic: .or) }

    /// Apache's `format_authz_command` for a container: `<RequireAll>`, `<RequireNone>`,
    /// or `AuthMerging And` for a merged one.
    var commandName: String {
        let kind = logic == .and ? (negated ? "NotAll" : "All") : (negated ? "None" : "Any")
        return isMerged ? "AuthMerging \(kind)" : "<Require\(kind)>"
    }

    /// Adds a `Require` line as `add_authz_provider` does: a negated one has no effect
    /// in an OR section, and Apache refuses it.
    mutating func add(_ requirement: Requirement, _ d: Directive) throws(ConfigError) {
        if requirement.negated && logic == .or {
            throw d.error("negative Require directive has no effect in \(commandName) directive")
        }
        children.append(.requirement(requirement))
        limited = limited.union(requirement.limited)
    }

    /// Adds a container as `add_authz_section` does: refused when empty or when a negated
    /// one sits in an OR section; a plain container of this section's own logic is
    /// spliced in (the logic is associative).
    mutating func add(_ section: AuthzSection, _ d: Directive) throws(ConfigError) {
        guard !section.children.isEmpty else {
            throw d.error("\(section.commandName) directive contains no authorization directives")
        }
        if section.negated && logic == .or {
            throw d.error("\(section.commandName) directive has no effect in \(commandName) directive")
        }
        if !section.negated && section.logic == logic {
            children += section.children
        } else {
            children.append(.section(section))
        }
        limited = limited.union(section.limited)
    }

    /// Parses a container directive (`<RequireAll>`, `<RequireAny>`, `<RequireNone>`) and
    /// what it holds.
    static func parse(_ d: Directive, activeModules: Set<String>, limited: MethodLimit) throws(ConfigError) -> AuthzSection {
        guard d.arguments.isEmpty else { throw d.error("<\(d.name)> directive doesn't take additional arguments") }
        var section: AuthzSection
        switch d.key {
        case "requireall": section = AuthzSection(logic: .and)
        case "requireany": section = AuthzSection(logic: .or)
        default: section = AuthzSection(logic: .or, negated: true)
        }
        for child in d.children ?? [] {
            switch child.key {
            case "require":
                var requirement = try Requirement.parseLoaded(child, activeModules: activeModules)
                requirement.limited = limited
                try section.add(requirement, child)
            case "requireall", "requireany", "requirenone": try section.add(try parse(child, activeModules: activeModules, limited: limited), child)
            default:
                throw child.error("\(child.name) is not allowed in <\(d.name)>: Skep takes only Require lines and <Require...> containers there")
            }
        }
        return section
    }

    /// Apache's `apply_authz_sections`; `parent` is the enclosing section's logic (the
    /// top-level section counts as inside an AND). A section or line limited to other
    /// methods grants inside an AND and has no say inside an OR.
    func evaluate(_ r: Request, _ server: ServerContext, parent: Logic = .and) -> AuthzResult {
        guard limited.contains(r.method) else { return parent == .and ? .granted : .neutral }
        var result = AuthzResult.neutral
        for child in children {
            let childResult: AuthzResult
            switch child {
            case .requirement(let requirement) where !requirement.limited.contains(r.method):
                childResult = logic == .and ? .granted : .neutral
            case .requirement(let requirement):
                let result = requirement.authorize(r, server)
                childResult = requirement.negated ? Self.negate(result) : result
            case .section(let section): childResult = section.evaluate(r, server, parent: logic)
            }
            if childResult == .generalError { return .generalError }
            if childResult == .neutral { continue }
            // DENIED_NO_USER is kept when a user could still change the answer.
            if logic == .and {
                if childResult == .denied {
                    result = childResult
                    break
                }
                if (childResult == .deniedNoUser && result != .denied) || result == .neutral { result = childResult }
            } else {
                if childResult == .granted {
                    result = childResult
                    break
                }
                if (childResult == .deniedNoUser && result == .denied) || result == .neutral { result = childResult }
            }
        }
        return negated ? Self.negate(result) : result
    }

    /// A negated directive denies what it matched, and cannot grant what it did not:
    /// a denial becomes neutral.
    static func negate(_ result: AuthzResult) -> AuthzResult {
        switch result {
        case .granted: return .denied
        case .denied, .deniedNoUser: return .neutral
        case .neutral, .generalError: return result
        }
    }
}

/// `AuthMerging`: how a section's authorization joins the enclosing section's.
public enum AuthMerging: String, Sendable, CaseIterable {
    case off = "Off"
    case and = "And"
    case or = "Or"
}

extension Requirement {
    /// `Requirement.parse`, then Apache's provider lookup: `user`, `valid-user` and
    /// `group` are providers of modules that must be loaded, else the name is unknown.
    static func parseLoaded(_ d: Directive, activeModules: Set<String>) throws(ConfigError) -> Requirement {
        let requirement = try parse(d)
        let module: String?
        switch requirement.provider {
        case .user, .validUser: module = AuthzUserModule.descriptor.name
        case .group: module = AuthzGroupfileModule.descriptor.name
        default: module = nil
        }
        if let module, !activeModules.isEmpty, !activeModules.contains(module) {
            let name = d.arguments.first { $0.lowercased() != "not" } ?? ""
            throw d.error("Unknown Authz provider: \(name)")
        }
        return requirement
    }
}
