/// A parser under test, driven over the same bytes again and again.
protocol ParserLoop {
    /// Requests parsed by one iteration.
    var requestsPerIteration: Int { get }
    /// Parses the head(s) `iterations` times; returns a value derived from every parsed
    /// head, so that the optimiser cannot drop the work.
    mutating func run(iterations: Int) -> UInt64
}
