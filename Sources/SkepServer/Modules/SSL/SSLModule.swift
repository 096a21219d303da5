import COpenSSL
import Glibc
import SkepConfig
import SkepSystem

/// Apache's mod_ssl on OpenSSL 3: `SSLEngine on` in a virtual host makes connections to
/// its addresses TLS. Each such host's settings become a `TLSContext` when the module is
/// made (in the master, before the children fork); SNI switches a connection to the named
/// host's context during the handshake. See docs/modules/ssl.md.
public struct SSLModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "ssl_module", sourceName: "mod_ssl.c", directives: [
        DirectiveSpec("SSLEngine", .take1, .server, help: "on, off or optional") { d, scope throws(ConfigError) in
            switch d.arguments[0].lowercased() {
            case "on": scope.server[SSLServerConfig.self].engine = true
            case "off": scope.server[SSLServerConfig.self].engine = false
            case "optional":
                throw d.error("SSLEngine optional (TLS upgrade, RFC 2817) is not supported by Skep: use on or off")
            default: throw d.error("Argument must be On, Off, or Optional")
            }
        },
        DirectiveSpec("SSLCertificateFile", .take1, .server, help: "a PEM certificate (with its chain after it)") { d, scope throws(ConfigError) in
            let path = scope.serverRootRelative(d.arguments[0])
            if let problem = TLSContext.check(path, key: false) { throw d.error("SSLCertificateFile: file '\(path)': \(problem)") }
            scope.server[SSLServerConfig.self].certificateFiles.append(path)
        },
        DirectiveSpec("SSLCertificateKeyFile", .take1, .server, help: "the PEM private key of the certificate at the same position") { d, scope throws(ConfigError) in
            let path = scope.serverRootRelative(d.arguments[0])
            if let problem = TLSContext.check(path, key: true) { throw d.error("SSLCertificateKeyFile: file '\(path)': \(problem)") }
            scope.server[SSLServerConfig.self].keyFiles.append(path)
        },
        DirectiveSpec("SSLCertificateChainFile", .take1, .server, help: "PEM certificates of the chain") { d, scope throws(ConfigError) in
            let path = scope.serverRootRelative(d.arguments[0])
            if let problem = TLSContext.check(path, key: false) { throw d.error("SSLCertificateChainFile: file '\(path)': \(problem)") }
            scope.server[SSLServerConfig.self].certificateChainFile = path
        },
        DirectiveSpec("SSLCACertificateFile", .take1, .server, help: "PEM CA certificates for client certificates") { d, scope throws(ConfigError) in
            let path = scope.serverRootRelative(d.arguments[0])
            if let problem = TLSContext.check(path, key: false) { throw d.error("SSLCACertificateFile: file '\(path)': \(problem)") }
            scope.server[SSLServerConfig.self].caCertificateFile = path
        },
        DirectiveSpec("SSLCACertificatePath", .take1, .server, help: "a directory of hashed CA certificates") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].caCertificatePath = scope.serverRootRelative(d.arguments[0])
        },
        DirectiveSpec("SSLProtocol", .iterate, .server, help: "[+-]all, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].protocols = try SSLProtocols.parse(d)
        },
        DirectiveSpec("SSLCipherSuite", .take12, .server, help: "[SSL|TLSv1.3] an OpenSSL cipher list") { d, scope throws(ConfigError) in
            if d.arguments.count == 2 {
                switch d.arguments[0].lowercased() {
                case "ssl": scope.server[SSLServerConfig.self].cipherSuite = d.arguments[1]
                case "tlsv1.3": scope.server[SSLServerConfig.self].tls13CipherSuites = d.arguments[1]
                default: throw d.error("protocol '\(d.arguments[0])' not supported in SSLCipherSuite (use SSL or TLSv1.3)")
                }
            } else {
                scope.server[SSLServerConfig.self].cipherSuite = d.arguments[0]
            }
        },
        DirectiveSpec("SSLHonorCipherOrder", .flag, .server, help: "On: the server's cipher order wins") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].honorCipherOrder = try d.flag()
        },
        DirectiveSpec("SSLSessionTickets", .flag, .server, help: "On (default) or Off: TLS session tickets") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].sessionTickets = try d.flag()
        },
        DirectiveSpec("SSLSessionCache", .take1, .serverConfig, help: "none, nonenotnull, or shmcb:PATH(SIZE)") { d, scope throws(ConfigError) in
            let value = d.arguments[0].lowercased()
            guard value == "none" || value == "nonenotnull" || value.hasPrefix("shmcb:") || value.hasPrefix("dbm:") || value.hasPrefix("dc:") || value == "default" else {
                throw d.error("SSLSessionCache: Invalid argument: '\(d.arguments[0])'")
            }
            scope.server[SSLServerConfig.self].sessionCacheOff = value == "none"
            if value.hasPrefix("shmcb:") {
                switch TLSSessionCache.size(of: d.arguments[0]) {
                case .success(let size): scope.server[SSLServerConfig.self].sharedCacheSize = size
                case .failure(let problem): throw d.error("SSLSessionCache: \(problem)")
                }
            }
        },
        DirectiveSpec("SSLSessionCacheTimeout", .take1, .server, help: "seconds a session stays resumable (default 300)") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].sessionCacheTimeout = try d.integer(in: 0...Directive.longestSeconds)
        },
        DirectiveSpec("SSLStrictSNIVHostCheck", .flag, .server, help: "On: clients without SNI are refused") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].strictSNIVHostCheck = try d.flag()
        },
        DirectiveSpec("SSLOpenSSLConfCmd", .take2, .server, help: "an OpenSSL SSL_CONF command and its value") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].openSSLConfCommands.append(.init(name: d.arguments[0], value: d.arguments[1]))
        },
        DirectiveSpec("SSLVerifyClient", .take1, .server, help: "none, optional, require or optional_no_ca") { d, scope throws(ConfigError) in
            guard let mode = SSLServerConfig.VerifyClient(rawValue: d.arguments[0].lowercased()) else {
                throw d.error("SSLVerifyClient: Invalid argument '\(d.arguments[0])'")
            }
            scope.server[SSLServerConfig.self].verifyClient = mode
        },
        DirectiveSpec("SSLVerifyDepth", .take1, .server, help: "the longest client certificate chain") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].verifyDepth = try d.integer(in: 0...100)
        },
        DirectiveSpec("SSLOptions", .raw, .anywhere, help: "[+-]StdEnvVars, ExportCertData, StrictRequire, FakeBasicAuth, OptRenegotiate, LegacyDNStringFormat") { d, scope throws(ConfigError) in
            var options = scope.directory[SSLDirConfig.self].options ?? []
            for (index, word) in d.arguments.enumerated() {
                var name = Substring(word)
                let sign = name.first == "+" || name.first == "-" ? name.removeFirst() : nil
                guard let option = SSLDirConfig.Options(name: name.lowercased()) else { throw d.error("SSLOptions: Illegal option '\(name)'") }
                if sign == nil && index == 0 { options = [] }
                if sign == "-" { options.remove(option) } else { options.insert(option) }
            }
            scope.directory[SSLDirConfig.self].options = options
        },
        DirectiveSpec("SSLRequireSSL", .none, .perDirectory, help: "refuse requests that did not come over TLS (403)") { _, scope throws(ConfigError) in
            scope.directory[SSLDirConfig.self].requireSSL = true
        },
        .accepted("SSLRandomSeed", .take23, .serverConfig, help: "startup|connect builtin|file:...|exec:... [bytes]",
                  note: "accepted with no effect: OpenSSL 3 seeds itself from the kernel"),
        DirectiveSpec("SSLPassPhraseDialog", .take1, .serverConfig, help: "builtin or exec:/path: how encrypted keys' pass phrases are asked") { d, scope throws(ConfigError) in
            let value = d.arguments[0]
            if value == "builtin" {
                scope.server[SSLServerConfig.self].passPhraseDialog = .builtin
            } else if value.hasPrefix("exec:") {
                let program = scope.serverRootRelative(String(value.dropFirst(5)))
                guard access(program, X_OK) == 0 else { throw d.error("SSLPassPhraseDialog: file '\(program)' does not exist or is not executable") }
                scope.server[SSLServerConfig.self].passPhraseDialog = .exec(program)
            } else {
                throw d.error("SSLPassPhraseDialog: Invalid argument '\(value)'")
            }
        },
        DirectiveSpec("SSLCompression", .flag, .server, help: "Off: TLS compression (CRIME) stays off") { d, _ throws(ConfigError) in
            if try d.flag() { throw d.error("SSLCompression On: Skep never compresses at the TLS layer (CRIME); remove the line or say Off") }
        },
        DirectiveSpec("SSLInsecureRenegotiation", .flag, .server, help: "Off: insecure renegotiation stays refused") { d, _ throws(ConfigError) in
            if try d.flag() { throw d.error("SSLInsecureRenegotiation On is not supported: Skep refuses renegotiation") }
        },
        DirectiveSpec("SSLUseStapling", .flag, .server, help: "On: staple the certificate's OCSP status to handshakes") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].useStapling = try d.flag()
        },
        DirectiveSpec("SSLStaplingCache", .take1, .serverConfig, help: "shmcb:PATH(SIZE): where OCSP answers are kept") { d, scope throws(ConfigError) in
            let value = d.arguments[0].lowercased()
            guard ["shmcb:", "shmcb", "dbm:", "memcache:", "redis:", "dc:"].contains(where: { value.hasPrefix($0) }) else {
                throw d.error("SSLStaplingCache: Invalid argument: '\(d.arguments[0])' (shmcb:PATH(SIZE))")
            }
            scope.server[SSLServerConfig.self].staplingCache = true
        },
        DirectiveSpec("SSLStaplingResponderTimeout", .take1, .server, help: "seconds to wait for the OCSP responder (default 10)") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.responderTimeout = try d.integer(in: 1...Directive.longestSeconds)
        },
        DirectiveSpec("SSLStaplingReturnResponderErrors", .flag, .server, help: "On (default): staple error and invalid answers too") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.returnResponderErrors = try d.flag()
        },
        DirectiveSpec("SSLStaplingFakeTryLater", .flag, .server, help: "On (default): staple tryLater when the responder cannot be reached") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.fakeTryLater = try d.flag()
        },
        DirectiveSpec("SSLStaplingStandardCacheTimeout", .take1, .server, help: "seconds a good OCSP answer is kept (default 3600)") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.standardCacheTimeout = try d.integer(in: 0...Directive.longestSeconds)
        },
        DirectiveSpec("SSLStaplingErrorCacheTimeout", .take1, .server, help: "seconds an error answer is kept (default 600)") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.errorCacheTimeout = try d.integer(in: 0...Directive.longestSeconds)
        },
        DirectiveSpec("SSLStaplingResponseTimeSkew", .take1, .server, help: "seconds of clock skew allowed in an answer (default 300)") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.responseTimeSkew = try d.integer(in: 0...Directive.longestSeconds)
        },
        DirectiveSpec("SSLStaplingResponseMaxAge", .take1, .server, help: "the oldest answer accepted, in seconds (default -1: any)") { d, scope throws(ConfigError) in
            scope.server[SSLServerConfig.self].stapling.responseMaxAge = try d.integer(in: -1...Directive.longestSeconds)
        },
        DirectiveSpec("SSLStaplingForceURL", .take1, .server, help: "the OCSP responder to ask, over the certificate's") { d, scope throws(ConfigError) in
            guard OCSPStapling.parse(d.arguments[0]) != nil else { throw d.error("SSLStaplingForceURL: '\(d.arguments[0])' is not an http:// URL") }
            scope.server[SSLServerConfig.self].stapling.forceURL = d.arguments[0]
        },
        DirectiveSpec("SSLSessionTicketKeyFile", .take1, .server, help: "48 bytes: a key name, an HMAC secret and an AES key") { d, scope throws(ConfigError) in
            let path = scope.serverRootRelative(d.arguments[0])
            switch TLSContext.readTicketKeys(path) {
            case .success(let keys): scope.server[SSLServerConfig.self].ticketKeys = keys
            case .failure(let problem): throw d.error("SSLSessionTicketKeyFile: file '\(path)': \(problem)")
            }
        },
    ], overrides: [
        "SSLOptions": .options,
        "SSLRequireSSL": .authConfig,
    ])

    /// Each TLS host's context: the main server's (`nil` key) and the virtual hosts' by
    /// the `<VirtualHost>` line.
    let contexts: [SourceLocation?: TLSContext]
    let selector: VirtualHostSelector
    let stapling: OCSPStapling?

    public init(config: ServerConfig) throws {
        var contexts: [SourceLocation?: TLSContext] = [:]
        let hosts = [config.main] + config.virtualHosts
        // OpenSSL seals and opens tickets with the callback of the context a connection
        // started with, and may open one before SNI has chosen the host: so the first key
        // file read serves every TLS host of the server (one file for all, as a load
        // balancer's machines share it).
        let sharedKeys = hosts.lazy.map { $0.server[SSLServerConfig.self] }.first { $0.engine == true && $0.ticketKeys != nil }?.ticketKeys
        // `SSLSessionCache shmcb:` is the server's: one table for every TLS host.
        let sharedCache = try config.main.server[SSLServerConfig.self].sharedCacheSize.map { size in
            do { return try TLSSessionCache(size: size) } catch { throw TLSError.configuration("SSLSessionCache: \(error)") }
        }
        // OCSP answers are kept per certificate of every stapling host, in memory the
        // children share (`SSLStaplingCache`, which Apache requires too).
        let staplingHosts = hosts.map { $0.server[SSLServerConfig.self] }.filter { $0.engine == true && $0.useStapling == true }
        var stapling: OCSPStapling?
        if !staplingHosts.isEmpty {
            guard config.main.server[SSLServerConfig.self].staplingCache else {
                throw TLSError.configuration("AH01958: SSLStapling: no stapling cache available (SSLUseStapling On needs SSLStaplingCache)")
            }
            do {
                stapling = try OCSPStapling(capacity: staplingHosts.reduce(0) { $0 + max(1, $1.certificateFiles.count) })
            } catch {
                throw TLSError.configuration("SSLStaplingCache: \(error)")
            }
        }
        for host in hosts {
            var ssl = host.server[SSLServerConfig.self]
            guard ssl.engine == true else { continue }
            if let sharedKeys { ssl.ticketKeys = sharedKeys }
            let name = host.server[CoreServerConfig.self].serverName ?? "localhost"
            guard !ssl.certificateFiles.isEmpty else {
                throw TLSError.configuration("AH02572: Failed to configure at least one certificate and key for \(name)\(host.location.map { " (\($0))" } ?? "")")
            }
            do {
                contexts[host.location] = try TLSContext(ssl, serverName: name, keyID: "\(name.split(separator: ":").first.map(String.init) ?? name):\(Self.port(serverName: name))",
                                                         sessionCache: sharedCache, stapling: stapling)
            } catch {
                throw TLSError.configuration("\(host.location.map { "\($0): " } ?? "")\(name): \(error)")
            }
        }
        let selector = VirtualHostSelector(config)
        let all = contexts
        for context in contexts.values {
            context.installServerNameCallback()
            context.serverNameResolver = { name, local in
                all[selector.select(local: local, host: name).location] ?? nil
            }
        }
        self.contexts = contexts
        self.selector = selector
        self.stapling = stapling
    }

    /// Apache's port in a TLS host's id (`ssl_util_vhostid`): the one `ServerName` names,
    /// else 443.
    static func port(serverName: String) -> Int {
        ServerContext.portPart(serverName) ?? 443
    }

    /// Gives mod_ssl the generation's error log: what could not be set up for stapling is
    /// logged, as Apache logs it at start, and the stapling thread logs there.
    func attach(_ errorLog: ErrorLog) {
        stapling?.errorLog = errorLog
        for context in contexts.values.compactMap({ $0 }) {
            for problem in context.staplingProblems { errorLog.log(.error, module: "ssl", problem) }
        }
    }

    /// The TLS session for a connection accepted on `local`, when the host that answers
    /// that address first has `SSLEngine on`; nil for plain HTTP.
    func session(socket: Socket, local: SocketAddress) -> TLSSession? {
        guard !contexts.isEmpty else { return nil }
        let host = selector.select(local: local, host: nil)
        guard let context = contexts[host.location] ?? nil else { return nil }
        return context.session(socket: socket, local: local)
    }

    /// `SSLRequireSSL`: 403 for a request that did not come over TLS.
    public func checkAccess(_ r: Request, _ server: ServerContext) -> HookResult {
        guard r.tls == nil, r.config(SSLDirConfig.self).requireSSL else { return .declined }
        server.errorLog.log(.error, module: "ssl", client: r.client, "AH02219: access to \(r.filename ?? r.uri) failed, reason: SSL connection required")
        return .fail(.forbidden)
    }
}

