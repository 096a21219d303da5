import Glibc
import Testing
@testable import SkepSystem

@Suite struct PollTests {
    /// The master's loop shape: poll a signalfd and a pipe with a timeout tick.
    @Test func masterTickShape() throws {
        let previous = try SignalMask.block([.user2, .hangup])
        defer { _ = try? SignalMask.set(previous) }
        let signals = try SignalFD(signals: [.user2, .hangup])
        defer { signals.close() }
        let (readEnd, writeEnd) = try Descriptor.pipe(nonBlocking: true)
        defer { readEnd.close(); writeEnd.close() }

        var entries = [Poll.Entry(signals.descriptor, events: .readable), Poll.Entry(readEnd, events: .readable)]
        let start = SystemClock.monotonicNanoseconds()
        #expect(try Poll.wait(&entries, timeoutMilliseconds: 30) == 0)
        #expect(SystemClock.monotonicNanoseconds() - start >= 25_000_000)

        try Signal.user2.raise()
        try Signal.hangup.raise()
        #expect(try Poll.wait(&entries, timeoutMilliseconds: 10_000) == 1)
        #expect(entries[0].returnedEvents.contains(.readable))
        #expect(entries[1].returnedEvents.isEmpty)
        let received = try signals.readAll().map(\.signal)
        #expect(Set(received) == [.user2, .hangup])

        #expect(try [UInt8](arrayLiteral: 1).withUnsafeBytes { try writeEnd.write($0) } == .transferred(1))
        #expect(try Poll.wait(&entries, timeoutMilliseconds: 10_000) == 1)
        #expect(entries[1].returnedEvents.contains(.readable))
        #expect(try readEnd.bytesReadable == 1)
    }

    /// A timeout too long for nanoseconds (or for poll's Int32) waits as long as it can
    /// instead of trapping: the deadline saturates.
    @Test func hugeTimeoutSaturates() throws {
        let (readEnd, writeEnd) = try Descriptor.pipe(nonBlocking: true)
        defer { readEnd.close(); writeEnd.close() }
        #expect(try [UInt8](arrayLiteral: 1).withUnsafeBytes { try writeEnd.write($0) } == .transferred(1))
        for timeout in [Int.max, Int(Int32.max) * 1000, 20_000_000_000_000] {
            #expect(try Poll.wait(readEnd, for: .readable, timeoutMilliseconds: timeout).contains(.readable))
        }
    }
}
