import COpenSSL
import Glibc
import SkepConfig
import SkepSystem

/// `SSLUseStapling` and the `SSLStapling*` settings of one host, with Apache's defaults.
struct StaplingSettings: Sendable, Equatable {
    var responderTimeout = 10
    var returnResponderErrors = true
    var fakeTryLater = true
    var standardCacheTimeout = 3600
    var errorCacheTimeout = 600
    var responseTimeSkew = 300
    var responseMaxAge = -1
    var forceURL: String?
}

/// OCSP stapling as mod_ssl does it: for each certificate of a host with `SSLUseStapling
/// on`, the responder named in the certificate (or `SSLStaplingForceURL`) is asked for the
/// certificate's status, and the answer is kept and handed to every client that asks for
/// it in its handshake (status_request), so browsers need not ask the CA themselves.
///
/// The answers live in memory every child shares (`SSLStaplingCache`): good ones for
/// `SSLStaplingStandardCacheTimeout`, others for `SSLStaplingErrorCacheTimeout`. Unlike
/// Apache, a handshake never waits for the responder (the event listener runs handshakes
/// and must not block): a handshake that finds the answer missing or due wakes the child's
/// stapling thread, which asks the responder (one child at a time, with
/// `SSLStaplingResponderTimeout`), and staples what is kept meanwhile if it is still valid.
/// A responder that cannot be reached gets Apache's fake `tryLater` answer.
final class OCSPStapling: @unchecked Sendable {
    /// One certificate to staple for.
    struct Entry {
        let leaf: OpaquePointer
        let id: OpaquePointer
        let request: [UInt8]
        let host: String
        let port: String
        let path: String
        let settings: StaplingSettings
        let name: String
    }

    static let slotSize = 16 * 1024
    /// The lock, then the slots from the next 64-byte boundary.
    private static let header = (SharedMutex.size + 63) / 64 * 64
    private static let refreshAfterOffset = 0, validUntilOffset = 8, claimedAtOffset = 16, lengthOffset = 24, okOffset = 28, derOffset = 32
    static let largestResponse = slotSize - derOffset

    private let memory: SharedMemory
    private let mutex: SharedMutex
    private let capacity: Int
    private(set) var entries: [Entry] = []
    /// Set by the server context once its error log is open.
    var errorLog: ErrorLog?

    // The child's stapling thread, started by the first handshake that needs an answer.
    private let local = Mutex()
    private let wake = Condition()
    private var wanted = false
    private var thread: PosixThread?

    /// Room for `capacity` certificates, in memory made before the children fork.
    init(capacity: Int) throws {
        self.capacity = max(1, capacity)
        memory = try SharedMemory.anonymous(size: Self.header + self.capacity * Self.slotSize)
        mutex = SharedMutex.create(at: memory.baseAddress)
    }

    deinit {
        for entry in entries {
            X509_free(entry.leaf)
            OCSP_CERTID_free(entry.id)
        }
        try? memory.unmap()
    }

    /// Prepares stapling for every certificate of `context`; what cannot be stapled is
    /// returned as Apache's log lines (the host still serves, unstapled).
    func add(_ context: OpaquePointer, settings: StaplingSettings, serverName: String) -> [String] {
        var problems: [String] = []
        _ = SSL_CTX_set_ex_data(context, Self.contextIndex, Unmanaged.passUnretained(self).toOpaque())
        _ = skep_SSL_CTX_set_tlsext_status_cb(context) { ssl, _ in
            guard let ssl, let stapling = OCSPStapling.of(ssl) else { return SSL_TLSEXT_ERR_NOACK }
            return stapling.staple(ssl)
        }
        var more = skep_SSL_CTX_select_certificate(context, 1)
        while more == 1 {
            defer { more = skep_SSL_CTX_select_certificate(context, 0) }
            guard let leaf = SSL_CTX_get0_certificate(context) else { continue }
            let subject = Self.subjectName(leaf)
            var chain: OpaquePointer?
            _ = skep_SSL_CTX_get0_chain_certs(context, &chain)
            guard let issuer = skep_find_issuer(chain, leaf) ?? Self.issuerFromStore(context, leaf) else {
                problems.append("AH02217: ssl_stapling_init_cert: can't retrieve issuer certificate! [subject: \(subject)] (\(serverName))")
                continue
            }
            let found = skep_first_ocsp_url(leaf)
            defer { skep_OPENSSL_free(found) }
            guard let url = settings.forceURL ?? found.map({ String(cString: $0) }) else {
                problems.append("AH02218: ssl_stapling_init_cert: no OCSP URI in certificate and no SSLStaplingForceURL set [subject: \(subject)] (\(serverName))")
                continue
            }
            guard let target = Self.parse(url) else {
                problems.append("AH01940: stapling_renew_response: Unsupported uri \(url) (\(serverName))")
                continue
            }
            guard entries.count < capacity, let id = OCSP_cert_to_id(nil, leaf, issuer), let request = Self.request(for: id) else { continue }
            X509_up_ref(leaf)
            entries.append(Entry(leaf: leaf, id: id, request: request, host: target.host, port: target.port, path: target.path,
                                 settings: settings, name: subject))
        }
        return problems
    }