/// mod_ssl's per-server record.
public struct SSLServerConfig: ModuleConfig {
    public enum VerifyClient: String, Sendable { case none, optional, require, optionalNoCA = "optional_no_ca" }
    public struct ConfCommand: Sendable, Equatable {
        var name: String
        var value: String
    }

    var engine: Bool?
    var certificateFiles: [String] = []
    var keyFiles: [String] = []
    var certificateChainFile: String?
    var caCertificateFile: String?
    var caCertificatePath: String?
    var protocols: SSLProtocols?
    var cipherSuite: String?
    var tls13CipherSuites: String?
    var honorCipherOrder: Bool?
    var sessionTickets: Bool?
    var sessionCacheOff = false
    /// `SSLSessionCache shmcb:`'s size: sessions shared by every child.
    var sharedCacheSize: Int?
    var sessionCacheTimeout: Int?
    var strictSNIVHostCheck: Bool?
    var openSSLConfCommands: [ConfCommand] = []
    var verifyClient: VerifyClient?
    var verifyDepth: Int?
    /// `SSLSessionTicketKeyFile`'s 48 bytes.
    var ticketKeys: [UInt8]?
    var useStapling: Bool?
    /// `SSLPassPhraseDialog` (the server's; `builtin` when not given).
    var passPhraseDialog: PassPhraseDialog?
    /// `SSLStaplingCache` was given (the server's).
    var staplingCache = false
    /// The `SSLStapling*` settings this host names; the rest are Apache's defaults.
    var stapling = StaplingOverrides()

