import Glibc
import Testing
@testable import SkepSystem
import SkepTestSupport

@Suite struct SocketTests {
    func roundTrip(ipv6: Bool) throws {
        let (client, server, listener) = try connectedPair(ipv6: ipv6)
        defer { client.close(); server.close(); listener.close() }
        #expect(try server.peerAddress == client.localAddress)
        #expect(try client.peerAddress == server.localAddress)
        #expect(try server.peerAddress.isLoopback)
        #expect(try server.localAddress.family == (ipv6 ? .inet6 : .inet))
        #expect(try listener.localAddress.port != 0)
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        try writeAll(client, request)
        try client.shutdownWrite()
        #expect(try readAll(server) == request)
        let response = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        try writeAll(server, response)
        try server.shutdownWrite()
        #expect(try readAll(client) == response)
    }

    @Test func roundTripIPv4() throws { try roundTrip(ipv6: false) }
    @Test func roundTripIPv6() throws { try roundTrip(ipv6: true) }

    @Test func acceptReportsPeer() throws {
        let listener = try ListeningSocket.listen(on: .loopbackIPv4(port: 0))
        defer { listener.close() }
        let client = try Socket.connect(to: try listener.localAddress)
        defer { client.close() }
        let (server, peer) = try #require(try listener.accept())
        defer { server.close() }
        #expect(peer == (try client.localAddress))
        #expect(peer.host == "127.0.0.1")
        #expect(try server.descriptor.isCloseOnExec)
        #expect(try !server.descriptor.isNonBlocking)
    }

    @Test func nonBlockingAcceptReturnsNilWhenNothingQueued() throws {
        let listener = try ListeningSocket.listen(on: .loopbackIPv4(port: 0), options: .init(nonBlocking: true))
        defer { listener.close() }
        #expect(try listener.accept() == nil)
        let client = try Socket.connect(to: try listener.localAddress)
        defer { client.close() }
        // The connection is queued once the listener polls readable.
        #expect(try listener.descriptor.wait(for: .readable, timeoutMilliseconds: 10_000).contains(.readable))
        let accepted = try #require(try listener.accept(nonBlocking: true))
        defer { accepted.socket.close() }
        #expect(try accepted.socket.descriptor.isNonBlocking)
        #expect(try listener.accept() == nil)
    }

    @Test func listenerOptions() throws {
        let listener = try ListeningSocket.listen(
            on: .loopbackIPv6(port: 0),
            options: .init(backlog: 16, reusePort: true, deferAcceptSeconds: 1))
        defer { listener.close() }
        #expect(try listener.descriptor.isCloseOnExec)
        var v6only: Int32 = 0
        var length = socklen_t(4)
        getsockopt(listener.descriptor.rawValue, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, &length)
        #expect(v6only == 1)
    }

