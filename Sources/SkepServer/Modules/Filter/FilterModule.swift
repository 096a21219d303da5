import SkepConfig
import SkepHTTP

/// Apache's mod_filter: smart filters (`FilterDeclare`) that dispatch to a provider
/// filter (`FilterProvider`, `AddOutputFilterByType`) chosen per response by its
/// condition, put on requests by `FilterChain`. Its records are per directory, merged
/// as Apache's `filter_merge`; the chain's `!` and `=` resets survive the merge as
/// markers, as Apache's NULL links do.
public struct FilterModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "filter_module", sourceName: "mod_filter.c", directives: [
        DirectiveSpec("FilterDeclare", .take12, .anywhere, help: "filter-name [filter-type]") { d, scope throws(ConfigError) in
            let stage: OutputFilterStage
            switch d.arguments.count > 1 ? d.arguments[1].uppercased() : "RESOURCE" {
            case "CONTENT_SET": stage = .contentSet
            case "PROTOCOL", "CONNECTION", "NETWORK":
                throw d.error("FilterDeclare \(d.arguments[0]) \(d.arguments[1]): Skep runs smart filters as RESOURCE or CONTENT_SET filters only")
            default: stage = .resource
            }
            scope.directory[FilterDirConfig.self].declare(d.arguments[0], stage: stage)
        },
        DirectiveSpec("FilterProvider", .take3, .anywhere, help: "filter-name provider-name match-expression") { d, scope throws(ConfigError) in
            let condition: FilterCondition
            do throws(FilterCondition.Failure) {
                condition = try FilterCondition.parse(d.arguments[2])
            } catch {
                throw d.error(error.message)
            }
            try addProvider(d, &scope, filter: d.arguments[0], provider: d.arguments[1], condition)
        },
        DirectiveSpec("FilterChain", .iterate, .anywhere, help: "list of filter names with optional [+-=!@]") { d, scope throws(ConfigError) in
            for argument in d.arguments { scope.directory[FilterDirConfig.self].chain(argument) }
        },
        DirectiveSpec("AddOutputFilterByType", .iterate2, .anywhere, help: "output filter name followed by one or more content-types") { d, scope throws(ConfigError) in
            let types = Array(d.arguments.dropFirst())
            for provider in d.arguments[0].split(separator: ";").map(String.init) where !provider.isEmpty {
                let name = "BYTYPE:" + provider
                let seen = scope.directory[FilterDirConfig.self].declared[name] != nil
                try addProvider(d, &scope, filter: name, provider: provider, .types(types))
                if !seen { scope.directory[FilterDirConfig.self].chain(name) }
            }
        },
        .accepted("FilterTrace", .take2, [.server, .directory], help: "filter-name debug-level",
                  note: "accepted: Skep logs no filter trace"),
        DirectiveSpec("FilterProtocol", .take23, .anywhere, help: "filter-name [provider-name] protocol-args") { d, _ throws(ConfigError) in
            throw d.error("FilterProtocol: Skep does not change a filter's protocol handling (its filters set their own fields); remove the directive")
        },
    ], overrides: [
        "FilterDeclare": .options,
        "FilterProvider": .options,
        "FilterChain": .options,
        "AddOutputFilterByType": .fileInfo,
        "FilterProtocol": .options,
    ])

    /// The output filters Skep has, which a provider may name (Apache's "Unknown filter
    /// provider" otherwise). Checked at config time against this list, so a filter of a
    /// module Skep lacks (SUBSTITUTE, INCLUDES) is refused with Apache's message.
    static let knownProviders: Set<String> = ["deflate"]

    static func addProvider(_ d: Directive, _ scope: inout DirectiveScope, filter: String, provider: String,
                            _ condition: FilterCondition) throws(ConfigError) {
        guard knownProviders.contains(provider.lowercased()) else { throw d.error("Unknown filter provider \(provider)") }
        scope.directory[FilterDirConfig.self].addProvider(filter: filter, provider: provider, condition)
    }

    public init(config: ServerConfig) throws {}

    /// Apache's `filter_insert`: the chain's smart filters, in order; an undeclared name
    /// is skipped (Apache logs AH01380 at warning).
    public func insertFilters(_ request: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {
        let config = request.config(FilterDirConfig.self)
        for link in config.resolved {
            switch link {
            case .filter(let filter): chain.add(filter)
            case .unknown(let name):
                server.errorLog.log(.warn, module: "filter", client: request.client, "AH01380: Unknown filter \(name) not added")
            }
        }
    }
}

