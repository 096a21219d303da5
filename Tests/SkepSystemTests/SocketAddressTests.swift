import Glibc
import Testing
@testable import SkepSystem

@Suite struct SocketAddressTests {
    @Test func parsesIPv4() throws {
        let address = try #require(SocketAddress(ip: "1.2.3.4", port: 8080))
        #expect(address.family == .inet)
        #expect(address.host == "1.2.3.4")
        #expect(address.port == 8080)
        #expect(address.description == "1.2.3.4:8080")
        #expect(!address.isLoopback)
    }

    @Test func parsesIPv6() throws {
        let address = try #require(SocketAddress(ip: "::1", port: 443))
        #expect(address.family == .inet6)
        #expect(address.host == "::1")
        #expect(address.port == 443)
        #expect(address.description == "[::1]:443")
        #expect(address.isLoopback)
        let bracketed = try #require(SocketAddress(ip: "[2001:db8::5]", port: 80))
        #expect(bracketed.host == "2001:db8::5")
        #expect(!bracketed.isLoopback)
    }

    @Test func rejectsNames() {
        #expect(SocketAddress(ip: "localhost", port: 80) == nil)
        #expect(SocketAddress(ip: "1.2.3", port: 80) == nil)
        #expect(SocketAddress(ip: "", port: 80) == nil)
    }

    @Test func loopbackDetection() throws {
        #expect(SocketAddress.loopbackIPv4(port: 1).isLoopback)
        #expect(try #require(SocketAddress(ip: "127.8.9.10", port: 1)).isLoopback)
        #expect(try #require(SocketAddress(ip: "::ffff:127.0.0.1", port: 1)).isLoopback)
        #expect(!SocketAddress.anyIPv4(port: 1).isLoopback)
        #expect(!SocketAddress.anyIPv6(port: 1).isLoopback)
    }

    @Test func equalityAndPortUpdate() throws {
        var a = SocketAddress.loopbackIPv4(port: 80)
        let b = try #require(SocketAddress(ip: "127.0.0.1", port: 80))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        a.port = 81
        #expect(a != b)
        #expect(a.port == 81)
    }

    @Test func unixPath() throws {
        let address = try #require(SocketAddress(unixPath: "/run/php/php-fpm.sock"))
        #expect(address.family == .unix)
        #expect(address.host == "/run/php/php-fpm.sock")
        #expect(address.description == "unix:/run/php/php-fpm.sock")
        #expect(SocketAddress(unixPath: String(repeating: "x", count: 200)) == nil)
    }
}

@Suite struct SocketAddressResolveTests {
    @Test func numericNeedsNoResolver() throws {
        #expect(try SocketAddress.resolve(host: "127.0.0.1", port: 80) == [.loopbackIPv4(port: 80)])
        #expect(try SocketAddress.resolve(host: "::1", port: 81) == [.loopbackIPv6(port: 81)])
    }

    @Test func localhostResolvesToLoopback() throws {
        let addresses = try SocketAddress.resolve(host: "localhost", port: 8080)
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { $0.isLoopback && $0.port == 8080 })
    }

    @Test func unknownNameIsEmpty() throws {
        // Without a reachable DNS server the resolver may fail (EAI_AGAIN) instead: either
        // way no address comes back.
        #expect((try? SocketAddress.resolve(host: "no-such-host.invalid", port: 80))?.isEmpty ?? true)
    }
}
