import COpenSSL
import Glibc
import SkepSystem

/// `SSLSessionCache shmcb:PATH(SIZE)`: TLS sessions kept in memory every child shares, so
/// a client resumes its session (a TLS 1.2 session id, or a TLS 1.3 stateful ticket when
/// `SSLSessionTickets off`) in whichever child its next connection reaches, as Apache's
/// mod_socache_shmcb gives. Made by the master before it forks; OpenSSL's own per-process
/// cache is then off, so every child sees the same sessions.
///
/// The mapping holds a robust process-shared lock and a table of fixed-size slots; a
/// session id hashes to a run of `probe` slots, where an entry of the same id, an empty
/// or expired slot, or else the one closest to expiry takes it. A session whose DER form
/// does not fit a slot (a large client certificate) is not kept: its client makes a full
/// handshake next time. The file name in the directive is not used (the mapping is
/// anonymous, shared by inheritance), as Apache's shmcb on Linux needs none either.
final class TLSSessionCache: @unchecked Sendable {
    /// Apache's default size for `shmcb:` without one, and its bounds.
    static let defaultSize = 1_536_000
    static let sizes = 8192...(64 * 1024 * 1024)
    static let slotSize = 1024
    static let probe = 8
    /// The lock, then the slots from the next 64-byte boundary.
    private static let header = (SharedMutex.size + 63) / 64 * 64
    private static let idOffset = 9, derLengthOffset = 42, derOffset = 48
    static let largestSession = slotSize - derOffset

    private let memory: SharedMemory
    private let mutex: SharedMutex
    let slotCount: Int

    init(size: Int) throws {
        memory = try SharedMemory.anonymous(size: size)
        mutex = SharedMutex.create(at: memory.baseAddress)
        slotCount = max(Self.probe, (memory.size - Self.header) / Self.slotSize)
    }

    deinit { try? memory.unmap() }

    /// `shmcb:PATH(SIZE)`'s size in bytes (the default without one), or what is wrong.
    static func size(of argument: String) -> Result<Int, TLSError> {
        guard let open = argument.firstIndex(of: "(") else { return .success(defaultSize) }
        guard argument.hasSuffix(")"), let size = Int(argument[argument.index(after: open)..<argument.index(before: argument.endIndex)]) else {
            return .failure(.configuration("Invalid argument: no size given in '\(argument)'"))
        }
        guard sizes.contains(size) else { return .failure(.configuration("Invalid argument: size has to be >= 8192 bytes and < 64 MB")) }
        return .success(size)
    }

    private func slot(_ index: Int) -> UnsafeMutableRawPointer {
        memory.baseAddress + Self.header + index * Self.slotSize
    }

    private func home(of id: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }  // trap-safe: UInt8 to UInt64 widens; &* wraps
        return Int(hash % UInt64(slotCount))  // trap-safe: slotCount >= probe > 0, so the remainder fits an Int
    }

    private func matches(_ slot: UnsafeMutableRawPointer, _ id: UnsafeRawBufferPointer) -> Bool {
        let length = Int(slot.load(fromByteOffset: 8, as: UInt8.self))  // trap-safe: UInt8 to Int widens
        guard length == id.count, let bytes = id.baseAddress else { return false }
        return memcmp(slot + Self.idOffset, bytes, id.count) == 0
    }

    private func withLock<T>(_ body: () -> T) -> T {
        if mutex.lock() {
            // A child died inside: the table may be half-written, so it starts empty.
            memset(memory.baseAddress + Self.header, 0, memory.size - Self.header)
        }
        defer { mutex.unlock() }
        return body()
    }

    /// Keeps `der` under `id` until `expiry` (seconds since the epoch).
    func store(id: UnsafeRawBufferPointer, der: UnsafeRawBufferPointer, expiry: UInt64) {
        guard id.count > 0, id.count <= 32, der.count <= Self.largestSession else { return }
        let now = UInt64(max(0, time(nil)))  // trap-safe: clamped to >= 0
        withLock {
            let start = home(of: id)
            var chosen = slot(start)
            var chosenExpiry = UInt64.max
            for step in 0..<Self.probe {
                let candidate = slot((start + step) % slotCount)
                let expires = candidate.load(as: UInt64.self)
                if expires != 0 && matches(candidate, id) {
                    chosen = candidate
                    break
                }
                let rank = expires <= now ? 0 : expires
                if rank < chosenExpiry {
                    chosen = candidate
                    chosenExpiry = rank
                }
            }
            chosen.storeBytes(of: expiry, as: UInt64.self)
            chosen.storeBytes(of: UInt8(id.count), toByteOffset: 8, as: UInt8.self)  // trap-safe: id.count <= 32, checked above
            (chosen + Self.idOffset).copyMemory(from: id.baseAddress!, byteCount: id.count)  // trap-safe: id.count > 0, checked above
            chosen.storeBytes(of: UInt16(der.count), toByteOffset: Self.derLengthOffset, as: UInt16.self)  // trap-safe: der.count <= largestSession < 65536
            if der.count > 0 { (chosen + Self.derOffset).copyMemory(from: der.baseAddress!, byteCount: der.count) }  // trap-safe: count > 0
        }
    }

    /// The session kept under `id`, decoded; nil when there is none or it expired.
    func session(id: UnsafeRawBufferPointer) -> OpaquePointer? {
        let now = UInt64(max(0, time(nil)))  // trap-safe: clamped to >= 0
        return withLock { () -> OpaquePointer? in
            let start = home(of: id)
            for step in 0..<Self.probe {
                let candidate = slot((start + step) % slotCount)
                let expires = candidate.load(as: UInt64.self)
                guard expires > now, matches(candidate, id) else { continue }
                let length = Int(candidate.load(fromByteOffset: Self.derLengthOffset, as: UInt16.self))  // trap-safe: UInt16 to Int widens
                var cursor: UnsafePointer<UInt8>? = UnsafePointer((candidate + Self.derOffset).assumingMemoryBound(to: UInt8.self))
                return d2i_SSL_SESSION(nil, &cursor, length)
            }
            return nil
        }
    }

    /// Forgets the session kept under `id`.
    func remove(id: UnsafeRawBufferPointer) {
        withLock {
            let start = home(of: id)
            for step in 0..<Self.probe {
                let candidate = slot((start + step) % slotCount)
                if matches(candidate, id) { candidate.storeBytes(of: 0, as: UInt64.self) }
            }
        }
    }
}

