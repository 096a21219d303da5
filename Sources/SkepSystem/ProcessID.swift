import Glibc

/// A process id as a small `Sendable` value (scoreboard slots, PidFile, kill targets).
public struct ProcessID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: pid_t
    @inlinable public init(rawValue: pid_t) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: pid_t) { self.rawValue = rawValue }

    public var description: String { String(rawValue) }

    @inlinable public static func < (lhs: ProcessID, rhs: ProcessID) -> Bool { lhs.rawValue < rhs.rawValue }
}
