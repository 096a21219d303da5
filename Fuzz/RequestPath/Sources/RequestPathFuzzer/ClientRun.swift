import Glibc
import SkepServer
import SkepSystem

/// One connection driven to its end as an MPM drives it: the request bytes arrive in
/// reads of the input's size, `process` reads bodies and writes streamed responses
/// through `Client` (the `ConnectionIO`), and each `.write` puts the output where the
/// client reads it. Each response is checked as it completes.
struct ClientRun {
    let context: ServerContext
    let input: Input

    func run() {
        let client = Client(input)
        let connection = HTTPConnection(context: context, client: .loopbackIPv4(port: 50_000),
                                        local: .loopbackIPv4(port: 80))
        var action = connection.start()
        // Where the bytes of the response being written start in `client.received`.
        var responseStart = 0
        var steps = 0
        loop: while true {
            steps += 1
            // Every action consumes input or ends a response; far more steps than the
            // input has bytes means the machine goes round without progress.
            if steps > 4 * input.request.count + 100 { fatalError("the connection's state machine does not end") }
            switch action {
            case .read:
                let space = connection.readSpace()
                let n = client.take(into: space)
                if n > 0 {
                    action = connection.didRead(n)
                } else {
                    action = input.stallsAtEnd ? connection.didTimeout() : connection.didRead(0)
                }
            case .process:
                if input.triesListener, let next = connection.processWithoutBlocking() {
                    action = next
                } else {
                    action = connection.process(io: client)
                }
            case .write:
                // A streamed response went out through `client` already (its output is complete).
                if !connection.output.isComplete { client.received += Self.bytes(of: connection.output) }
                let response = Array(client.received[responseStart...])
                responseStart = client.received.count
                action = connection.didWrite()
                ResponseCheck.check(response, connectionEnds: action == .close || action == .lingeringClose)
                if Self.showsResponses { print(String(decoding: response.prefix { $0 != 0x0D }, as: UTF8.self)) }
            case .close, .lingeringClose:
                // What was written without a `.write` (a stream cut short) is one last response,
                // cut where it failed.
                if responseStart < client.received.count {
                    ResponseCheck.check(Array(client.received[responseStart...]), connectionEnds: true, mayBeCut: true)
                }
                break loop
            }
        }
    }

    /// `SKEP_FUZZ_SHOW=1` prints each response's first line (to see what a corpus reaches).
    static let showsResponses = getenv("SKEP_FUZZ_SHOW") != nil

    /// The head and body of an output as the socket would get them.
    static func bytes(of output: ResponseOutput) -> [UInt8] {
        var out = output.head
        for part in output.parts {
            switch part {
            case .bytes(let bytes):
                out += bytes
            case .file(let fd, let offset, let length):
                var chunk = [UInt8](repeating: 0, count: Int(clamping: length))
                let got = chunk.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, $0.count, off_t(offset)) }
                if got != chunk.count { fatalError("a file part of \(length) bytes at \(offset) read \(got)") }
                out += chunk
            }
        }
        return out
    }
}

/// The client's side of the connection: the input's bytes to read, and what it receives.
final class Client: ConnectionIO {
    private let bytes: [UInt8]
    private let readSize: Int
    private let stallsAtEnd: Bool
    private var offset = 0
    var received: [UInt8] = []

    init(_ input: Input) {
        bytes = input.request
        readSize = input.readSize
        stallsAtEnd = input.stallsAtEnd
    }

    /// Copies the next bytes into `space`; 0 when all were sent.
    func take(into space: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(space.count, readSize, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes[offset..<(offset + n)].withUnsafeBytes { space.copyMemory(from: $0) }
        offset += n
        return n
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws -> Int? {
        let n = take(into: buffer)
        if n == 0 && stallsAtEnd { return nil }
        return n
    }

    func write(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws {
        received.append(contentsOf: bytes)
    }
}
