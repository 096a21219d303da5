import CZlib

/// A gzip member written as mod_deflate writes it: its fixed 10-byte header (no name, no
/// time, OS Unix), a raw deflate stream from zlib with the configured level, window and
/// memory level, and the CRC-32 and length trailer (zlib's `crc32`). Apache does the
/// same (a negative window to suppress zlib's own header), so the bytes are Apache's.
/// Output is appended to a caller's array; nothing is compressed by hand.
final class GzipEncoder {
    enum Failure: Error { case zlib(Int32) }

    /// mod_deflate's `gzip_header`.
    static let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0x03]
    /// The header and the CRC-32 and length trailer.
    static let framing: Int64 = 18

    private var stream = z_stream()
    private var crc: uLong = 0
    private var started = false
    private var ended = false
    private let bufferSize: Int
    private(set) var totalIn: Int64 = 0
    private(set) var totalOut: Int64 = 0

    /// - Parameters: as `deflateInit2`: level (-1 for zlib's default), window bits 1...15
    ///   (zlib takes 9...15), memory level 1...9; `bufferSize` is DeflateBufferSize.
    init(level: Int32, windowBits: Int32, memLevel: Int32, bufferSize: Int) throws(Failure) {
        self.bufferSize = max(bufferSize, 64)
        // zlib refuses a raw window under 9 bits; so does Apache's, which then sends the
        // body uncompressed (AH01383): the caller does the same.
        let rc = deflateInit2_(&stream, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))  // trap-safe: the size of a C struct
        guard rc == Z_OK else { throw .zlib(rc) }
        started = true
    }

    deinit { if started { deflateEnd(&stream) } }

    /// Compresses `input` and appends what zlib produces to `out`; `flush` is
    /// `Z_NO_FLUSH`, `Z_SYNC_FLUSH` (a flush the producer asked for) or `Z_FINISH`
    /// (the end: the trailer follows).
    func encode(_ input: UnsafeRawBufferPointer, flush: Int32, into out: inout [UInt8]) throws(Failure) {
        guard !ended else { return }
        if totalOut == 0 {
            out.append(contentsOf: Self.header)
            totalOut = Int64(Self.header.count)  // trap-safe: 10
        }
        if let base = input.baseAddress, !input.isEmpty {
            crc = crc32(crc, base.assumingMemoryBound(to: Bytef.self), uInt(clamping: input.count))
        }
        var remaining = input
        repeat {
            // zlib takes at most uInt's range at a time.
            let chunk = UnsafeRawBufferPointer(rebasing: remaining.prefix(Int(Int32.max)))  // trap-safe: Int32 to Int widens
            remaining = UnsafeRawBufferPointer(rebasing: remaining.dropFirst(chunk.count))
            let last = remaining.isEmpty
            try run(chunk, flush: last ? flush : Z_NO_FLUSH, into: &out)
        } while !remaining.isEmpty
        if flush == Z_FINISH {
            ended = true
            let length = UInt32(truncatingIfNeeded: totalIn)  // ISIZE is the length modulo 2^32
            let check = UInt32(truncatingIfNeeded: crc)
            for value in [check, length] {
                for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }  // trap-safe: shift is 0...24
            }
            totalOut += 8
        }
    }

    private func run(_ input: UnsafeRawBufferPointer, flush: Int32, into out: inout [UInt8]) throws(Failure) {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(clamping: input.count)
        totalIn += Int64(input.count)  // trap-safe: Int to Int64 widens
        while true {
            let start = out.count
            out.reserveCapacity(start + bufferSize)
            // Grow by a buffer's worth and let zlib write into it.
            out.append(contentsOf: repeatElement(0, count: bufferSize))
            let rc = out.withUnsafeMutableBytes { bytes -> Int32 in
                let space = UnsafeMutableRawBufferPointer(rebasing: bytes[start...])
                stream.next_out = space.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(clamping: space.count)
                return deflate(&stream, flush)
            }
            let produced = bufferSize - Int(stream.avail_out)  // trap-safe: avail_out <= bufferSize
            out.removeLast(bufferSize - produced)
            totalOut += Int64(produced)  // trap-safe: Int to Int64 widens
            switch rc {
            case Z_STREAM_END:
                return
            case Z_OK, Z_BUF_ERROR:
                // Done when zlib took all input and left room: nothing more to write now.
                if stream.avail_in == 0 && stream.avail_out > 0 { return }
            default:
                throw .zlib(rc)
            }
        }
    }

    /// The whole of `bytes` as one gzip member.
    static func gzip(_ bytes: UnsafeRawBufferPointer, level: Int32, windowBits: Int32, memLevel: Int32, bufferSize: Int) throws(Failure) -> [UInt8] {
        let encoder = try GzipEncoder(level: level, windowBits: windowBits, memLevel: memLevel, bufferSize: bufferSize)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 3 + 64)
        try encoder.encode(bytes, flush: Z_FINISH, into: &out)
        return out
    }
}
