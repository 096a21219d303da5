import Glibc

/// A `sigset_t` as a value type: the signals to block, or to read from a `SignalFD`.
public struct SignalSet: Sendable, ExpressibleByArrayLiteral {
    @usableFromInline var raw: sigset_t

    /// An empty set.
    public init() {
        raw = sigset_t()
        sigemptyset(&raw)
    }

    public init(_ signals: some Sequence<Signal>) {
        self.init()
        for signal in signals { insert(signal) }
    }

    public init(arrayLiteral elements: Signal...) { self.init(elements) }

    init(raw: sigset_t) { self.raw = raw }

    /// The empty set.
    public static var empty: SignalSet { SignalSet() }

    /// Every signal (SIGKILL and SIGSTOP cannot actually be blocked; the kernel ignores them).
    public static var all: SignalSet {
        var set = SignalSet()
        sigfillset(&set.raw)
        return set
    }

    public mutating func insert(_ signal: Signal) { sigaddset(&raw, signal.rawValue) }
    public mutating func remove(_ signal: Signal) { sigdelset(&raw, signal.rawValue) }
    public func contains(_ signal: Signal) -> Bool {
        var copy = raw
        return sigismember(&copy, signal.rawValue) == 1
    }

    /// The signals in the set, in ascending order.
    public var signals: [Signal] {
        (1..<65).map(Signal.init(rawValue:)).filter(contains)
    }
}
