import SkepConfig

/// Apache's mod_reqtimeout: `RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500`.
/// A client must send its head (and body) within the initial time, extended by one second
/// for every MinRate bytes it sends, up to the maximum; past that it is answered 408.
public struct ReqtimeoutModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "reqtimeout_module", sourceName: "mod_reqtimeout.c", directives: [
        DirectiveSpec("RequestReadTimeout", .iterate, .server,
                      help: "handshake=, header= and body= timeouts: seconds[-max][,MinRate=bytes/s]") { d, scope throws(ConfigError) in
            var config = scope.server[ReqtimeoutConfig.self]
            for word in d.arguments {
                guard let eq = word.firstIndex(of: "=") else { throw d.error("RequestReadTimeout: '\(word)' is not stage=value") }
                let stage = word[..<eq].lowercased()
                let value = String(word[word.index(after: eq)...])
                let limit = try ReadLimit.parse(value, d)
                switch stage {
                case "header": config.header = limit
                case "body": config.body = limit
                case "handshake": config.handshake = limit
                default: throw d.error("RequestReadTimeout: unknown stage '\(stage)' (use handshake, header or body)")
                }
            }
            scope.server[ReqtimeoutConfig.self] = config
        },
    ])

    public init(config: ServerConfig) {}
}

/// One stage's limit: an initial timeout, an optional maximum, a minimum rate.
public struct ReadLimit: Sendable, Equatable {
    public var initialSeconds: Int
    public var maximumSeconds: Int?
    public var minimumRate: Int

    static func parse(_ text: String, _ d: Directive) throws(ConfigError) -> ReadLimit {
        func fail(_ message: String) throws(ConfigError) -> Never { throw d.error("RequestReadTimeout: \(message)") }
        let pieces = text.split(separator: ",", omittingEmptySubsequences: false)
        let times = pieces[0]  // split always yields at least one piece
        let bounds = times.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count <= 2 else { try fail("'\(times)' is not seconds or seconds-max") }
        let seconds = 0...Directive.longestSeconds
        let initial = try Directive.integer(bounds[0], in: seconds, fail: fail)
        var limit = ReadLimit(initialSeconds: initial, maximumSeconds: nil, minimumRate: 0)
        if bounds.count == 2 {
            let max = try Directive.integer(bounds[1], in: seconds, fail: fail)
            guard max >= initial else { try fail("the maximum must be at least the initial timeout") }
            limit.maximumSeconds = max
        }
        for option in pieces.dropFirst() {
            let parts = option.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].lowercased() == "minrate" else { try fail("'\(option)' is not MinRate=bytes") }
            limit.minimumRate = try Directive.integer(parts[1], in: 1...Int(Int32.max), fail: fail)
        }
        return limit
    }

    /// Milliseconds allowed after `bytes` have arrived, at most the longest time a
    /// directive may name (so a large body's rate extension cannot overflow).
    public func milliseconds(afterReceiving bytes: Int) -> Int {
        var seconds = Double(initialSeconds)
        if minimumRate > 0 { seconds += Double(bytes) / Double(minimumRate) }
        if let maximumSeconds { seconds = min(seconds, Double(maximumSeconds)) }
        return Int(min(seconds * 1000, Double(Directive.longestMilliseconds)))  // trap-safe: finite, and at most Int32.max
    }
}

public struct ReqtimeoutConfig: ModuleConfig {
    public var header: ReadLimit?
    public var body: ReadLimit?
    public var handshake: ReadLimit?
    public init() {}
    public func merged(with child: ReqtimeoutConfig) -> ReqtimeoutConfig {
        var out = ReqtimeoutConfig()
        out.header = child.header ?? header
        out.body = child.body ?? body
        out.handshake = child.handshake ?? handshake
        return out
    }
}

/// The head and body read limits a connection applies: mod_reqtimeout's when it is
/// loaded (with Apache's defaults), else the core `Timeout`.
struct RequestTimeouts {
    let header: ReadLimit?
    let body: ReadLimit?

    init(_ config: ServerConfig) {
        guard config.isActive(ReqtimeoutModule.descriptor.name) else {
            header = nil
            body = nil
            return
        }
        let c = config[ReqtimeoutConfig.self]
        let header = c.header ?? ReadLimit(initialSeconds: 20, maximumSeconds: 40, minimumRate: 500)
        let body = c.body ?? ReadLimit(initialSeconds: 20, maximumSeconds: nil, minimumRate: 500)
        self.header = header.initialSeconds == 0 ? nil : header
        self.body = body.initialSeconds == 0 ? nil : body
    }

    func headTimeout(_ core: CoreServerConfig, received bytes: Int = 0) -> Int {
        header?.milliseconds(afterReceiving: bytes) ?? core.timeout
    }
}
