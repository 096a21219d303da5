import COpenSSL

/// mod_ssl's variables: `HTTPS`, `SSL_*` for a script's environment (`SSLOptions
/// +StdEnvVars`, `+ExportCertData`), `%{NAME}x` in logs and `%{SSL:NAME}` in expressions,
/// with Apache's names and text.
extension SSLModule {
    /// `HTTPS` and `SSL_TLS_SNI` for every request over TLS, and the rest of mod_ssl's
    /// variables with `SSLOptions +StdEnvVars` (Apache's `ssl_hook_Fixup`).
    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        guard let tls = r.tls else { return .declined }
        r.environment["HTTPS"] = "on"
        if let name = tls.serverName { r.environment["SSL_TLS_SNI"] = name }
        let options = r.config(SSLDirConfig.self).options ?? []
        if options.contains(.stdEnvVars) {
            for name in Self.standardVariables {
                if let value = Self.variable(name, tls) { r.environment[name] = value }
            }
            for (prefix, certificate) in [("SSL_SERVER_", tls.serverCertificate), ("SSL_CLIENT_", tls.clientCertificate)] {
                for (suffix, value) in certificate?.extracted ?? [] { r.environment[prefix + suffix] = value }
            }
        }
        if options.contains(.exportCertData) {
            r.environment["SSL_SERVER_CERT"] = tls.serverCertificate?.pem
            r.environment["SSL_CLIENT_CERT"] = tls.clientCertificate?.pem
            for (index, certificate) in tls.clientChain.enumerated() {
                r.environment["SSL_CLIENT_CERT_CHAIN_\(index)"] = certificate.pem
            }
        }
        return .declined
    }

    /// The variables `+StdEnvVars` exports when they have a value (Apache's
    /// `ssl_hook_Fixup_vars`).
    static let standardVariables = [
        "SSL_VERSION_INTERFACE", "SSL_VERSION_LIBRARY", "SSL_PROTOCOL", "SSL_SECURE_RENEG", "SSL_COMPRESS_METHOD",
        "SSL_CIPHER", "SSL_CIPHER_EXPORT", "SSL_CIPHER_USEKEYSIZE", "SSL_CIPHER_ALGKEYSIZE",
        "SSL_CLIENT_VERIFY", "SSL_CLIENT_M_VERSION", "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_V_START", "SSL_CLIENT_V_END",
        "SSL_CLIENT_V_REMAIN", "SSL_CLIENT_S_DN", "SSL_CLIENT_I_DN", "SSL_CLIENT_A_KEY", "SSL_CLIENT_A_SIG",
        "SSL_CLIENT_CERT_RFC4523_CEA",
        "SSL_SERVER_M_VERSION", "SSL_SERVER_M_SERIAL", "SSL_SERVER_V_START", "SSL_SERVER_V_END",
        "SSL_SERVER_S_DN", "SSL_SERVER_I_DN", "SSL_SERVER_A_KEY", "SSL_SERVER_A_SIG",
        "SSL_SESSION_ID", "SSL_SESSION_RESUMED",
    ]

    /// mod_ssl's `ssl_var_lookup` for the names Skep knows (`%{NAME}x` and the variables).
    public static func variable(_ name: String, _ tls: TLSSession?) -> String? {
        // A connection whose handshake never finished (plain HTTP on the port) has none.
        guard let tls, tls.isEstablished else { return name == "HTTPS" ? "off" : nil }
        switch name {
        case "HTTPS": return "on"
        case "SSL_PROTOCOL": return tls.protocolName
        case "SSL_CIPHER": return tls.cipherName
        case "SSL_CIPHER_EXPORT": return "false"  // OpenSSL 3 has no export ciphers
        case "SSL_CIPHER_USEKEYSIZE": return String(tls.cipherBits.used)
        case "SSL_CIPHER_ALGKEYSIZE": return String(tls.cipherBits.algorithm)
        case "SSL_COMPRESS_METHOD": return "NULL"  // TLS compression stays off
        case "SSL_SESSION_ID": return tls.sessionID
        case "SSL_SESSION_RESUMED": return tls.sessionResumed ? "Resumed" : "Initial"
        case "SSL_TLS_SNI": return tls.serverName
        case "SSL_VERSION_INTERFACE": return "Skep/\(ServerContext.version)"
        case "SSL_VERSION_LIBRARY": return String(cString: OpenSSL_version(OPENSSL_VERSION)).split(separator: " ").prefix(2).joined(separator: "/")
        case "SSL_CLIENT_VERIFY":
            guard tls.clientCertificate != nil else { return "NONE" }
            return tls.clientCertificateVerified ? "SUCCESS" : "FAILED"
        case "SSL_SECURE_RENEG": return tls.secureRenegotiation ? "true" : "false"
        default:
            if name.hasPrefix("SSL_CLIENT_CERT_CHAIN_") {
                guard let index = Int(name.dropFirst("SSL_CLIENT_CERT_CHAIN_".count)) else { return nil }
                let chain = tls.clientChain
                return chain.indices.contains(index) ? chain[index].pem : nil
            }
            if name.hasPrefix("SSL_SERVER_") { return tls.serverCertificate?.variable(String(name.dropFirst("SSL_SERVER_".count))) }
            if name.hasPrefix("SSL_CLIENT_") { return tls.clientCertificate?.variable(String(name.dropFirst("SSL_CLIENT_".count))) }
            return nil
        }
    }
}
