/// Blocking reads and writes on a connection's socket, for the one place a request's
/// processing waits on the client: its body (and the `100 Continue` before it).
public protocol ConnectionIO {
    /// Up to `buffer.count` bytes: the count, 0 when the client closed, nil on timeout.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws -> Int?
    /// All of `bytes`, or throws.
    func write(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws
}