    // MARK: - The handshake's side

    /// The status callback: staples the kept answer for the certificate this handshake
    /// uses, and asks for a new one when it is missing or due.
    private func staple(_ ssl: OpaquePointer) -> Int32 {
        guard let leaf = SSL_get_certificate(ssl),
              let index = entries.firstIndex(where: { X509_cmp($0.leaf, leaf) == 0 }) else { return SSL_TLSEXT_ERR_NOACK }
        let settings = entries[index].settings
        let now = Self.now
        var due = false
        let answer = withSlot(index) { slot -> (UnsafeMutablePointer<UInt8>, Int)? in
            let refreshAfter = slot.load(fromByteOffset: Self.refreshAfterOffset, as: UInt64.self)
            let validUntil = slot.load(fromByteOffset: Self.validUntilOffset, as: UInt64.self)
            let length = Int(slot.load(fromByteOffset: Self.lengthOffset, as: UInt32.self))  // trap-safe: UInt32 to Int widens
            let ok = slot.load(fromByteOffset: Self.okOffset, as: UInt8.self) == 1
            due = refreshAfter <= now
            // A good answer serves until it expires, even while a new one is fetched.
            let usable = length > 0 && length <= Self.largestResponse && (ok ? validUntil > now : !due && settings.returnResponderErrors)
            guard usable, let copy = skep_OPENSSL_malloc(length)?.assumingMemoryBound(to: UInt8.self) else { return nil }
            copy.update(from: (slot + Self.derOffset).assumingMemoryBound(to: UInt8.self), count: length)
            return (copy, length)
        }
        if due { requestRefresh() }
        guard let (bytes, length) = answer else { return SSL_TLSEXT_ERR_NOACK }
        _ = skep_SSL_set_tlsext_status_ocsp_resp(ssl, bytes, length)  // OpenSSL frees the copy
        return SSL_TLSEXT_ERR_OK
    }

    private func requestRefresh() {
        local.withLock {
            wanted = true
            if thread == nil {
                thread = try? PosixThread.spawn(name: "skep-ocsp") { [self] in fetchLoop() }
            }
        }
        wake.signal()
    }

    // MARK: - The stapling thread

    private func fetchLoop() {
        while true {
            local.lock()
            while !wanted { wake.wait(local) }
            wanted = false
            local.unlock()
            for index in entries.indices where claim(index) {
                refresh(index)
            }
        }
    }

    /// Takes the fetch of a due answer for this child, unless another child is at it.
    private func claim(_ index: Int) -> Bool {
        let now = Self.now
        let patience = UInt64(entries[index].settings.responderTimeout + 2)  // trap-safe: a bounded directive value
        return withSlot(index) { slot in
            guard slot.load(fromByteOffset: Self.refreshAfterOffset, as: UInt64.self) <= now,
                  slot.load(fromByteOffset: Self.claimedAtOffset, as: UInt64.self) + patience <= now else { return false }
            slot.storeBytes(of: now, toByteOffset: Self.claimedAtOffset, as: UInt64.self)
            return true
        }
    }

    private func refresh(_ index: Int) {
        let entry = entries[index]
        let settings = entry.settings
        let now = Self.now
        guard let der = query(entry), let response = Self.decode(der) else {
            log(.error, "AH01941: stapling_renew_response: responder error (\(entry.host):\(entry.port)) [subject: \(entry.name)]")
            let fake = settings.fakeTryLater ? Self.fakeTryLater : []
            store(index, fake, ok: false, refreshAfter: now + UInt64(settings.errorCacheTimeout), validUntil: 0)  // trap-safe: bounded directive value
            return
        }
        defer { OCSP_RESPONSE_free(response) }
        let (ok, validUntil) = check(response, entry)
        if !ok { log(.error, "AH01943: stapling_renew_response: error in retrieved response! [subject: \(entry.name)]") }
        let keep = UInt64(ok ? settings.standardCacheTimeout : settings.errorCacheTimeout)  // trap-safe: bounded directive values
        store(index, der, ok: ok, refreshAfter: now + keep, validUntil: validUntil)
    }

