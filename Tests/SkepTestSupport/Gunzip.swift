import CZlib

/// Decompresses a gzip body with zlib (the test side of mod_deflate's output); nil when
/// the bytes are not one complete gzip member.
public func gunzip(_ bytes: [UInt8]) -> [UInt8]? {
    let (out, complete) = inflateGzip(bytes)
    return complete ? out : nil
}

/// What zlib can decompress of the start of a gzip body that is still arriving (a
/// streamed answer up to a sync flush); empty when nothing can be yet.
public func gunzipPrefix(_ bytes: [UInt8]) -> [UInt8] {
    inflateGzip(bytes).out
}

/// Inflates as far as the bytes go; `complete` when they end exactly with the member.
private func inflateGzip(_ bytes: [UInt8]) -> (out: [UInt8], complete: Bool) {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return ([], false) }
    defer { inflateEnd(&stream) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var input = bytes
    let count = input.count
    let complete = input.withUnsafeMutableBufferPointer { inBuffer -> Bool in
        stream.next_in = inBuffer.baseAddress
        stream.avail_in = uInt(count)
        while true {
            let (rc, produced) = chunk.withUnsafeMutableBufferPointer { outBuffer -> (Int32, Int) in
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                let rc = inflate(&stream, Z_SYNC_FLUSH)
                return (rc, outBuffer.count - Int(stream.avail_out))
            }
            out += chunk[..<produced]
            if rc == Z_STREAM_END { return stream.avail_in == 0 }
            if rc != Z_OK || produced == 0 { return false }
        }
    }
    return (out, complete)
}
