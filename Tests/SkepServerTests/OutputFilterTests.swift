import Testing
import SkepConfig
@testable import SkepServer
import SkepSystem
import SkepTestSupport
import Glibc

/// The output filter chain without sockets: an `HTTPConnection` fed a request, the
/// response it prepares read back from its output (or from a capturing writer for a
/// streamed body). The Apache-facing answers are checked end to end against Apache in
/// `DeflateDifferentialTests`; these pin the mechanics.
@Suite struct OutputFilterTests {
    static let page = String(repeating: "<p>hello filter chain</p>\n", count: 200)

    let root: String

    init() throws {
        root = try makeTemporaryDirectory()
        try writeFile(root + "/page.html", Self.page)
        try writeFile(root + "/page.txt", Self.page)
        try writeFile(root + "/tiny.html", "<p>tiny</p>\n")
    }

    func context(_ extra: String, handlers: [String: Handler] = [:]) throws -> ServerContext {
        // mod_authz_core: without it the access phases answer 500, as Apache's.
        let modules = CoreModule.all + [AuthzCoreModule.descriptor, MimeModule.descriptor, FilterModule.descriptor, DeflateModule.descriptor]
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: "/tmp"))
        let tree = try reader.read(text: """
            LoadModule authz_core_module mod_authz_core.so
            LoadModule mime_module mod_mime.so
            LoadModule filter_module mod_filter.so
            LoadModule deflate_module mod_deflate.so
            DocumentRoot \(root)
            ErrorLog /dev/null
            TypesConfig /etc/mime.types
            \(extra)
            """, name: "test.conf")
        let config = try ConfigProcessor.process(tree, modules: modules, configFile: "test.conf")
        return try ServerContext(config: config, moduleTypes: [AuthzCoreModule.self, MimeModule.self, FilterModule.self, DeflateModule.self],
                                 extraHandlers: handlers)
    }

    /// Captures what a streamed body writes.
    final class Capture: ConnectionIO, @unchecked Sendable {
        var bytes: [UInt8] = []
        var writes = 0
        func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws -> Int? { 0 }
        func write(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws {
            self.bytes += bytes
            writes += 1
        }
    }

    struct Answer {
        var head: String
        var body: [UInt8]
        func field(_ name: String) -> String? {
            for line in head.split(separator: "\r\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingPrefix(" ").description }
            }
            return nil
        }
        var status: Int { Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 }
    }

    /// Sends `request` through a connection of `context` and returns the head and body.
    func exchange(_ context: ServerContext, _ request: String) -> Answer {
        let http = HTTPConnection(context: context, client: .loopbackIPv4(port: 40000), local: .loopbackIPv4(port: 80))
        _ = http.start()
        let bytes = Array(request.utf8)
        http.readSpace().copyBytes(from: bytes)
        _ = http.didRead(bytes.count)
        let io = Capture()
        _ = http.process(io: io)
        if !io.bytes.isEmpty {
            // A streamed answer went out through the writer, head first.
            let text = io.bytes
            let end = (0..<text.count - 3).first { text[$0] == 13 && text[$0 + 1] == 10 && text[$0 + 2] == 13 && text[$0 + 3] == 10 } ?? 0
            return Answer(head: String(decoding: text[..<end], as: UTF8.self), body: Array(text[(end + 4)...]))
        }
        var body: [UInt8] = []
        for part in http.output.parts {
            switch part {
            case .bytes(let b): body += b
            case .file(let fd, let offset, let length):
                var chunk = [UInt8](repeating: 0, count: Int(length))
                _ = chunk.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, Int(length), off_t(offset)) }
                body += chunk
            }
        }
        return Answer(head: String(decoding: http.output.head, as: UTF8.self), body: body)
    }

    func get(_ path: String, _ fields: String = "Accept-Encoding: gzip\r\n", method: String = "GET") -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: a\r\n\(fields)\r\n"
    }

    @Test func addOutputFilterByTypeCompressesAMatchingTypeOnly() throws {
        let c = try context("AddOutputFilterByType DEFLATE text/html")
        let html = exchange(c, get("/page.html"))
        #expect(html.field("Content-Encoding") == "gzip")
        #expect(html.field("Vary") == "Accept-Encoding")
        #expect(html.field("Content-Length") == String(html.body.count))
        #expect(gunzip(html.body) == Array(Self.page.utf8))
        #expect(html.field("ETag")?.hasSuffix("-gzip\"") == true)
        let text = exchange(c, get("/page.txt"))
        #expect(text.field("Content-Encoding") == nil)
        #expect(text.body == Array(Self.page.utf8))
    }

    @Test func aClientThatDoesNotAskGetsVaryOnly() throws {
        let c = try context("AddOutputFilterByType DEFLATE text/html")
        let plain = exchange(c, get("/page.html", ""))
        #expect(plain.field("Content-Encoding") == nil)
        #expect(plain.field("Vary") == "Accept-Encoding")
        #expect(plain.body == Array(Self.page.utf8))
    }

    @Test func aTinyBodyIsLeftAlone() throws {
        let c = try context("SetOutputFilter DEFLATE")
        let tiny = exchange(c, get("/tiny.html"))
        #expect(tiny.field("Content-Encoding") == nil && tiny.field("Vary") == nil)
    }

    @Test func headSaysTheCompressedLength() throws {
        let c = try context("SetOutputFilter DEFLATE")
        let get = exchange(c, get("/page.html"))
        let head = exchange(c, self.get("/page.html", method: "HEAD"))
        #expect(head.field("Content-Length") == get.field("Content-Length"))
        #expect(head.body.isEmpty)
    }

    @Test func aRangeIsARangeOfTheCompressedBody() throws {
        let c = try context("AddOutputFilter DEFLATE html")
        let whole = exchange(c, get("/page.html"))
        let part = exchange(c, get("/page.html", "Accept-Encoding: gzip\r\nRange: bytes=2-9\r\n"))
        #expect(part.status == 206)
        #expect(part.field("Content-Range") == "bytes 2-9/\(whole.body.count)")
        #expect(part.body == Array(whole.body[2...9]))
    }

    @Test func removeOutputFilterAndTheNoGzipNoteStopIt() throws {
        let c = try context("""
            AddOutputFilter DEFLATE html
            <Directory \(root)>
            RemoveOutputFilter html
            </Directory>
            """)
        #expect(exchange(c, get("/page.html")).field("Content-Encoding") == nil)
    }

    @Test func aStreamedBodyIsCompressedAsItComesAndFlushesGoThrough() throws {
        let chunks = (0..<5).map { String(repeating: "chunk \($0) ", count: 40) }
        let handler: Handler = { _, _ in
            Response(status: .ok, headers: [("Content-Type", "text/html")], body: .stream(ResponseStream { writer in
                for chunk in chunks {
                    try writer.write(Array(chunk.utf8))
                    try writer.flush()
                }
            }))
        }
        let c = try context("""
            AddOutputFilterByType DEFLATE text/html
            <Location /stream>
            SetHandler stream
            </Location>
            """, handlers: ["stream": handler])
        let answer = exchange(c, get("/stream"))
        #expect(answer.field("Content-Encoding") == "gzip")
        #expect(answer.field("Transfer-Encoding") == "chunked")
        // De-chunk, then gunzip.
        var body: [UInt8] = []
        var rest = answer.body[...]
        var chunkCount = 0
        while let lineEnd = rest.firstIndex(of: 13) {
            let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self), radix: 16) ?? 0
            rest = rest[(lineEnd + 2)...]
            if size == 0 { break }
            body += rest.prefix(size)
            rest = rest.dropFirst(size + 2)
            chunkCount += 1
        }
        #expect(gunzip(body) == Array(chunks.joined().utf8))
        // Each flush reached the client as its own chunk: the body was not held to the end.
        #expect(chunkCount >= chunks.count)
    }

    @Test func acceptEncodingIsReadAsModDeflateReadsIt() {
        // The answers Apache 2.4 gives (see DeflateDifferentialTests for the live comparison).
        let accepted = ["gzip", "GZIP", "deflate, GZIP ; q=0.5", "gzip; q=0.001", "br, gzip", "foo;bar,gzip", "gzip,"]
        let refused = ["", "gzip;q=0", "gzip;q=0.0", "gzip;q=0.", "x-gzip", "*", "identity", "br, gzip;q=0", "\"gzip\"", " , gzip"]
        for value in accepted { #expect(AcceptEncoding.acceptsGzip(value), "\(value)") }
        for value in refused { #expect(!AcceptEncoding.acceptsGzip(value), "\(value)") }
    }

    @Test func filterChainFollowsApachesOperations() {
        var c = FilterDirConfig()
        c.chain("A"); c.chain("+B"); c.chain("@C")
        #expect(c.effectiveChain == ["C", "A", "B"])
        c.chain("-a")
        #expect(c.effectiveChain == ["C", "B"])
        var inner = FilterDirConfig()
        inner.chain("D")
        #expect(c.merged(with: inner).effectiveChain == ["C", "B", "D"])
        inner.chain("=E")
        #expect(c.merged(with: inner).effectiveChain == ["E"])
        inner.chain("!")
        #expect(c.merged(with: inner).effectiveChain == [])
    }

    @Test func filterProviderConditions() throws {
        let regex = try FilterCondition.parse("%{CONTENT_TYPE} =~ m#^text/#")
        guard case .match(.contentType, _, negated: false) = regex else { Issue.record("\(regex)"); return }
        let equal = try FilterCondition.parse("resp('Content-Type') == 'text/html'")
        guard case .compare(.responseHeader("Content-Type"), equal: true, "text/html") = equal else { Issue.record("\(equal)"); return }
        #expect(throws: FilterCondition.Failure.self) { try FilterCondition.parse("-T %{CONTENT_TYPE}") }
        #expect(throws: FilterCondition.Failure.self) { try FilterCondition.parse("%{CONTENT_TYPE} =~ m#^text/# && true") }
    }

    @Test func filterProviderDispatchesByExpression() throws {
        let c = try context("""
            FilterDeclare COMPRESS
            FilterProvider COMPRESS DEFLATE "%{CONTENT_TYPE} =~ m#^text/plain#"
            FilterChain COMPRESS
            """)
        #expect(exchange(c, get("/page.txt")).field("Content-Encoding") == "gzip")
        #expect(exchange(c, get("/page.html")).field("Content-Encoding") == nil)
    }

    @Test func directiveValuesAreCheckedWithApachesWords() throws {
        for (line, message) in [
            ("DeflateCompressionLevel 10", "Compression Level must be between 1 and 9"),
            ("DeflateWindowSize 0", "DeflateWindowSize must be between 1 and 15"),
            ("DeflateMemLevel 12", "DeflateMemLevel must be between 1 and 9"),
            ("DeflateBufferSize 0", "DeflateBufferSize should be positive"),
            ("DeflateFilterNote Size x", "Unknown note type Size"),
            ("AddOutputFilterByType SUBSTITUTE text/html", "Unknown filter provider SUBSTITUTE"),
        ] {
            let error = captureError { try context(line) }.map { "\($0)" }
            #expect(error?.contains(message) == true, "\(line): \(String(describing: error))")
        }
    }

    @Test func aCompressedFileIsCachedSoTheListenerMayServeIt() throws {
        let c = try context("SetOutputFilter DEFLATE")
        let filter = try #require(c.outputFilter(named: "deflate") as? DeflateFilter)
        _ = exchange(c, get("/page.html"))
        let status = try FileSystem.status(root + "/page.html")
        let key = DeflateCache.Key(file: .init(path: root + "/page.html", status: status), level: -1, windowBits: 15, memLevel: 9)
        #expect(filter.cache.contains(key))
    }
}
