/// What a worker slot is doing, with Apache's scoreboard characters (scoreboard.h's
/// `SERVER_*` states as mod_status prints them). The raw value is the character itself,
/// so a snapshot's status line is the raw values in slot order.
public enum WorkerStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// `.` Open slot with no current process (Apache's `SERVER_DEAD`).
    case dead = 0x2E
    /// `S` Starting up.
    case starting = 0x53
    /// `_` Waiting for connection (`SERVER_READY`).
    case ready = 0x5F
    /// `R` Reading request.
    case reading = 0x52
    /// `W` Sending reply.
    case writing = 0x57
    /// `K` Keepalive (read).
    case keepAlive = 0x4B
    /// `L` Logging.
    case logging = 0x4C
    /// `D` DNS lookup.
    case dns = 0x44
    /// `C` Closing connection.
    case closing = 0x43
    /// `G` Gracefully finishing.
    case graceful = 0x47
    /// `I` Idle cleanup of worker (`SERVER_IDLE_KILL`).
    case idleCleanup = 0x49

    /// The scoreboard character.
    @inlinable public var character: Character { Character(Unicode.Scalar(rawValue)) }
    public var description: String { String(character) }

    /// The word mod_status's `?notable` listing uses.
    public var name: String {
        switch self {
        case .ready: return "Ready"
        case .starting: return "Starting"
        case .reading: return "Read"
        case .writing: return "Write"
        case .keepAlive: return "Keepalive"
        case .logging: return "Logging"
        case .dns: return "DNS lookup"
        case .closing: return "Closing"
        case .dead: return "Dead"
        case .graceful: return "Graceful"
        case .idleCleanup: return "Dying"
        }
    }

    /// As mod_status counts a worker of a live, non-quiescing process: busy is anything
    /// but `_` (idle), `.`, `S`, `I` (not counted) and `G` (graceful).
    @inlinable public var isBusy: Bool {
        switch self {
        case .ready, .dead, .starting, .idleCleanup, .graceful: return false
        default: return true
        }
    }

    /// Decodes a slot's stored byte; an unknown byte (a torn or foreign write) reads as dead.
    @inlinable public init(stored: Int) {
        self = WorkerStatus(rawValue: UInt8(truncatingIfNeeded: stored)) ?? .dead
    }
}