    public init() {}

    /// A virtual host inherits what it does not set, as Apache's `ssl_config_server_merge`;
    /// certificates are the host's own when it names any.
    public func merged(with child: SSLServerConfig) -> SSLServerConfig {
        var out = child
        out.engine = child.engine ?? engine
        if child.certificateFiles.isEmpty {
            out.certificateFiles = certificateFiles
            out.keyFiles = keyFiles
        }
        out.certificateChainFile = child.certificateChainFile ?? certificateChainFile
        out.caCertificateFile = child.caCertificateFile ?? caCertificateFile
        out.caCertificatePath = child.caCertificatePath ?? caCertificatePath
        out.protocols = child.protocols ?? protocols
        out.cipherSuite = child.cipherSuite ?? cipherSuite
        out.tls13CipherSuites = child.tls13CipherSuites ?? tls13CipherSuites
        out.honorCipherOrder = child.honorCipherOrder ?? honorCipherOrder
        out.sessionTickets = child.sessionTickets ?? sessionTickets
        out.sessionCacheOff = child.sessionCacheOff || sessionCacheOff
        out.sharedCacheSize = child.sharedCacheSize ?? sharedCacheSize
        out.sessionCacheTimeout = child.sessionCacheTimeout ?? sessionCacheTimeout
        out.strictSNIVHostCheck = child.strictSNIVHostCheck ?? strictSNIVHostCheck
        out.openSSLConfCommands = openSSLConfCommands + child.openSSLConfCommands
        out.verifyClient = child.verifyClient ?? verifyClient
        out.verifyDepth = child.verifyDepth ?? verifyDepth
        out.ticketKeys = child.ticketKeys ?? ticketKeys
        out.useStapling = child.useStapling ?? useStapling
        out.passPhraseDialog = child.passPhraseDialog ?? passPhraseDialog
        out.staplingCache = child.staplingCache || staplingCache
        out.stapling = stapling.merged(with: child.stapling)
        return out
    }
}

