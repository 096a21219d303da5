/// One request head the benchmark feeds to both parsers, as the bytes a client sends.
struct BenchHead {
    /// Short name for the table.
    let name: String
    /// The bytes of one iteration: one head, or several pipelined heads in one buffer.
    let bytes: [UInt8]
    /// Requests in `bytes`.
    let requests: Int
    /// Header fields per request (to check both parsers saw them all).
    let fieldsPerRequest: Int

    init(name: String, lines: [String], repeated: Int = 1) {
        let one = Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
        self.name = name
        self.bytes = Array([[UInt8]](repeating: one, count: repeated).joined())
        self.requests = repeated
        self.fieldsPerRequest = lines.count - 1
    }

    /// What `curl http://localhost:8080/index.html` sends.
    static let curlLines = [
        "GET /index.html HTTP/1.1",
        "Host: localhost:8080",
        "User-Agent: curl/8.5.0",
        "Accept: */*",
    ]

    /// What Chrome sends for a page it has a session cookie for (about 500 bytes).
    static let browserLines = [
        "GET /docs/index.html HTTP/1.1",
        "Host: www.example.com",
        "Connection: keep-alive",
        "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"",
        "sec-ch-ua-mobile: ?0",
        "sec-ch-ua-platform: \"Linux\"",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8",
        "Accept-Encoding: gzip, deflate, br",
        "Accept-Language: en-US,en;q=0.9",
        "Cookie: session=8f14e45fceea167a; theme=dark",
    ]

    static let all: [BenchHead] = [
        BenchHead(name: "curl (3 fields)", lines: curlLines),
        BenchHead(name: "browser (10 fields)", lines: browserLines),
        BenchHead(name: "pipelined 16 x curl", lines: curlLines, repeated: 16),
    ]
}
