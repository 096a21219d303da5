import Foundation

/// The result of one curl run: exit status, the final response's status and
/// headers (after redirects with -L, and after 1xx), body and stderr.
struct CurlResult: Sendable {
    var exitCode: Int32
    /// Status of the final response; nil if none was received.
    var status: Int?
    var headers: [HTTPHeader]
    var body: [UInt8]
    var stderr: String
    /// Every response head curl wrote with -D, in order (1xx, redirects, final).
    var heads: [HTTPResponse]

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Runs /usr/bin/curl (env CURL_BIN overrides) with `-sS -D HEADERS -o BODY
/// --max-time N` plus the test's arguments.
enum Curl {
    static var path: String { ProcessInfo.processInfo.environment["CURL_BIN"] ?? "/usr/bin/curl" }

    static func run(_ arguments: [String], timeout: Duration = .seconds(30)) throws -> CurlResult {
        let dir = try TemporaryDirectory(prefix: "skep-curl")
        defer { dir.remove() }
        let headersPath = dir.path + "/headers", bodyPath = dir.path + "/body"
        let seconds = max(1, Int(timeout.components.seconds))
        let result = try Subprocess.run(
            path,
            ["-sS", "-D", headersPath, "-o", bodyPath, "--max-time", String(seconds)] + arguments,
            environment: Subprocess.environment(["http_proxy": nil, "HTTP_PROXY": nil, "all_proxy": nil, "ALL_PROXY": nil]),
            timeout: timeout + .seconds(5))
        let headerText = String(decoding: FileManager.default.contents(atPath: headersPath) ?? Data(), as: UTF8.self)
        let heads = parseHeads(headerText)
        return CurlResult(
            exitCode: result.signaled ? 128 + result.status : result.status,
            status: heads.last?.status,
            headers: heads.last?.headers ?? [],
            body: FileManager.default.contents(atPath: bodyPath).map { [UInt8]($0) } ?? [],
            stderr: result.stderr,
            heads: heads)
    }

    /// GET `url` (e.g. "http://127.0.0.1:\(port)/index.html"), plus extra arguments.
    static func get(_ url: String, _ extra: [String] = [], timeout: Duration = .seconds(30)) throws -> CurlResult {
        try run(extra + [url], timeout: timeout)
    }

    /// Splits curl's -D output (heads separated by blank lines) into responses.
    static func parseHeads(_ text: String) -> [HTTPResponse] {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        return normalized.components(separatedBy: "\n\n")
            .filter { $0.hasPrefix("HTTP/") }
            .compactMap { try? HTTPResponse.parseHead($0) }
    }
}