/// The `SSLStapling*` directives a host sets, over Apache's defaults (`StaplingSettings`).
struct StaplingOverrides: Sendable, Equatable {
    var responderTimeout: Int?
    var returnResponderErrors: Bool?
    var fakeTryLater: Bool?
    var standardCacheTimeout: Int?
    var errorCacheTimeout: Int?
    var responseTimeSkew: Int?
    var responseMaxAge: Int?
    var forceURL: String?

    func merged(with child: StaplingOverrides) -> StaplingOverrides {
        StaplingOverrides(responderTimeout: child.responderTimeout ?? responderTimeout,
                          returnResponderErrors: child.returnResponderErrors ?? returnResponderErrors,
                          fakeTryLater: child.fakeTryLater ?? fakeTryLater,
                          standardCacheTimeout: child.standardCacheTimeout ?? standardCacheTimeout,
                          errorCacheTimeout: child.errorCacheTimeout ?? errorCacheTimeout,
                          responseTimeSkew: child.responseTimeSkew ?? responseTimeSkew,
                          responseMaxAge: child.responseMaxAge ?? responseMaxAge,
                          forceURL: child.forceURL ?? forceURL)
    }

    var settings: StaplingSettings {
        var out = StaplingSettings()
        if let responderTimeout { out.responderTimeout = responderTimeout }
        if let returnResponderErrors { out.returnResponderErrors = returnResponderErrors }
        if let fakeTryLater { out.fakeTryLater = fakeTryLater }
        if let standardCacheTimeout { out.standardCacheTimeout = standardCacheTimeout }
        if let errorCacheTimeout { out.errorCacheTimeout = errorCacheTimeout }
        if let responseTimeSkew { out.responseTimeSkew = responseTimeSkew }
        if let responseMaxAge { out.responseMaxAge = responseMaxAge }
        out.forceURL = forceURL
        return out
    }
}

