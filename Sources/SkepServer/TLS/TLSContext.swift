import COpenSSL
import Glibc
import SkepConfig
import SkepSystem

/// What went wrong with TLS: a configuration OpenSSL refused (a `-t` or start-up
/// error), or a connection's handshake or record layer (that connection is closed).
public enum TLSError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    /// The client spoke plain HTTP to a TLS port (OpenSSL's "http request"): it is
    /// answered with Apache's 400 in plain text.
    case plainHTTP
    case connection(String)

    public var description: String {
        switch self {
        case .configuration(let text), .connection(let text): return text
        case .plainHTTP: return "the client spoke plain HTTP to an SSL-enabled port"
        }
    }

    /// OpenSSL's queued errors for this thread, oldest first, as one line (and clears them).
    static func drainErrors() -> String {
        var texts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            texts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return texts.isEmpty ? "unknown error" : texts.joined(separator: "; ")
    }
}

/// One virtual host's TLS settings made into an OpenSSL `SSL_CTX`: its certificates and
/// keys (several pairs: RSA and ECDSA side by side, each with its chain), protocols,
/// ciphers, session cache and tickets, ALPN. Built by the master before it forks, so
/// keys readable only by root work for children running as `User`, and the children share
/// the context's session-ticket keys: a session resumes in any child.
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    /// Picks the context of the virtual host a client names in its SNI, on this
    /// connection's address; set by `SSLModule` on the default host's context.
    var serverNameResolver: ((String, SocketAddress) -> TLSContext?)?
    /// `SSLStrictSNIVHostCheck`: a client without SNI is refused.
    let strictSNI: Bool
    /// `SSLSessionCache shmcb:`'s table, kept alive as long as the context that uses it.
    let sessionCache: TLSSessionCache?
    /// The server's OCSP stapling, when this host staples (kept alive with the context).
    let stapling: OCSPStapling?
    /// Why certificates of this host are not stapled, as Apache logs it at start.
    private(set) var staplingProblems: [String] = []

    /// - Parameter keyID: Apache's `servername:port`, which the pass phrase dialog names.
    init(_ config: SSLServerConfig, serverName: String, keyID: String? = nil, sessionCache: TLSSessionCache? = nil,
         stapling: OCSPStapling? = nil) throws(TLSError) {
        guard let method = TLS_server_method(), let context = SSL_CTX_new(method) else {
            throw .configuration("SSL_CTX_new: \(TLSError.drainErrors())")
        }
        self.context = context
        self.strictSNI = config.strictSNIVHostCheck ?? false
        self.sessionCache = config.sessionCacheOff ? nil : sessionCache
        self.stapling = config.useStapling == true ? stapling : nil
        // Every property is set, so a throw from here runs deinit, which frees the context.
        try configure(config, serverName: serverName, keyID: keyID ?? "\(serverName):443")
    }

    deinit { SSL_CTX_free(context) }

    private func configure(_ config: SSLServerConfig, serverName: String, keyID: String) throws(TLSError) {
        func fail(_ what: String) throws(TLSError) -> Never {
            throw .configuration("\(what): \(TLSError.drainErrors())")
        }
        ERR_clear_error()
        // Releasing buffers keeps an idle keep-alive connection small; partial writes and a
        // moving buffer let a write resume after EAGAIN with the same bytes rebuilt.
        _ = skep_SSL_CTX_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))  // trap-safe: UInt32 flag constants to Int widen
        // Read ahead: a record's header and body in one `read`, not two.
        _ = skep_SSL_CTX_set_read_ahead(context, 1)
        var options = skep_SSL_OP_NO_COMPRESSION | skep_SSL_OP_NO_RENEGOTIATION
        if config.honorCipherOrder == true { options |= skep_SSL_OP_CIPHER_SERVER_PREFERENCE }
        if config.sessionTickets == false { options |= skep_SSL_OP_NO_TICKET }
        _ = SSL_CTX_set_options(context, options)
        let (lowest, highest) = (config.protocols ?? SSLProtocols.apacheDefault).range
        guard skep_SSL_CTX_set_min_proto_version(context, lowest) == 1,
              skep_SSL_CTX_set_max_proto_version(context, highest) == 1 else { try fail("SSLProtocol") }
        if let ciphers = config.cipherSuite, SSL_CTX_set_cipher_list(context, ciphers) != 1 { try fail("SSLCipherSuite \(ciphers)") }
        if let suites = config.tls13CipherSuites, SSL_CTX_set_ciphersuites(context, suites) != 1 { try fail("SSLCipherSuite TLSv1.3 \(suites)") }
        // Sessions kept in the children's shared table (`shmcb:`), else in each process
        // (no `SSLSessionCache`), or not at all (`none`); tickets, whose keys the master's
        // context made, resume across children either way.
        if let sessionCache {
            sessionCache.install(on: context)
        } else {
            _ = skep_SSL_CTX_set_session_cache_mode(context, config.sessionCacheOff ? Int(SSL_SESS_CACHE_OFF) : Int(SSL_SESS_CACHE_SERVER))  // trap-safe: small UInt32 constants to Int widen
        }
        _ = SSL_CTX_set_timeout(context, config.sessionCacheTimeout ?? 300)
        // A session id context, so a resumed session belongs to this host's settings.
        let idContext = Array(serverName.utf8.prefix(Int(SSL_MAX_SID_CTX_LENGTH)))  // trap-safe: the constant 32 to Int
        _ = SSL_CTX_set_session_id_context(context, idContext, UInt32(idContext.count))  // trap-safe: at most SSL_MAX_SID_CTX_LENGTH (32)

        // Keys of the administrator's, so several servers resume each other's tickets;
        // else OpenSSL's own, made with this context by the master and shared by its children.
        if let keys = config.ticketKeys, config.sessionTickets != false,
           keys.withUnsafeBufferPointer({ skep_SSL_CTX_use_ticket_keys(context, $0.baseAddress) }) != 1 {
            try fail("SSLSessionTicketKeyFile")
        }

        for command in config.openSSLConfCommands {
            guard let conf = SSL_CONF_CTX_new() else { try fail("SSL_CONF_CTX_new") }
            defer { SSL_CONF_CTX_free(conf) }
            _ = SSL_CONF_CTX_set_flags(conf, UInt32(SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_CERTIFICATE | SSL_CONF_FLAG_SHOW_ERRORS))  // trap-safe: positive flag constants
            SSL_CONF_CTX_set_ssl_ctx(conf, context)
            guard SSL_CONF_cmd(conf, command.name, command.value) > 0 else { try fail("SSLOpenSSLConfCmd \(command.name) \(command.value)") }
            guard SSL_CONF_CTX_finish(conf) == 1 else { try fail("SSLOpenSSLConfCmd \(command.name)") }
        }

        // Each certificate file with the key file at the same position (or the key in the
        // certificate file), as Apache pairs them; a chain in the certificate file follows
        // the server's certificate (Apache 2.4.8+).
        for (index, certificate) in config.certificateFiles.enumerated() {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                try fail("SSLCertificateFile \(certificate)")
            }
            let key = index < config.keyFiles.count ? config.keyFiles[index] : certificate
            let privateKey = try (config.passPhraseDialog ?? .builtin).readKey(key, hostID: keyID, index: index)
            defer { EVP_PKEY_free(privateKey) }
            guard SSL_CTX_use_PrivateKey(context, privateKey) == 1 else {
                try fail("SSLCertificateKeyFile \(key)")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                try fail("SSLCertificateKeyFile \(key) does not match SSLCertificateFile \(certificate)")
            }
        }
        if let chain = config.certificateChainFile {
            for certificate in try Self.readCertificates(chain) {
                guard skep_SSL_CTX_add0_chain_cert(context, certificate) == 1 else { try fail("SSLCertificateChainFile \(chain)") }
            }
        }

        if let mode = config.verifyClient, mode != .none {
            var flags = SSL_VERIFY_PEER
            if mode == .require { flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
            let accepts: (@convention(c) (Int32, OpaquePointer?) -> Int32)? = mode == .optionalNoCA ? { _, _ in 1 } : nil
            SSL_CTX_set_verify(context, flags, accepts)
            SSL_CTX_set_verify_depth(context, Int32(config.verifyDepth ?? 1))  // trap-safe: SSLVerifyDepth is bounded when read
            if config.caCertificateFile != nil || config.caCertificatePath != nil {
                guard SSL_CTX_load_verify_locations(context, config.caCertificateFile, config.caCertificatePath) == 1 else {
                    try fail("SSLCACertificateFile")
                }
                if let file = config.caCertificateFile, let names = SSL_load_client_CA_file(file) {
                    SSL_CTX_set_client_CA_list(context, names)
                }
            }
        }

        if let stapling {
            staplingProblems = stapling.add(context, settings: config.stapling.settings, serverName: serverName)
        }

        // ALPN: HTTP/1.1 only, until HTTP/2 lands.
        SSL_CTX_set_alpn_select_cb(context, { _, out, outLength, offered, offeredLength, _ in
            guard let offered, let out, let outLength else { return SSL_TLSEXT_ERR_NOACK }
            var i = 0
            let total = Int(offeredLength)  // trap-safe: UInt32 to Int widens
            while i < total {
                let length = Int(offered[i])  // trap-safe: UInt8 to Int widens
                let start = i + 1
                if start + length > total { break }
                if length == 8, Array(UnsafeBufferPointer(start: offered + start, count: 8)) == Array("http/1.1".utf8) {
                    out.pointee = UnsafePointer(offered + start)
                    outLength.pointee = 8
                    return SSL_TLSEXT_ERR_OK
                }
                i = start + length
            }
            return SSL_TLSEXT_ERR_NOACK
        }, nil)
    }

    /// Every PEM certificate in `path` (a chain file).
    static func readCertificates(_ path: String) throws(TLSError) -> [OpaquePointer] {
        guard let file = fopen(path, "r") else { throw .configuration("\(path): \(SystemError(errno: Errno(rawValue: Glibc.errno), call: "fopen"))") }
        defer { fclose(file) }
        var out: [OpaquePointer] = []
        while let certificate = PEM_read_X509(file, nil, nil, nil) { out.append(certificate) }
        ERR_clear_error()  // the end of the file is reported as an error
        if out.isEmpty { throw .configuration("\(path): no PEM certificate in it") }
        return out
    }

    /// The 48 bytes of an `SSLSessionTicketKeyFile`, or what is wrong with the file.
    static func readTicketKeys(_ path: String) -> Result<[UInt8], TLSError> {
        guard let file = fopen(path, "rb") else { return .failure(.configuration("\(SystemError(errno: Errno(rawValue: Glibc.errno), call: "fopen"))")) }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 49)
        let count = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, 49, file) }
        guard count == 48 else { return .failure(.configuration("it must hold exactly 48 bytes (a key name, an HMAC secret and an AES key), as Apache's")) }
        return .success(Array(bytes.prefix(48)))
    }

    /// Checks that `path` holds what a directive names (a certificate, or a private key),
    /// for `-t`'s `file:line` error.
    static func check(_ path: String, key: Bool) -> String? {
        guard let file = fopen(path, "r") else { return "\(SystemError(errno: Errno(rawValue: Glibc.errno), call: "fopen"))" }
        defer { fclose(file) }
        ERR_clear_error()
        if key {
            // An empty pass phrase, so OpenSSL never prompts; an encrypted key is opened at
            // start, with SSLPassPhraseDialog (as Apache's -t does not ask either).
            guard let pkey = "".withCString({ PEM_read_PrivateKey(file, nil, nil, UnsafeMutableRawPointer(mutating: $0)) }) else {
                if PassPhraseDialog.isEncrypted(path) {
                    ERR_clear_error()
                    return nil
                }
                return "no usable private key in it (\(TLSError.drainErrors()))"
            }
            EVP_PKEY_free(pkey)
        } else {
            guard let certificate = PEM_read_X509(file, nil, nil, nil) else { return "no PEM certificate in it (\(TLSError.drainErrors()))" }
            X509_free(certificate)
        }
        return nil
    }

    /// A server-side session over `socket`, with this context until SNI names another.
    func session(socket: Socket, local: SocketAddress) -> TLSSession? {
        guard let ssl = SSL_new(context) else { return nil }
        guard SSL_set_fd(ssl, socket.descriptor.rawValue) == 1 else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl, context: self, local: local)
    }
}

extension TLSContext {
    /// The SNI callback: switches the session to the named host's context. Installed on
    /// every context, so whichever a connection starts with can switch.
    func installServerNameCallback() {
        _ = skep_SSL_CTX_set_tlsext_servername_callback(context) { ssl, alert, _ in
            guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return SSL_TLSEXT_ERR_NOACK }
            let session = Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue()
            return session.serverNameReceived(alert)
        }
    }
}