extension TLSSessionCache {
    /// The `SSL_CTX` ex_data slot where a context finds the cache from OpenSSL's callbacks.
    static let contextIndex = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nil, nil, nil, nil)

    static func of(_ ssl: OpaquePointer?) -> TLSSessionCache? {
        guard let ssl, let context = SSL_get_SSL_CTX(ssl), let raw = SSL_CTX_get_ex_data(context, contextIndex) else { return nil }
        return Unmanaged<TLSSessionCache>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Makes `context` keep its sessions here and only here (the context's owner keeps
    /// the cache alive as long as the context).
    func install(on context: OpaquePointer) {
        _ = SSL_CTX_set_ex_data(context, Self.contextIndex, Unmanaged.passUnretained(self).toOpaque())
        _ = skep_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL))  // trap-safe: small UInt32 constants to Int widen
        SSL_CTX_sess_set_new_cb(context) { ssl, session in
            guard let cache = TLSSessionCache.of(ssl), let session else { return 0 }
            var idLength: UInt32 = 0
            guard let id = SSL_SESSION_get_id(session, &idLength) else { return 0 }
            let length = i2d_SSL_SESSION(session, nil)
            guard length > 0, Int(length) <= TLSSessionCache.largestSession else { return 0 }  // trap-safe: Int32 to Int widens
            withUnsafeTemporaryAllocation(byteCount: Int(length), alignment: 1) { buffer in  // trap-safe: Int32 to Int widens
                var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)  // trap-safe: length > 0, checked above
                guard i2d_SSL_SESSION(session, &cursor) == length else { return }
                let expiry = UInt64(max(0, SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session)))  // trap-safe: clamped to >= 0
                cache.store(id: UnsafeRawBufferPointer(start: id, count: Int(idLength)), der: UnsafeRawBufferPointer(buffer), expiry: expiry)  // trap-safe: UInt32 to Int widens
            }
            return 0  // OpenSSL keeps its reference: the cache holds a copy
        }
        SSL_CTX_sess_set_get_cb(context) { ssl, id, length, copy in
            copy?.pointee = 0
            guard let cache = TLSSessionCache.of(ssl), let id, length > 0 else { return nil }
            return cache.session(id: UnsafeRawBufferPointer(start: id, count: Int(length)))  // trap-safe: positive Int32 to Int
        }
        SSL_CTX_sess_set_remove_cb(context) { context, session in
            guard let context, let session, let raw = SSL_CTX_get_ex_data(context, TLSSessionCache.contextIndex) else { return }
            var idLength: UInt32 = 0
            guard let id = SSL_SESSION_get_id(session, &idLength) else { return }
            Unmanaged<TLSSessionCache>.fromOpaque(raw).takeUnretainedValue().remove(id: UnsafeRawBufferPointer(start: id, count: Int(idLength)))  // trap-safe: UInt32 to Int widens
        }
    }
}