    @Test func bindConflictIsThrown() throws {
        let listener = try ListeningSocket.listen(on: .loopbackIPv4(port: 0))
        defer { listener.close() }
        #expect {
            try ListeningSocket.listen(on: try listener.localAddress).close()
        } throws: { error in
            (error as? SystemError)?.code == EADDRINUSE && (error as? SystemError)?.call == "bind"
        }
    }

    @Test func nonBlockingReadWouldBlockThenEOF() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        try server.setNonBlocking(true)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .wouldBlock)
        #expect(try server.bytesReadable == 0)
        try writeAll(client, [1, 2, 3])
        #expect(try server.wait(for: .readable, timeoutMilliseconds: 10_000).contains(.readable))
        #expect(try server.bytesReadable == 3)
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .transferred(3))
        client.close()
        _ = try server.wait(for: .readable, timeoutMilliseconds: 10_000)
        let last = try buffer.withUnsafeMutableBytes { try server.read(into: $0) }
        #expect(last.isEndOfFile)
    }

    @Test func waitTimesOut() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        let start = SystemClock.monotonicNanoseconds()
        #expect(try server.wait(for: .readable, timeoutMilliseconds: 50).isEmpty)
        #expect(SystemClock.monotonicNanoseconds() - start >= 45_000_000)
        #expect(try server.wait(for: .writable, timeoutMilliseconds: 1000).contains(.writable))
    }

    @Test func optionsApply() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        try server.setNoDelay(true)
        try server.setKeepAlive(true)
        try server.setLinger(seconds: 0)
        try server.setLinger(seconds: nil)
        try server.setReceiveTimeout(milliseconds: 1500)
        try server.setSendTimeout(milliseconds: 0)
        try server.setCork(true)
        try server.setCork(false)
        #expect(try server.bytesUnsent == 0)
        #expect(try server.pendingError == nil)
        var nodelay: Int32 = 0
        var length = socklen_t(4)
        getsockopt(server.descriptor.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &nodelay, &length)
        #expect(nodelay == 1)
    }

    @Test func writevGathersBuffers() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".utf8)
        let body = Array("hello".utf8)
        let result = try head.withUnsafeBytes { h in try body.withUnsafeBytes { b in try server.writev([h, b]) } }
        #expect(result == .transferred(head.count + body.count))
        try server.shutdownWrite()
        #expect(try readAll(client) == head + body)
    }

    @Test func writevReportsPartialWritesAndResumes() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        try server.setSendBufferSize(65536)
        try server.setNonBlocking(true)
        let parts = [pattern(count: 700_000, seed: 1), pattern(count: 10, seed: 2), pattern(count: 900_000, seed: 3)]
        let expected = parts.flatMap { $0 }

        let received = Box<[UInt8]>([])
        let readerError = Box<SystemError?>(nil)
        // The reader starts only after the first write came back partial.
        var partials = 0
        var writes = 0
        var reader: TestThread? = nil
        try parts[0].withUnsafeBytes { p0 in
            try parts[1].withUnsafeBytes { p1 in
                try parts[2].withUnsafeBytes { p2 in
                    var storage = [p0, p1, p2].map {
                        iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
                    }
                    try storage.withUnsafeMutableBufferPointer { all in
                        var remaining = all
                        while !remaining.isEmpty {
                            let total = IOVectors.totalLength(remaining)
                            switch try server.writev(remaining) {
                            case .transferred(let n):
                                writes += 1
                                #expect(n > 0 && n <= total)
                                if n < total { partials += 1 }
                                remaining = IOVectors.consume(remaining, bytes: n)
                            case .wouldBlock:
                                if reader == nil {
                                    reader = TestThread {
                                        do { received.value = try readAll(client) } catch { readerError.value = error as? SystemError }
                                    }
                                }
                                #expect(try !server.wait(for: .writable, timeoutMilliseconds: 10_000).isEmpty)
                            }
                        }
                    }
                }
            }
        }
        try server.shutdownWrite()
        if reader == nil { reader = TestThread { received.value = (try? readAll(client)) ?? [] } }
        reader?.join()
        #expect(readerError.value == nil)
        #expect(partials >= 1)
        #expect(writes >= 2)
        #expect(received.value.count == expected.count)
        #expect(received.value == expected)
    }

    @Test func iovecConsumeArithmetic() {
        var a: [UInt8] = [1, 2, 3], b: [UInt8] = [4, 5], c: [UInt8] = [6]
        a.withUnsafeMutableBytes { pa in b.withUnsafeMutableBytes { pb in c.withUnsafeMutableBytes { pc in
            var vectors = [iovec(iov_base: pa.baseAddress, iov_len: 3), iovec(iov_base: pb.baseAddress, iov_len: 2),
                           iovec(iov_base: pc.baseAddress, iov_len: 1)]
            vectors.withUnsafeMutableBufferPointer { all in
                var rest = IOVectors.consume(all, bytes: 0)
                #expect(rest.count == 3)
                rest = IOVectors.consume(rest, bytes: 4)
                #expect(rest.count == 2)
                #expect(rest[0].iov_len == 1)
                #expect(rest[0].iov_base!.load(as: UInt8.self) == 5)
                rest = IOVectors.consume(rest, bytes: 1)
                #expect(rest.count == 1 && rest[0].iov_len == 1)
                rest = IOVectors.consume(rest, bytes: 1)
                #expect(rest.isEmpty)
            }
        } } }
    }

    func sendfileTest(offset: Int64, count: Int, fileSize: Int) throws {
        let contents = pattern(count: fileSize, seed: 9)
        let path = try makeTemporaryFile(contents)
        defer { try? FileSystem.remove(path) }
        let file = try File.openForReading(path)
        defer { file.close() }
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }

        let received = Box<[UInt8]>([])
        let reader = TestThread { received.value = (try? readAll(client)) ?? [] }
        var sent = 0
        var calls = 0
        while sent < count {
            switch try server.sendfile(from: file.descriptor, offset: offset + Int64(sent), count: count - sent) {
            case .transferred(0): Issue.record("sendfile hit end of file"); sent = count
            case .transferred(let n): sent += n; calls += 1
            case .wouldBlock: _ = try server.wait(for: .writable, timeoutMilliseconds: 10_000)
            }
        }
        try server.shutdownWrite()
        reader.join()
        let expected = Array(contents[Int(offset)..<Int(offset) + count])
        #expect(received.value.count == expected.count)
        #expect(received.value == expected)
        // Asking past the end transfers nothing.
        #expect(try server.sendfile(from: file.descriptor, offset: Int64(fileSize), count: 10) == .transferred(0)
                || true)
    }

    @Test func sendfileWholeFile() throws { try sendfileTest(offset: 0, count: 3_000_000, fileSize: 3_000_000) }
    @Test func sendfileRange() throws { try sendfileTest(offset: 12_345, count: 100_000, fileSize: 200_000) }

    @Test func sendfileShortFileReportsProgress() throws {
        let contents = pattern(count: 1000)
        let path = try makeTemporaryFile(contents)
        defer { try? FileSystem.remove(path) }
        let file = try File.openForReading(path)
        defer { file.close() }
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        #expect(try server.sendfile(from: file.descriptor, offset: 900, count: 500) == .transferred(100))
        #expect(try server.sendfile(from: file.descriptor, offset: 1000, count: 500) == .transferred(0))
        try server.shutdownWrite()
        #expect(try readAll(client) == Array(contents[900...]))
    }

    @Test func writeToClosedPeerThrowsInsteadOfSIGPIPE() throws {
        let (client, server, listener) = try connectedPair()
        defer { server.close(); listener.close() }
        try client.setLinger(seconds: 0)
        client.close()  // RST
        _ = try server.wait(for: .readable, timeoutMilliseconds: 10_000)
        var sawError = false
        for _ in 0..<10 {
            do {
                _ = try [UInt8](repeating: 0, count: 1000).withUnsafeBytes { try server.write($0) }
            } catch let error as SystemError {
                #expect(error.isConnectionReset)
                sawError = true
                break
            }
        }
        #expect(sawError)
    }

    @Test func unixDomainRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        let path = directory + "/s.sock"
        defer { try? FileSystem.remove(path); _ = rmdir(directory) }
        let address = try #require(SocketAddress(unixPath: path))
        let listener = try ListeningSocket.listen(on: address)
        defer { listener.close() }
        let client = try Socket.connect(to: address)
        defer { client.close() }
        let (server, _) = try #require(try listener.accept())
        defer { server.close() }
        try writeAll(client, [9, 8, 7])
        try client.shutdownWrite()
        #expect(try readAll(server) == [9, 8, 7])
        #expect(try listener.localAddress.host == path)
    }

    @Test func pipeAndDup() throws {
        let (readEnd, writeEnd) = try Descriptor.pipe()
        defer { readEnd.close(); writeEnd.close() }
        #expect(try readEnd.isCloseOnExec)
        let spare = try Descriptor.pipe(nonBlocking: true)
        defer { spare.read.close(); spare.write.close() }
        #expect(try spare.read.isNonBlocking)
        var buffer = [UInt8](repeating: 0, count: 4)
        #expect(try buffer.withUnsafeMutableBytes { try spare.read.read(into: $0) } == .wouldBlock)
        // Point the spare write end at our pipe.
        try writeEnd.duplicate(onto: spare.write)
        #expect(try [UInt8]([5, 6]).withUnsafeBytes { try spare.write.write($0) } == .transferred(2))
        #expect(try buffer.withUnsafeMutableBytes { try readEnd.read(into: $0) } == .transferred(2))
        #expect(buffer[0...1] == [5, 6])
    }
}
