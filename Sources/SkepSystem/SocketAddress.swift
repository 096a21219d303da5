import Glibc

/// An IPv4, IPv6 or Unix-domain socket address, stored in a `sockaddr_storage`.
///
/// Used for `Listen` addresses, accepted peers (`%h` in logs, `REMOTE_ADDR` in CGI) and
/// FastCGI back ends (`unix:/run/php/php-fpm.sock`). Value type, `Sendable`, hashable by
/// its bytes.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address family.
    public enum Family: Sendable, Hashable {
        case inet, inet6, unix
    }

    @usableFromInline var storage: sockaddr_storage
    /// The meaningful length of `storage`, as the kernel wants it.
    public private(set) var length: socklen_t

    /// Wraps what `accept`/`getsockname` returned.
    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Parses a numeric IPv4 (`"1.2.3.4"`) or IPv6 (`"::1"`, `"[::1]"`) address. No name
    /// resolution happens here: Apache resolves `Listen` hosts at start, not per request.
    public init?(ip: String, port: UInt16) {
        var text = Substring(ip)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        var storage = sockaddr_storage()
        let parsedV4: Bool = withUnsafeMutableBytes(of: &storage) { raw in
            let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            return String(text).withCString { inet_pton(AF_INET, $0, &sin.pointee.sin_addr) } == 1
        }
        if parsedV4 {
            withUnsafeMutableBytes(of: &storage) { raw in
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
            return
        }
        let parsedV6: Bool = withUnsafeMutableBytes(of: &storage) { raw in
            let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
            return String(text).withCString { inet_pton(AF_INET6, $0, &sin6.pointee.sin6_addr) } == 1
        }
        guard parsedV6 else { return nil }
        withUnsafeMutableBytes(of: &storage) { raw in
            let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
            sin6.pointee.sin6_family = sa_family_t(AF_INET6)
            sin6.pointee.sin6_port = port.bigEndian
        }
        self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
    }

    /// A Unix-domain socket path (FastCGI back ends). `nil` if the path is too long.
    public init?(unixPath path: String) {
        var storage = sockaddr_storage()
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &storage) { raw in
            let sun = raw.baseAddress!.assumingMemoryBound(to: sockaddr_un.self)
            sun.pointee.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sun.pointee.sun_path) { pathBytes in
                pathBytes.copyBytes(from: bytes)
                pathBytes[bytes.count] = 0
            }
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        self.init(storage: storage, length: socklen_t(offset + bytes.count + 1))
    }

    /// `0.0.0.0:port`: `Listen 80`.
    public static func anyIPv4(port: UInt16) -> SocketAddress { SocketAddress(ip: "0.0.0.0", port: port)! }
    /// `[::]:port`.
    public static func anyIPv6(port: UInt16) -> SocketAddress { SocketAddress(ip: "::", port: port)! }
    /// `127.0.0.1:port`.
    public static func loopbackIPv4(port: UInt16) -> SocketAddress { SocketAddress(ip: "127.0.0.1", port: port)! }
    /// `[::1]:port`.
    public static func loopbackIPv6(port: UInt16) -> SocketAddress { SocketAddress(ip: "::1", port: port)! }

    /// The family, from `ss_family`.
    public var family: Family {
        switch Int32(storage.ss_family) {
        case AF_INET: return .inet
        case AF_INET6: return .inet6
        default: return .unix
        }
    }

    /// The port in host byte order (0 for Unix-domain addresses).
    public var port: UInt16 {
        get {
            withUnsafeBytes(of: storage) { raw in
                switch family {
                case .inet: return UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
                case .inet6: return UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                case .unix: return 0
                }
            }
        }
        set {
            let family = self.family
            withUnsafeMutableBytes(of: &storage) { raw in
                switch family {
                case .inet: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port = newValue.bigEndian
                case .inet6: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port = newValue.bigEndian
                case .unix: break
                }
            }
        }
    }

    /// The textual address without port: `"127.0.0.1"`, `"::1"`, or the Unix path.
    /// This is Apache's `%a`/`%h` (no lookups) and CGI's `REMOTE_ADDR`.
    public var host: String {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case .inet:
                var addr = raw.load(as: sockaddr_in.self).sin_addr
                return Self.ntop(AF_INET, &addr)
            case .inet6:
                var addr = raw.load(as: sockaddr_in6.self).sin6_addr
                return Self.ntop(AF_INET6, &addr)
            case .unix:
                let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
                let end = min(Int(length), raw.count)
                guard end > offset else { return "" }
                let pathBytes = raw[offset..<end].prefix { $0 != 0 }
                return String(decoding: pathBytes, as: UTF8.self)
            }
        }
    }

    private static func ntop(_ family: Int32, _ addr: UnsafeRawPointer) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { buffer in
            guard inet_ntop(family, addr, buffer.baseAddress!, socklen_t(buffer.count)) != nil else { return "" }
            return String(cString: buffer.baseAddress!)
        }
    }

    /// `"127.0.0.1:8080"`, `"[::1]:8080"` or `"unix:/path"`, for logs and `-S` output.
    public var description: String {
        switch family {
        case .inet: return "\(host):\(port)"
        case .inet6: return "[\(host)]:\(port)"
        case .unix: return "unix:\(host)"
        }
    }

    /// 127.0.0.0/8, ::1, and IPv4-mapped 127.x addresses (`Require local` matches these).
    public var isLoopback: Bool {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case .inet:
                let addr = UInt32(bigEndian: raw.load(as: sockaddr_in.self).sin_addr.s_addr)
                return addr >> 24 == 127
            case .inet6:
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_addr)!
                let high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
                if high == 0 && low == 1 { return true }
                // ::ffff:127.x.y.z
                return high == 0 && low >> 32 == 0xffff && (low >> 24) & 0xff == 127
            case .unix:
                return true
            }
        }
    }

    /// Calls `body` with the address as the kernel expects it.
    @inlinable
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        return withUnsafeBytes(of: lhs.storage) { l in
            withUnsafeBytes(of: rhs.storage) { r in
                memcmp(l.baseAddress!, r.baseAddress!, Int(lhs.length)) == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { raw in
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<Int(length)]))
        }
    }

    /// Reads an address the kernel fills in (getsockname, getpeername, accept).
    @usableFromInline
    static func fromKernel(
        _ call: StaticString, _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutableBytes(of: &storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        if result == -1 { throw SystemError(call) }
        return SocketAddress(storage: storage, length: length)
    }
}