/// A smart filter on one request: the first provider whose condition holds runs.
struct SmartFilter: OutputFilter {
    let declaration: FilterDirConfig.Declaration
    var name: String { declaration.name }
    var stage: OutputFilterStage { declaration.stage }

    func provider(_ response: Response, _ r: Request, _ context: ServerContext) -> (any OutputFilter)? {
        let type = response.header("Content-Type")
        for provider in declaration.providers where provider.condition.holds(response, r, contentType: type) {
            return context.outputFilter(named: provider.name)
        }
        return nil
    }

    func mayBlock(_ response: Response, _ r: Request, _ context: ServerContext) -> Bool {
        provider(response, r, context)?.mayBlock(response, r, context) ?? false
    }

    func filter(_ response: inout Response, _ r: Request, _ context: ServerContext) {
        provider(response, r, context)?.filter(&response, r, context)
    }
}

/// mod_filter's per-directory record (`mod_filter_cfg`).
public struct FilterDirConfig: ModuleConfig {
    public struct Provider: Sendable {
        public var name: String
        public var condition: FilterCondition
    }

    public struct Declaration: Sendable {
        public var name: String
        public var stage: OutputFilterStage
        /// Checked in order; a provider added later comes first, as Apache prepends.
        public var providers: [Provider] = []
    }

    /// Declared smart filters by name (Apache's names here are case-sensitive).
    public var declared: [String: Declaration] = [:] { didSet { resolve() } }
    /// The chain as written: names, with nil for a `!` or `=` reset.
    public var links: [String?] = [] { didSet { resolve() } }

    /// One name of the effective chain, looked up once here rather than per request.
    enum Link: Sendable {
        case filter(SmartFilter)
        case unknown(String)
    }

    /// The effective chain's filters, kept current with `declared` and `links`.
    private(set) var resolved: [Link] = []

    public init() {}

    private mutating func resolve() {
        resolved = effectiveChain.map { name in declared[name].map { .filter(SmartFilter(declaration: $0)) } ?? .unknown(name) }
    }

    mutating func declare(_ name: String, stage: OutputFilterStage) {
        declared[name] = Declaration(name: name, stage: stage)
    }

    mutating func addProvider(filter: String, provider: String, _ condition: FilterCondition) {
        if declared[filter] == nil {
            // A provider of an undeclared filter declares it with the provider's type.
            declare(filter, stage: .resource)
        }
        declared[filter]?.providers.insert(Provider(name: provider, condition: condition), at: 0)
    }

    /// One `FilterChain` argument, as Apache's `filter_chain`.
    mutating func chain(_ argument: String) {
        switch argument.first {
        case "+": links.append(String(argument.dropFirst()))
        case "@": links.insert(String(argument.dropFirst()), at: 0)
        case "-":
            // Apache removes from this section's own chain only (the merge brings the rest).
            let name = argument.dropFirst().lowercased()
            if let first = links.first, let f = first, f.lowercased() == name {
                links.removeFirst()
            } else if !links.isEmpty {
                var kept = [links[0]]
                kept += links.dropFirst().filter { $0?.lowercased() != name }
                links = kept
            }
        case "!": links = [nil]
        case "=": links = [nil, String(argument.dropFirst())]
        default: links.append(argument)
        }
    }

    /// The names to insert: what follows the last reset.
    var effectiveChain: [String] {
        let start = links.lastIndex(where: { $0 == nil }).map { $0 + 1 } ?? 0
        return links[start...].compactMap { $0 }
    }

    /// Apache's `filter_merge`: the child's declarations over the parent's; the chains
    /// concatenated (a reset in either keeps only what follows it).
    public func merged(with child: FilterDirConfig) -> FilterDirConfig {
        var out = FilterDirConfig()
        out.declared = declared.merging(child.declared) { _, new in new }
        if !links.isEmpty && !child.links.isEmpty {
            out.links = links + child.links
        } else {
            out.links = child.links.isEmpty ? links : child.links
        }
        return out
    }
}
