import Skep
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `SetHandler example-clock`: the server's local time, through C's `localtime()`, which
/// returns a pointer to one static buffer that a call on another thread overwrites.
///
/// It stands for code that is not thread-safe (a C library, an unguarded global cache):
/// it is registered with `threadSafe: false`, so a configuration may map it only under
/// the prefork MPM, where each child runs one request at a time. Under worker or event,
/// `skep-example -t` rejects the SetHandler line. (`localtime_r` would fix it; the point
/// here is the flag.)
enum ClockEndpoint {
    static func handle(_ request: Request, _ response: Response) throws {
        var now = time(nil)
        guard let tm = localtime(&now) else { return response.fail(500) }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S %Z", tm)
        response.contentType = "text/plain; charset=utf-8"
        response.send(String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "\n")
    }
}
