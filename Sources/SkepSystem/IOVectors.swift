import Glibc

/// Helpers for resuming a gathered write after a partial `writev`.
///
/// Why: a socket buffer can take part of a response; the connection code keeps its iovec
/// array and calls `consume` with what was written, then writes the rest later, without
/// copying the buffers.
public enum IOVectors {
    /// Drops `bytes` from the front of `vectors`, adjusting the first partly written
    /// vector in place.
    /// - Returns: the remaining vectors (empty when everything was written).
    @inlinable
    public static func consume(
        _ vectors: UnsafeMutableBufferPointer<iovec>, bytes: Int
    ) -> UnsafeMutableBufferPointer<iovec> {
        var left = bytes
        var index = vectors.startIndex
        while index < vectors.endIndex {
            let length = vectors[index].iov_len
            if left < length {
                vectors[index].iov_base = vectors[index].iov_base.map { $0 + left }
                vectors[index].iov_len = length - left
                break
            }
            left -= length
            index += 1
        }
        return UnsafeMutableBufferPointer(rebasing: vectors[index...])
    }

    /// Total bytes described by `vectors`.
    @inlinable
    public static func totalLength(_ vectors: UnsafeMutableBufferPointer<iovec>) -> Int {
        vectors.reduce(0) { $0 + $1.iov_len }
    }
}