/// mod_ssl's per-directory record.
public struct SSLDirConfig: ModuleConfig {
    public struct Options: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        static let stdEnvVars = Options(rawValue: 1)
        static let exportCertData = Options(rawValue: 2)
        static let strictRequire = Options(rawValue: 4)
        static let fakeBasicAuth = Options(rawValue: 8)
        static let optRenegotiate = Options(rawValue: 16)
        static let legacyDNStringFormat = Options(rawValue: 32)

        init?(name: String) {
            switch name {
            case "stdenvvars": self = .stdEnvVars
            case "exportcertdata": self = .exportCertData
            case "strictrequire": self = .strictRequire
            case "fakebasicauth": self = .fakeBasicAuth
            case "optrenegotiate": self = .optRenegotiate
            case "legacydnstringformat": self = .legacyDNStringFormat
            default: return nil
            }
        }
    }

    var options: Options?
    var requireSSL = false

    public init() {}

    public func merged(with child: SSLDirConfig) -> SSLDirConfig {
        var out = self
        out.options = child.options ?? options
        out.requireSSL = child.requireSSL || requireSSL
        return out
    }
}

/// `SSLProtocol`'s set of protocol versions, as Apache parses it: a word without a sign
/// starts the set afresh, `+` adds, `-` removes; `all` is TLSv1 to TLSv1.3.
struct SSLProtocols: Sendable, Equatable {
    /// Bits: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (OpenSSL 3 has no SSLv3).
    var bits: UInt8

