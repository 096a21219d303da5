import Glibc
import SkepServer
import SkepSystem

// libFuzzer's entry point. An input is the bytes a client sends on one connection,
// optionally followed by `Input.backendMarker` and what the FastCGI back end answers
// (see `BackendAnswer`); or, after `Input.tlsMarker`, what a client sends to the TLS port
// (`TLSRun`: a handshake, records, or plain HTTP). Every input runs a whole connection:
// nothing may trap, and every plain response must be well formed (`ResponseCheck`).

/// The back end and the site, made on the first input and shared by all.
let backend: FakeBackend = {
    do { return try FakeBackend() } catch { fatalError("the fake FastCGI back end did not start: \(error)") }
}()

let site: Site = {
    do { return try Site(backendPort: backend.port) } catch { fatalError("the fuzz site did not load: \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if bytes.starts(with: Input.tlsMarker) {
        TLSRun(context: site.context, bytes: Array(bytes.dropFirst(Input.tlsMarker.count))).run()
        return 0
    }
    let input = Input(bytes)
    backend.setAnswer(BackendAnswer.records(from: input.backend))
    ClientRun(context: site.context, input: input).run()
    return 0
}

/// One fuzz input taken apart.
struct Input {
    static let backendMarker = Array("\n--backend--\n".utf8)
    /// An input that starts with it is the byte stream a client sends to the TLS port.
    static let tlsMarker = Array("--tls--\n".utf8)

    /// What the client sends.
    let request: [UInt8]
    /// What the back end is to answer with (nil: a plain valid answer).
    let backend: [UInt8]?
    /// How the request bytes arrive: reads of at most this many bytes.
    let readSize: Int
    /// When the client has sent everything: it stalls (a read timeout) rather than closes.
    let stallsAtEnd: Bool
    /// Each request is first tried as the event listener runs it (`processWithoutBlocking`).
    let triesListener: Bool

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        let all = Array(bytes)
        if let marker = Self.find(Self.backendMarker, in: all) {
            request = Array(all[..<marker])
            backend = Array(all[(marker + Self.backendMarker.count)...])
        } else {
            request = all
            backend = nil
        }
        // The options come from a hash of the request, so each input always runs the same way.
        var hash: UInt32 = 2_166_136_261
        for byte in request { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        readSize = [1, 7, 64, 65536][Int(hash & 3)]
        stallsAtEnd = hash & 4 != 0
        triesListener = hash & 8 != 0
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

/// The back end's bytes from the input's. The first byte picks the shape, so that most
/// inputs are read as a script's output (its headers and body) rather than rejected as
/// bad records:
/// - 0 mod 4: the bytes are sent as they are (raw records);
/// - 1: wrapped in STDOUT records, then END_REQUEST;
/// - 2: wrapped in STDOUT records, then the back end closes (no END_REQUEST);
/// - 3: the first half in STDERR records, the rest in STDOUT, then END_REQUEST.
/// The wrapping records hold `1 + 8 * (byte / 4)` bytes each.
enum BackendAnswer {
    static func records(from bytes: [UInt8]?) -> [UInt8] {
        guard let bytes else {
            return wrap(Array("Content-Type: text/plain\r\n\r\nhello from the back end\n".utf8), size: 4096, end: true)
        }
        guard let shape = bytes.first else { return [] }
        let rest = Array(bytes.dropFirst())
        let size = 1 + 8 * Int(shape / 4)
        switch shape % 4 {
        case 0: return rest
        case 1: return wrap(rest, size: size, end: true)
        case 2: return wrap(rest, size: size, end: false)
        default:
            let half = rest.count / 2
            var out = wrap(Array(rest[..<half]), size: size, type: .stderr, end: false)
            out += wrap(Array(rest[half...]), size: size, end: true)
            return out
        }
    }

    static func wrap(_ content: [UInt8], size: Int, type: FastCGIRecord.RecordType = .stdout, end: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < content.count {
            let next = min(content.count, offset + size)
            content[offset..<next].withUnsafeBytes { FastCGIRecord.append(type, content: $0, to: &out) }
            offset = next
        }
        guard end else { return out }
        let empty: [UInt8] = []
        empty.withUnsafeBytes { FastCGIRecord.append(type, content: $0, to: &out) }
        let endBody: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
        endBody.withUnsafeBytes { FastCGIRecord.append(.endRequest, content: $0, to: &out) }
        return out
    }
}