    /// Apache's `stapling_check_response`: whether the answer is a valid one for this
    /// certificate (a revoked status is valid, and stapled, but logged), and until when.
    private func check(_ response: OpaquePointer, _ entry: Entry) -> (Bool, UInt64) {
        let status = OCSP_response_status(response)
        guard status == OCSP_RESPONSE_STATUS_SUCCESSFUL else {
            log(.debug, "AH01944: stapling_renew_response: responder error \(String(cString: OCSP_response_status_str(Int(status))))")  // trap-safe: Int32 to Int widens
            return (false, 0)
        }
        guard let basic = OCSP_response_get1_basic(response) else {
            log(.error, "AH01934: stapling_check_response: Error Parsing Response!")
            return (false, 0)
        }
        defer { OCSP_BASICRESP_free(basic) }
        var certificateStatus: Int32 = 0, reason: Int32 = 0
        var revoked: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?, thisUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?, nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
        guard OCSP_resp_find_status(basic, entry.id, &certificateStatus, &reason, &revoked, &thisUpdate, &nextUpdate) == 1 else {
            log(.error, "AH01935: stapling_check_response: certificate ID not present in response!")
            return (false, 0)
        }
        guard OCSP_check_validity(thisUpdate, nextUpdate, entry.settings.responseTimeSkew, entry.settings.responseMaxAge) == 1 else {
            log(.error, "AH01936: stapling_check_response: response times invalid")
            return (false, 0)
        }
        if certificateStatus != V_OCSP_CERTSTATUS_GOOD {
            let why = reason == OCSP_REVOKED_STATUS_NOSTATUS ? "n/a" : String(cString: OCSP_crl_reason_str(Int(reason)))  // trap-safe: Int32 to Int widens
            log(.error, "AH02969: stapling_check_response: response has certificate status \(String(cString: OCSP_cert_status_str(Int(certificateStatus)))) (reason: \(why)) [subject: \(entry.name)]")  // trap-safe: Int32 to Int widens
        }
        var until = Self.now + UInt64(entry.settings.standardCacheTimeout)  // trap-safe: bounded directive value
        if let nextUpdate {
            var moment = tm()
            if ASN1_TIME_to_tm(nextUpdate, &moment) == 1 { until = UInt64(max(0, timegm(&moment))) }  // trap-safe: clamped to >= 0
        }
        return (true, until)
    }

