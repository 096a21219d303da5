import Glibc
import Testing
@testable import SkepSystem

@Suite struct EpollTests {
    @Test func seesReadability() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        let epoll = try Epoll()
        defer { epoll.close() }
        #expect(try epoll.descriptor.isCloseOnExec)
        try epoll.add(server.descriptor, events: [.input, .readHangup], data: 42)
        let buffer = EpollEventBuffer(capacity: 8)
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 0) == 0)
        try writeAll(client, [1])
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 10_000) == 1)
        #expect(buffer.count == 1)
        #expect(buffer[0].data == 42)
        #expect(buffer[0].events.contains(.input))
        #expect(!buffer[0].events.contains(.readHangup))

        // Peer close shows up as RDHUP.
        client.close()
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 10_000) == 1)
        #expect(buffer[0].events.contains(.readHangup))
        try epoll.remove(server.descriptor)
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 0) == 0)
    }

    @Test func seesWritabilityAndOneShot() throws {
        let (client, server, listener) = try connectedPair()
        defer { client.close(); server.close(); listener.close() }
        let epoll = try Epoll()
        defer { epoll.close() }
        try epoll.add(server.descriptor, events: [.output, .oneShot], data: 7)
        let buffer = EpollEventBuffer(capacity: 4)
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 10_000) == 1)
        #expect(buffer[0].events.contains(.output))
        #expect(buffer[0].data == 7)
        // One-shot: disarmed until modified.
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 0) == 0)
        try epoll.modify(server.descriptor, events: [.output, .oneShot], data: 8)
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 10_000) == 1)
        #expect(buffer.map(\.data) == [8])
    }

    @Test func listenerWithExclusiveWakeup() throws {
        let listener = try ListeningSocket.listen(on: .loopbackIPv4(port: 0), options: .init(nonBlocking: true))
        defer { listener.close() }
        let epoll = try Epoll()
        defer { epoll.close() }
        try epoll.add(listener.descriptor, events: [.input, .exclusive], data: 1)
        let client = try Socket.connect(to: try listener.localAddress)
        defer { client.close() }
        let buffer = EpollEventBuffer()
        #expect(try epoll.wait(into: buffer, timeoutMilliseconds: 10_000) == 1)
        let accepted = try #require(try listener.accept(nonBlocking: true))
        accepted.socket.close()
        #expect(try listener.accept() == nil)
    }

    @Test func eventFDWakesWaitFromAnotherThread() throws {
        let epoll = try Epoll()
        defer { epoll.close() }
        let wake = try EventFD()
        defer { wake.close() }
        #expect(try wake.drain() == nil)
        try epoll.add(wake.descriptor, events: .input, data: 99)
        let buffer = EpollEventBuffer(capacity: 4)
        let start = SystemClock.monotonicNanoseconds()
        let signaller = TestThread { try? wake.signal() }
        let count = try epoll.wait(into: buffer, timeoutMilliseconds: 10_000)
        signaller.join()
        #expect(count == 1)
        #expect(buffer[0].data == 99)
        #expect(SystemClock.monotonicNanoseconds() - start < 9_000_000_000)
        #expect(try wake.drain() == 1)
        #expect(try wake.drain() == nil)
        try wake.signal(2)
        try wake.signal(3)
        #expect(try wake.drain() == 5)
    }
}
