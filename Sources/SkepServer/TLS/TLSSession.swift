import COpenSSL
import Glibc
import SkepSystem

/// One connection's TLS session (an OpenSSL `SSL` in the server's accept state) on a
/// non-blocking socket. The handshake happens inside the first reads, so every MPM drives
/// it as it drives a request head: a read or write that cannot go on returns
/// `.wouldBlock`, with `wantsWrite` saying which readiness to wait for (OpenSSL's
/// WANT_READ or WANT_WRITE). Used by one thread at a time (the listener, then a worker).
public final class TLSSession {
    let ssl: OpaquePointer
    /// The context the connection started with: its host's, until SNI switches it.
    private(set) var context: TLSContext
    let local: SocketAddress
    /// What the last `.wouldBlock` waits for: room to write (else bytes to read).
    public private(set) var wantsWrite = false
    /// The host name the client sent in its SNI.
    public private(set) var serverName: String?
    /// Set after a client spoke plain HTTP to the TLS port: the 400 goes out unencrypted.
    private var plainText = false

    init(ssl: OpaquePointer, context: TLSContext, local: SocketAddress) {
        self.ssl = ssl
        self.context = context
        self.local = local
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { SSL_free(ssl) }

    /// Called by OpenSSL during the handshake with the client's SNI.
    func serverNameReceived(_ alert: UnsafeMutablePointer<Int32>?) -> Int32 {
        guard let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
            return context.strictSNI ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK
        }
        let name = String(cString: raw)
        serverName = name
        if let chosen = context.serverNameResolver?(name, local), chosen !== context {
            context = chosen
            _ = SSL_set_SSL_CTX(ssl, chosen.context)
            // The session's options (verification) are the chosen host's.
            SSL_set_verify(ssl, SSL_CTX_get_verify_mode(chosen.context), SSL_CTX_get_verify_callback(chosen.context))
        }
        return SSL_TLSEXT_ERR_OK
    }

