import Foundation
import Skep

/// `SetHandler example-countdown`: `?from=5&interval=500` (ms) counts down one line at a
/// time, each flushed to the client as it is written (a chunked response).
enum CountdownEndpoint {
    static func handle(_ request: Request, _ response: Response) throws {
        let query = QueryParameters(request.query)
        guard let from = query.int("from", default: 5, in: 0...100),
              let interval = query.int("interval", default: 500, in: 0...10_000) else {
            return response.fail(400)
        }
        response.contentType = "text/plain; charset=utf-8"
        response.setHeader("Cache-Control", "no-cache")
        // No length: the body is chunked, and each flush() sends one chunk.
        response.stream { writer in
            for n in stride(from: from, to: 0, by: -1) {
                try writer.write("\(n)\n")
                try writer.flush()
                // Blocking is fine: it holds this thread only; the child's other threads serve on.
                usleep(UInt32(interval) * 1000)
            }
            try writer.write("liftoff\n")
        }
    }
}
