import Foundation
import Skep

/// `SetHandler example-json`: a JSON document built with Foundation's JSONEncoder.
/// (Foundation is fine inside handlers, which run in the children after the fork.)
enum JSONEndpoint {
    struct Body: Codable {
        var greeting: String
        var path: String
        var pid: Int32
        var mpm: String
        var threads: Int
        /// Requests this child has answered here, this one included.
        var requests: Int
    }

    static func handle(_ request: Request, _ response: Response) throws {
        let greeting = request.config(GreetingConfig.self).greeting ?? GreetingConfig.defaultGreeting
        let child = ChildState.countRequest()
        let body = Body(greeting: greeting, path: request.path, pid: child.pid, mpm: child.mpm,
                        threads: child.threads, requests: child.requests)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        response.contentType = "application/json"
        response.send(Array(try encoder.encode(body)) + [UInt8(ascii: "\n")])
    }
}