    /// Decrypted bytes into `buffer`, as many as the records OpenSSL already holds fill
    /// (so none stay inside OpenSSL, where epoll cannot see them, unless `buffer` is full:
    /// then `hasBufferedInput`). `.transferred(0)`: the client closed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> IOResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .transferred(0) }
        if plainText { return try plain { try Socket(descriptor: descriptor).read(into: buffer) } }
        var total = 0
        while total < buffer.count {
            ERR_clear_error()
            let n = SSL_read(ssl, base + total, Int32(clamping: buffer.count - total))
            if n > 0 {
                total += Int(n)  // trap-safe: Int32 to Int widens
                // Nothing more inside OpenSSL: what is still in the socket, epoll reports.
                if SSL_has_pending(ssl) == 0 { return .transferred(total) }
                continue
            }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ:
                wantsWrite = false
                return total > 0 ? .transferred(total) : .wouldBlock
            case SSL_ERROR_WANT_WRITE:
                wantsWrite = true
                return total > 0 ? .transferred(total) : .wouldBlock
            case SSL_ERROR_ZERO_RETURN:
                return .transferred(total)
            case SSL_ERROR_SYSCALL:
                // EOF without close_notify, or a reset: the end of this connection.
                if total > 0 { return .transferred(total) }
                let code = Glibc.errno
                if code == 0 || code == ECONNRESET || code == EPIPE { return .transferred(0) }
                throw .connection(String(describing: SystemError(errno: Errno(rawValue: code), call: "SSL_read")))
            default:
                if total > 0 { return .transferred(total) }
                if ERR_GET_REASON(ERR_peek_error()) == SSL_R_HTTP_REQUEST {
                    ERR_clear_error()
                    throw .plainHTTP
                }
                throw .connection(TLSError.drainErrors())
            }
        }
        return .transferred(total)
    }

    /// Encrypts and sends from `bytes`: the count taken (whole records), or `.wouldBlock`.
    /// After `.wouldBlock` the next call must offer the same bytes (they may be rebuilt).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> IOResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .transferred(0) }
        if plainText { return try plain { try Socket(descriptor: descriptor).write(bytes) } }
        ERR_clear_error()
        let n = SSL_write(ssl, base, Int32(clamping: bytes.count))
        if n > 0 { return .transferred(Int(n)) }  // trap-safe: Int32 to Int widens
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_WRITE:
            wantsWrite = true
            return .wouldBlock
        case SSL_ERROR_WANT_READ:
            wantsWrite = false
            return .wouldBlock
        case SSL_ERROR_SYSCALL:
            throw .connection(String(describing: SystemError(errno: Errno(rawValue: Glibc.errno), call: "SSL_write")))
        default:
            throw .connection(TLSError.drainErrors())
        }
    }

    /// `SSL_SECURE_RENEG`: the client supports secure renegotiation (RFC 5746).
    public var secureRenegotiation: Bool { skep_SSL_get_secure_renegotiation_support(ssl) == 1 }

    /// Bytes OpenSSL holds (decrypted, or read ahead from the socket) that no socket
    /// readiness will announce.
    public var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    /// From now on bytes go to and from the socket as they are (Apache's answer to plain
    /// HTTP on a TLS port).
    func speakPlainText() { plainText = true }

    private var descriptor: Descriptor { Descriptor(rawValue: SSL_get_fd(ssl)) }

    private func plain(_ io: () throws -> IOResult) throws(TLSError) -> IOResult {
        do {
            wantsWrite = false
            return try io()
        } catch {
            throw .connection("\(error)")
        }
    }

    /// Sends close_notify once, without waiting for the client's (Apache's "unclean" shutdown).
    public func shutdown() {
        guard !plainText else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Whether the handshake finished.
    public var isEstablished: Bool { SSL_is_init_finished(ssl) == 1 }

    /// `SSL_PROTOCOL`: TLSv1.2, TLSv1.3...
    public var protocolName: String { String(cString: SSL_get_version(ssl)) }

    /// `SSL_CIPHER`: the OpenSSL name of the negotiated cipher suite.
    public var cipherName: String {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "" }
        return String(cString: name)
    }

    /// `SSL_CIPHER_USEKEYSIZE` and `SSL_CIPHER_ALGKEYSIZE`.
    public var cipherBits: (used: Int, algorithm: Int) {
        guard let cipher = SSL_get_current_cipher(ssl) else { return (0, 0) }
        var algorithm: Int32 = 0
        let used = SSL_CIPHER_get_bits(cipher, &algorithm)
        return (Int(used), Int(algorithm))  // trap-safe: Int32 to Int widens
    }

    /// `SSL_SESSION_RESUMED`: Initial or Resumed.
    public var sessionResumed: Bool { skep_SSL_session_reused(ssl) == 1 }

    /// The certificate this server presented (`SSL_SERVER_*`).
    var serverCertificate: TLSCertificate? { SSL_get_certificate(ssl).map { TLSCertificate($0) } }

    /// The client's certificate (mutual TLS: `SSL_CLIENT_*`), read once.
    private(set) lazy var clientCertificate: TLSCertificate? = SSL_get1_peer_certificate(ssl).map(TLSCertificate.init(adopting:))

    /// Whether the client's certificate verified.
    var clientCertificateVerified: Bool { SSL_get_verify_result(ssl) == X509_V_OK }

    /// The certificates the client sent after its own (`SSL_CLIENT_CERT_CHAIN_n`).
    var clientChain: [TLSCertificate] {
        guard let chain = SSL_get_peer_cert_chain(ssl) else { return [] }
        return (0..<max(0, skep_sk_X509_num(chain))).compactMap { skep_sk_X509_value(chain, $0).map { TLSCertificate($0) } }
    }

    /// `SSL_SESSION_ID`: the session's id in hexadecimal, as Apache prints it.
    var sessionID: String? {
        guard let session = SSL_get_session(ssl) else { return nil }
        var length: UInt32 = 0
        guard let id = SSL_SESSION_get_id(session, &length), length > 0 else { return nil }
        return UnsafeBufferPointer(start: id, count: Int(length)).map { byte in  // trap-safe: UInt32 to Int widens
            let digits = Array("0123456789ABCDEF".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)  // trap-safe: nibbles index 16 digits
        }.joined()
    }
}