    static let names: [(String, UInt8, Int32)] = [
        ("tlsv1", 1, TLS1_VERSION), ("tlsv1.1", 2, TLS1_1_VERSION), ("tlsv1.2", 4, TLS1_2_VERSION), ("tlsv1.3", 8, TLS1_3_VERSION),
    ]
    static let all: UInt8 = 15
    /// Apache 2.4's default, `all -SSLv3`.
    static let apacheDefault = SSLProtocols(bits: all)

    static func parse(_ d: Directive) throws(ConfigError) -> SSLProtocols {
        var bits: UInt8 = 0
        for word in d.arguments {
            var name = Substring(word)
            let sign = name.first == "+" || name.first == "-" ? name.removeFirst() : nil
            let key = name.lowercased()
            let value: UInt8
            if key == "all" {
                value = all
            } else if key == "sslv3" || key == "sslv2" {
                value = 0  // not in OpenSSL 3: removing it changes nothing
                if sign != "-" { throw d.error("SSLProtocol: Illegal protocol '\(name)': OpenSSL 3 has no \(name)") }
            } else if let entry = names.first(where: { $0.0 == key }) {
                value = entry.1
            } else {
                throw d.error("SSLProtocol: Illegal protocol '\(name)'")
            }
            switch sign {
            case "+": bits |= value
            case "-": bits &= ~value
            default: bits = value
            }
        }
        guard bits != 0 else { throw d.error("SSLProtocol: no protocol left enabled") }
        return SSLProtocols(bits: bits)
    }

    /// The lowest and highest version enabled (OpenSSL sets a range; a gap is filled).
    var range: (Int32, Int32) {
        let enabled = Self.names.filter { bits & $0.1 != 0 }
        return (enabled.first?.2 ?? TLS1_2_VERSION, enabled.last?.2 ?? TLS1_3_VERSION)
    }
}

/// Apache's mod_socache_shmcb, which `a2enmod ssl` enables for `SSLSessionCache shmcb:`:
/// loaded by name; the shared session cache itself is `TLSSessionCache`.
public struct SocacheShmcbModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "socache_shmcb_module", sourceName: "mod_socache_shmcb.c", directives: [])
    public init(config: ServerConfig) {}
}
