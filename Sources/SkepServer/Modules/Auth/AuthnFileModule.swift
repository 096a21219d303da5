import CAPRUtil
import SkepConfig
import SkepSystem

/// Apache's mod_authn_file: the `file` authentication provider. `AuthUserFile` names a
/// file as `htpasswd` writes it (`user:hash` lines); the password is checked with
/// APR-util's `apr_password_validate`, Apache's own check, which knows bcrypt (`$2y$`),
/// APR1-MD5 (`$apr1$`), `{SHA}` and crypt. The file is read on every check, as Apache
/// reads it, so an edit needs no restart.
public struct AuthnFileModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authn_file_module", sourceName: "mod_authn_file.c", directives: [
        DirectiveSpec("AuthUserFile", .take1, .perDirectory, help: "text file containing user IDs and passwords") { d, scope throws(ConfigError) in
            scope.directory[AuthnFileConfig.self].userFile = scope.serverRootRelative(d.arguments[0])
        },
    ], overrides: [
        "AuthUserFile": .authConfig,
    ])

    public init(config: ServerConfig) {}

    /// The provider's `check_password`.
    static func checkPassword(_ r: Request, user: String, password: String, _ server: ServerContext) -> AuthnResult {
        guard let path = r.config(AuthnFileConfig.self).userFile else {
            server.errorLog.log(.error, module: "authn_file", client: r.client, "AH01619: AuthUserFile not specified in the configuration")
            return .generalError
        }
        let lines: [ArraySlice<UInt8>]
        switch AuthTextFile.lines(path) {
        case .success(let read): lines = read
        case .failure(let error):
            server.errorLog.log(.error, module: "authn_file", client: r.client,
                                "(\(error.errno.rawValue))\(error.errno): AH01620: Could not open password file: \(path)")
            return .generalError
        }
        let wanted = Array(user.utf8)
        for line in lines {
            let (name, rest) = AuthTextFile.field(line)
            guard name.elementsEqual(wanted) else { continue }
            let hash = AuthTextFile.field(rest).word
            return validate(password, hash: Array(hash)) ? .granted : .denied
        }
        return .userNotFound
    }

    /// `apr_password_validate`: true when `password` matches `hash`.
    static func validate(_ password: String, hash: [UInt8]) -> Bool {
        let cHash = hash.map { CChar(bitPattern: $0) } + [0]
        return cHash.withUnsafeBufferPointer { h in
            guard let hashBase = h.baseAddress else { return false }
            return apr_password_validate(password, hashBase) == 0  // APR_SUCCESS
        }
    }
}

/// mod_authn_file's per-directory record.
public struct AuthnFileConfig: ModuleConfig {
    /// `AuthUserFile`, made absolute against ServerRoot.
    public var userFile: String?
    public init() {}
    public func merged(with child: AuthnFileConfig) -> AuthnFileConfig { child.userFile == nil ? self : child }
}
