import CAPRUtil
import SkepConfig
import SkepHTTP

/// Apache's mod_auth_basic: HTTP Basic authentication (`AuthType Basic`) against the
/// providers of `AuthBasicProvider` (Skep has mod_authn_file's `file`, the default).
/// Its `check_user_id` hook answers a missing, foreign or wrong `Authorization` with 401
/// and `WWW-Authenticate: Basic realm="..."`, logging as Apache does.
public struct AuthBasicModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "auth_basic_module", sourceName: "mod_auth_basic.c", directives: [
        DirectiveSpec("AuthBasicProvider", .iterate, .perDirectory, help: "the auth providers for a directory or location (file)") { d, scope throws(ConfigError) in
            var providers = scope.directory[AuthBasicConfig.self].providers ?? []
            for name in d.arguments {
                // `file` is mod_authn_file's: unknown unless that module is loaded.
                guard name == "file", scope.activeModules.isEmpty || scope.activeModules.contains(AuthnFileModule.descriptor.name) else {
                    throw d.error("Unknown Authn provider: \(name)")
                }
                providers.append(name)
            }
            scope.directory[AuthBasicConfig.self].providers = providers
        },
        DirectiveSpec("AuthBasicAuthoritative", .flag, .perDirectory, help: "Off to let a user this module does not know go on to other modules") { d, scope throws(ConfigError) in
            scope.directory[AuthBasicConfig.self].authoritative = try d.flag()
        },
    ], overrides: [
        "AuthBasicProvider": .authConfig,
        "AuthBasicAuthoritative": .authConfig,
    ])

    public init(config: ServerConfig) {}

    /// Apache's `authenticate_basic_user`.
    public func checkUserID(_ r: Request, _ server: ServerContext) -> HookResult {
        guard let type = AccessPhases.authType(r), type.lowercased() == "basic" else { return .declined }
        guard r.config(AuthnCoreConfig.self).authName != nil else {
            server.errorLog.log(.error, module: "auth_basic", client: r.client, "AH01615: need AuthName: \(r.uri)")
            return .fail(.internalServerError)
        }
        r.authType = type
        let credentials: BasicCredentials
        switch BasicCredentials.read(r.header("Authorization")) {
        case .missing:
            Self.noteFailure(r)
            return .fail(.unauthorized)
        case .otherScheme:
            server.errorLog.log(.error, module: "auth_basic", client: r.client, "AH01614: client used wrong authentication scheme: \(r.uri)")
            Self.noteFailure(r)
            return .fail(.unauthorized)
        case .basic(let sent):
            credentials = sent
        }
        // The user is set before it is authenticated, as Apache does (the access log
        // shows who tried).
        r.user = credentials.user

        let config = r.config(AuthBasicConfig.self)
        var result = AuthnResult.userNotFound
        for provider in config.providers ?? ["file"] {
            guard provider == "file", server.modules.contains(where: { $0 is AuthnFileModule }) else {
                server.errorLog.log(.error, module: "auth_basic", client: r.client, "AH01616: No Authn provider configured")
                result = .generalError
                break
            }
            result = AuthnFileModule.checkPassword(r, user: credentials.user, password: credentials.password, server)
            if result != .userNotFound { break }
        }
        switch result {
        case .granted:
            return .handled
        case .denied:
            server.errorLog.log(.error, module: "auth_basic", client: r.client,
                                "AH01617: user \(credentials.user): authentication failure for \"\(r.uri)\": Password Mismatch")
        case .userNotFound:
            guard config.authoritative ?? true else { return .declined }
            server.errorLog.log(.error, module: "auth_basic", client: r.client, "AH01618: user \(credentials.user) not found: \(r.uri)")
        case .generalError:
            guard config.authoritative ?? true else { return .declined }
            return .fail(.internalServerError)
        }
        Self.noteFailure(r)
        return .fail(.unauthorized)
    }

    /// `note_basic_auth_failure`: the challenge a 401 carries.
    static func noteFailure(_ r: Request) {
        let realm = r.config(AuthnCoreConfig.self).quotedRealm ?? ""
        r.errorHeaders.removeAll { $0.name == "WWW-Authenticate" }
        r.errorHeaders.append(("WWW-Authenticate", "Basic realm=\"\(realm)\""))
    }
}

/// mod_auth_basic's per-directory record.
public struct AuthBasicConfig: ModuleConfig {
    /// `AuthBasicProvider`, in order; nil for the default (`file`).
    public var providers: [String]?
    /// `AuthBasicAuthoritative`; nil for the default (On).
    public var authoritative: Bool?

    public init() {}

    public func merged(with child: AuthBasicConfig) -> AuthBasicConfig {
        var out = self
        if child.providers != nil { out.providers = child.providers }
        if child.authoritative != nil { out.authoritative = child.authoritative }
        return out
    }
}

/// What an authentication provider says of a user and password, Apache's `authn_status`.
public enum AuthnResult: Sendable, Equatable {
    case granted
    case denied
    case userNotFound
    case generalError
}

/// The user and password of an `Authorization: Basic` field, read as mod_auth_basic's
/// `get_basic_auth` reads it.
public struct BasicCredentials: Sendable, Equatable {
    public var user: String
    public var password: String

    public enum Field: Sendable, Equatable {
        /// No `Authorization` field.
        case missing
        /// A scheme other than Basic.
        case otherScheme
        case basic(BasicCredentials)
    }

    /// The scheme is the field's first word (up to a space), compared without case; the
    /// rest, after blanks, is base64 decoded by APR (which stops at the first byte that
    /// is not base64, as Apache's does) and split at the first `:`. Like Apache's C
    /// strings, the decoded text ends at a NUL byte.
    public static func read(_ field: String?) -> Field {
        guard let field else { return .missing }
        let bytes = Array(field.utf8)
        let space = bytes.firstIndex(of: UInt8(ascii: " ")) ?? bytes.count
        guard String(decoding: bytes[..<space], as: UTF8.self).lowercased() == "basic" else { return .otherScheme }
        let rest = bytes[space...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var decoded = base64Decode(Array(rest))
        if let nul = decoded.firstIndex(of: 0) { decoded.removeSubrange(nul...) }
        let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        let user = String(decoding: decoded[..<(colon ?? decoded.count)], as: UTF8.self)
        let password = colon.map { String(decoding: decoded[decoded.index(after: $0)...], as: UTF8.self) } ?? ""
        return .basic(BasicCredentials(user: user, password: password))
    }

    /// APR's `apr_base64_decode`.
    static func base64Decode(_ coded: [UInt8]) -> [UInt8] {
        let source = coded + [0]
        return source.withUnsafeBufferPointer { src -> [UInt8] in
            src.withMemoryRebound(to: CChar.self) { csrc -> [UInt8] in
                guard let base = csrc.baseAddress else { return [] }
                let capacity = Int(apr_base64_decode_len(base))  // trap-safe: Int32 to Int widens
                guard capacity > 0 else { return [] }
                var plain = [CChar](repeating: 0, count: capacity + 1)
                let n = plain.withUnsafeMutableBufferPointer { dst in
                    dst.baseAddress.map { Int(apr_base64_decode($0, base)) } ?? 0  // trap-safe: Int32 to Int widens
                }
                return plain.prefix(max(0, min(n, capacity))).map { UInt8(bitPattern: $0) }
            }
        }
    }
}