    /// One POST of the request to the responder, with the responder timeout, through
    /// OpenSSL's HTTP client; the answer's bytes, or nil.
    private func query(_ entry: Entry) -> [UInt8]? {
        guard let body = entry.request.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else { return nil }  // trap-safe: a request is a few hundred bytes
        defer { BIO_free(body) }
        // No proxy: an empty proxy name keeps OpenSSL from reading http_proxy.
        guard let answer = OSSL_HTTP_transfer(nil, entry.host, entry.port, entry.path, 0, "", nil, nil, nil, nil, nil, 0, nil,
                                              "application/ocsp-request", body, "application/ocsp-response", 1,
                                              Self.largestResponse, Int32(entry.settings.responderTimeout), 0) else {  // trap-safe: bounded directive value
            ERR_clear_error()
            return nil
        }
        defer { BIO_free(answer) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(answer, $0.baseAddress, Int32($0.count)) }  // trap-safe: 4096
            if n <= 0 { break }
            bytes.append(contentsOf: chunk.prefix(Int(n)))  // trap-safe: positive Int32 to Int
            if bytes.count > Self.largestResponse { return nil }
        }
        return bytes.isEmpty ? nil : bytes
    }

    private func store(_ index: Int, _ der: [UInt8], ok: Bool, refreshAfter: UInt64, validUntil: UInt64) {
        guard der.count <= Self.largestResponse else { return }
        withSlot(index) { slot in
            slot.storeBytes(of: refreshAfter, toByteOffset: Self.refreshAfterOffset, as: UInt64.self)
            slot.storeBytes(of: validUntil, toByteOffset: Self.validUntilOffset, as: UInt64.self)
            slot.storeBytes(of: 0, toByteOffset: Self.claimedAtOffset, as: UInt64.self)
            slot.storeBytes(of: UInt32(der.count), toByteOffset: Self.lengthOffset, as: UInt32.self)  // trap-safe: at most largestResponse
            slot.storeBytes(of: ok ? 1 : 0, toByteOffset: Self.okOffset, as: UInt8.self)
            der.withUnsafeBytes { (slot + Self.derOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }  // trap-safe: an array's base address (a dummy one when empty, with count 0)
        }
    }

    // MARK: - Helpers

    private func withSlot<T>(_ index: Int, _ body: (UnsafeMutableRawPointer) -> T) -> T {
        if mutex.lock() {
            // A child died inside: every kept answer may be half-written, so none is kept.
            memset(memory.baseAddress + Self.header, 0, memory.size - Self.header)
        }
        defer { mutex.unlock() }
        return body(memory.baseAddress + Self.header + index * Self.slotSize)
    }

    private func log(_ level: LogLevel, _ message: String) {
        errorLog?.log(level, module: "ssl", message)
    }

    static var now: UInt64 { UInt64(max(0, time(nil))) }  // trap-safe: clamped to >= 0

    /// Apache's answer when the responder cannot be reached: an OCSPResponse whose status
    /// is tryLater (3) and which has no body.
    static let fakeTryLater: [UInt8] = [0x30, 0x03, 0x0A, 0x01, 0x03]

    static let contextIndex = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nil, nil, nil, nil)

    private static func of(_ ssl: OpaquePointer) -> OCSPStapling? {
        guard let context = SSL_get_SSL_CTX(ssl), let raw = SSL_CTX_get_ex_data(context, contextIndex) else { return nil }
        return Unmanaged<OCSPStapling>.fromOpaque(raw).takeUnretainedValue()
    }

    private static func decode(_ der: [UInt8]) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_OCSP_RESPONSE(nil, &cursor, buffer.count)
        }
    }

    /// The DER of an OCSP request for the certificate `id` (a copy of it goes in).
    private static func request(for id: OpaquePointer) -> [UInt8]? {
        guard let request = OCSP_REQUEST_new() else { return nil }
        defer { OCSP_REQUEST_free(request) }
        guard let copy = OCSP_CERTID_dup(id), OCSP_request_add0_id(request, copy) != nil else { return nil }
        let length = i2d_OCSP_REQUEST(request, nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(length))  // trap-safe: positive Int32 to Int
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_OCSP_REQUEST(request, &cursor)
        }
        return written == length ? out : nil
    }

    /// The issuer from the context's trust store (`SSLCACertificateFile`), as Apache looks.
    private static func issuerFromStore(_ context: OpaquePointer, _ leaf: OpaquePointer) -> OpaquePointer? {
        guard let store = SSL_CTX_get_cert_store(context), let search = X509_STORE_CTX_new() else { return nil }
        defer { X509_STORE_CTX_free(search) }
        guard X509_STORE_CTX_init(search, store, nil, nil) == 1 else { return nil }
        var issuer: OpaquePointer?
        guard X509_STORE_CTX_get1_issuer(&issuer, search, leaf) == 1, let issuer else { return nil }
        X509_free(issuer)  // the store keeps its own reference for as long as the context
        return issuer
    }

    private static func subjectName(_ certificate: OpaquePointer) -> String {
        guard let name = X509_get_subject_name(certificate), let text = X509_NAME_oneline(name, nil, 0) else { return "?" }
        defer { skep_OPENSSL_free(text) }
        return String(cString: text)
    }

    /// An `http://` responder URL's host, port and path (Apache staples from HTTP responders only).
    static func parse(_ url: String) -> (host: String, port: String, path: String)? {
        var useTLS: Int32 = 0
        var host: UnsafeMutablePointer<CChar>?, port: UnsafeMutablePointer<CChar>?, path: UnsafeMutablePointer<CChar>?
        guard OSSL_HTTP_parse_url(url, &useTLS, nil, &host, &port, nil, &path, nil, nil) == 1 else {
            ERR_clear_error()
            return nil
        }
        defer {
            skep_OPENSSL_free(host)
            skep_OPENSSL_free(port)
            skep_OPENSSL_free(path)
        }
        guard useTLS == 0, let host, let port, let path else { return nil }
        return (String(cString: host), String(cString: port), String(cString: path))
    }
}
