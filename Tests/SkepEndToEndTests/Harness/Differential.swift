/// Sending the same bytes to skep and to Apache and comparing what comes back:
/// the responses (status, headers, body) and whether the connection was closed.
enum Differential {
    /// Headers that legitimately differ between two servers or two runs.
    static let volatileHeaders: Set<String> = [
        "date", "server", "etag", "last-modified", "keep-alive",
    ]

    /// What one server did with one connection's bytes.
    struct Outcome: Sendable, CustomStringConvertible {
        var responses: [HTTPResponse]
        /// Set when reading a further response failed (timeout, garbage, ...).
        var readError: String?
        var connection: RawHTTPClient.ConnectionState

        var description: String {
            (responses.map(\.description) + [readError.map { "error: \($0)" } ?? "", "connection \(connection)"])
                .filter { !$0.isEmpty }.joined(separator: "\n")
        }
    }

    /// Connects to `port`, sends `bytes`, reads up to `expecting` responses (stopping
    /// early when the server closes), then reports the connection's state.
    static func outcome(
        port: UInt16, sending bytes: [UInt8], expecting: Int = 1, methods: [String] = [],
        closeWait: Duration = .milliseconds(500), timeout: Duration = .seconds(5)
    ) throws -> Outcome {
        let client = try RawHTTPClient(port: port, timeout: timeout)
        defer { client.close() }
        try client.send(bytes)
        var responses: [HTTPResponse] = []
        var readError: String?
        for i in 0..<expecting {
            do {
                guard let response = try client.readResponseOrClose(
                    method: i < methods.count ? methods[i] : "GET") else { break }
                responses.append(response)
            } catch {
                readError = String(describing: error)
                break
            }
        }
        return Outcome(responses: responses, readError: readError, connection: client.connectionState(within: closeWait))
    }

    /// Sends `request` to both servers and returns both outcomes.
    static func exchange(
        _ request: String, skep: ServerProcess, apache: ServerProcess, expecting: Int = 1,
        methods: [String] = []
    ) throws -> (skep: Outcome, apache: Outcome) {
        let bytes = Array(request.utf8)
        return (
            try outcome(port: skep.port, sending: bytes, expecting: expecting, methods: methods),
            try outcome(port: apache.port, sending: bytes, expecting: expecting, methods: methods)
        )
    }

    /// Human-readable differences between two outcomes (empty when they agree),
    /// ignoring `ignoring` header names (lowercase) and header order.
    static func differences(_ a: Outcome, _ b: Outcome, ignoring: Set<String> = volatileHeaders) -> [String] {
        var diffs: [String] = []
        if a.responses.count != b.responses.count {
            diffs.append("response count: \(a.responses.count) vs \(b.responses.count)")
        }
        for (i, (x, y)) in zip(a.responses, b.responses).enumerated() {
            diffs += differences(x, y, ignoring: ignoring).map { "response \(i + 1): \($0)" }
        }
        if a.connection != b.connection {
            diffs.append("connection: \(a.connection) vs \(b.connection)")
        }
        return diffs
    }

    /// Differences between two responses: version, status, the multiset of
    /// (lowercased name, value) headers not ignored, interim statuses, and body.
    static func differences(_ a: HTTPResponse, _ b: HTTPResponse, ignoring: Set<String> = volatileHeaders) -> [String] {
        var diffs: [String] = []
        if a.version != b.version { diffs.append("version: \(a.version) vs \(b.version)") }
        if a.status != b.status { diffs.append("status: \(a.status) vs \(b.status)") }
        if a.interim.map(\.status) != b.interim.map(\.status) {
            diffs.append("interim: \(a.interim.map(\.status)) vs \(b.interim.map(\.status))")
        }
        func normalized(_ r: HTTPResponse) -> [String] {
            r.headers.filter { !ignoring.contains($0.name.lowercased()) }
                .map { "\($0.name.lowercased()): \($0.value)" }.sorted()
        }
        let ha = normalized(a), hb = normalized(b)
        if ha != hb {
            let onlyA = ha.filter { !hb.contains($0) }, onlyB = hb.filter { !ha.contains($0) }
            diffs.append("headers only in first: \(onlyA); only in second: \(onlyB)")
        }
        if a.framing != b.framing { diffs.append("framing: \(a.framing) vs \(b.framing)") }
        if a.body != b.body {
            diffs.append("body: \(a.body.count) bytes \(String(decoding: a.body.prefix(80), as: UTF8.self).debugDescription) vs \(b.body.count) bytes \(String(decoding: b.body.prefix(80), as: UTF8.self).debugDescription)")
        }
        return diffs
    }
}
