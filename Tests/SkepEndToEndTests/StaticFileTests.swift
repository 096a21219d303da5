import Foundation
import Glibc
import Testing

/// Static files, request mapping and access control, served by skep -X: traversal,
/// mod_dir, conditionals, ranges, large files, authz, ErrorDocument, ServerTokens,
/// symlinks and name-based virtual hosts. Statuses are Apache 2.4.71's, measured.
@Suite(.tags(.skepBinary), .timeLimit(.minutes(10)))
struct StaticFileTests {
    typealias F = EngineFixture

    // MARK: - Traversal

    /// (target, Apache's status). A secret file sits in the ServerRoot, one level above
    /// the DocumentRoot; /etc/passwd is the classic.
    static let traversals: [(String, Int)] = [
        ("/../etc/passwd", 400),
        ("/../../../../../../etc/passwd", 400),
        ("/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/%2e%2e/secret.txt", 400),
        ("/../secret.txt", 400),
        ("/sub/../../secret.txt", 400),
        ("/sub/%2e%2e/%2e%2e/secret.txt", 400),
        ("/a/..%2f..%2fetc/passwd", 404),
        ("/..%2fsecret.txt", 404),
        ("//etc/passwd", 404),
        ("/file.txt%00", 404),
        ("/file.txt%00.html", 404),
        ("/..\\..\\etc\\passwd", 404),
        ("/%5c..%5c..%5cetc/passwd", 404),
        ("/..%5csecret.txt", 404),
    ]

    @Test func traversalNeverLeavesTheDocroot() throws {
        try F.withSkep(setUp: { try $0.root.writeFile("secret.txt", "TOP SECRET root:x:0:0\n") }) { (server: ServerProcess) throws in
            for (target, status) in Self.traversals {
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(5))
                let response = try client.exchange("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(response.status == status, "\(target): \(response)")
                #expect(!response.bodyText.contains("root:x:0"), "\(target) leaked a file outside the docroot")
                #expect(!response.bodyText.contains("TOP SECRET"), "\(target) leaked the ServerRoot's secret")
                client.close()
            }
            F.expectStillServing(server, after: "traversal attempts")
        }
    }

    /// Dot segments that stay inside the docroot are merged and served.
    @Test func dotSegmentsInsideTheDocrootAreMerged() throws {
        try F.withSkep { (server: ServerProcess) throws in
            for target in ["/dir/../file.txt", "/dir/%2e%2e/file.txt", "/./file.txt", "/sub/./file.txt/../../file.txt"] {
                let response = try F.get(server, target)
                #expect(response.status == 200, "\(target): \(response)")
                #expect(response.bodyText == F.fileBody, "\(target)")
            }
        }
    }

    // MARK: - mod_dir

    @Test func directoryIndexFirstExistingNameWins() throws {
        try F.withSkep(extra: "DirectoryIndex missing.html second.html index.html", setUp: {
            try $0.root.writeDocument("multi/index.html", "index\n")
            try $0.root.writeDocument("multi/second.html", "second\n")
        }) { (server: ServerProcess) throws in
            let multi = try F.get(server, "/multi/")
            #expect(multi.status == 200)
            #expect(multi.bodyText == "second\n")
            let dir = try F.get(server, "/dir/")
            #expect(dir.bodyText == "<p>dir index</p>\n", "the last name, when it is the only one present")
            let none = try F.get(server, "/noindex/")
            #expect(none.status == 404, "no index and no mod_autoindex: \(none)")
        }
    }

    @Test func directorySlashRedirectKeepsTheQuery() throws {
        try F.withSkep { (server: ServerProcess) throws in
            let host = "127.0.0.1:\(server.port)"
            let response = try F.get(server, "/dir?x=1&y=2")
            #expect(response.status == 301)
            #expect(response.header("Location") == "http://\(host)/dir/?x=1&y=2")
            let plain = try F.get(server, "/dir")
            #expect(plain.header("Location") == "http://\(host)/dir/")
            let followed = try F.get(server, "/dir/")
            #expect(followed.status == 200)
        }
    }

    @Test func directorySlashOff() throws {
        try F.withSkep(extra: "DirectorySlash Off") { (server: ServerProcess) throws in
            let response = try F.get(server, "/dir")
            #expect(response.status != 301, "\(response)")
            #expect(response.header("Location") == nil)
            #expect(response.bodyText != "<p>dir index</p>\n", "no index without the slash")
            #expect(try F.get(server, "/dir/").status == 200)
        }
    }

    @Test func directoryWithoutIndexIs404() throws {
        try F.withSkep { (server: ServerProcess) throws in
            #expect(try F.get(server, "/noindex/").status == 404)
            #expect(try F.get(server, "/noindex/other.txt").status == 200)
        }
    }

    // MARK: - Conditional requests

    @Test func conditionalRequests() throws {
        try F.withSkep { (server: ServerProcess) throws in
            let plain = try F.get(server, "/file.txt")
            let etag = try #require(plain.header("ETag"))
            let lastModified = try #require(plain.header("Last-Modified"))
            let old = "Sat, 01 Jan 2000 00:00:00 GMT"

            for inm in [etag, "*", "W/\(etag)", "\"other\", \(etag)"] {
                let response = try F.get(server, "/file.txt", headers: ["If-None-Match: \(inm)"])
                #expect(response.status == 304, "If-None-Match: \(inm): \(response)")
                #expect(response.body.isEmpty)
                #expect(response.header("ETag") == etag, "If-None-Match: \(inm)")
            }
            let other = try F.get(server, "/file.txt", headers: ["If-None-Match: \"other\""])
            #expect(other.status == 200)

            let same = try F.get(server, "/file.txt", headers: ["If-Modified-Since: \(lastModified)"])
            #expect(same.status == 304)
            #expect(same.body.isEmpty)
            let older = try F.get(server, "/file.txt", headers: ["If-Modified-Since: \(old)"])
            #expect(older.status == 200)
            #expect(older.bodyText == F.fileBody)

            let mismatch = try F.get(server, "/file.txt", headers: ["If-Match: \"nope\""])
            #expect(mismatch.status == 412)
            let match = try F.get(server, "/file.txt", headers: ["If-Match: \(etag)"])
            #expect(match.status == 200)
            let unmodified = try F.get(server, "/file.txt", headers: ["If-Unmodified-Since: \(old)"])
            #expect(unmodified.status == 412)
            let unmodifiedNow = try F.get(server, "/file.txt", headers: ["If-Unmodified-Since: \(lastModified)"])
            #expect(unmodifiedNow.status == 200)

            // HEAD follows the same rules.
            let head = try F.get(server, "/file.txt", headers: ["If-None-Match: \(etag)"], method: "HEAD")
            #expect(head.status == 304)
        }
    }

    // MARK: - Ranges

    @Test func singleRanges() throws {
        try F.withSkep { (server: ServerProcess) throws in
            let cases: [(String, String, String)] = [
                ("bytes=0-4", "bytes 0-4/26", "abcde"),
                ("bytes=-3", "bytes 23-25/26", "xyz"),
                ("bytes=5-", "bytes 5-25/26", "fghijklmnopqrstuvwxyz"),
                ("bytes=20-99", "bytes 20-25/26", "uvwxyz"),
            ]
            for (range, contentRange, body) in cases {
                let response = try F.get(server, "/alpha.txt", headers: ["Range: \(range)"])
                #expect(response.status == 206, "\(range): \(response)")
                #expect(response.header("Content-Range") == contentRange, "\(range)")
                #expect(response.bodyText == body, "\(range)")
                #expect(response.header("Content-Length") == String(body.utf8.count), "\(range)")
            }
        }
    }

    @Test func multipleRangesAreMultipartByteranges() throws {
        try F.withSkep { (server: ServerProcess) throws in
            let response = try F.get(server, "/alpha.txt", headers: ["Range: bytes=0-1,5-6,-2"])
            #expect(response.status == 206)
            let contentType = try #require(response.header("Content-Type"))
            #expect(contentType.hasPrefix("multipart/byteranges; boundary="))
            let boundary = String(contentType.dropFirst("multipart/byteranges; boundary=".count))
            let parts = try Self.parseMultipart(response.body, boundary: boundary)
            #expect(parts.map(\.range) == ["bytes 0-1/26", "bytes 5-6/26", "bytes 24-25/26"])
            #expect(parts.map(\.body) == ["ab", "fg", "yz"])
        }
    }

    /// Parts of a multipart/byteranges body: each part's Content-Range and bytes.
    static func parseMultipart(_ body: [UInt8], boundary: String) throws -> [(range: String, body: String)] {
        let text = String(decoding: body, as: UTF8.self)
        let delimiter = "--" + boundary
        guard text.contains(delimiter + "--") else { throw HarnessError("no closing delimiter in \(text.debugDescription)") }
        var parts: [(String, String)] = []
        for chunk in text.components(separatedBy: delimiter).dropFirst() {
            if chunk.hasPrefix("--") { break }
            guard let split = chunk.range(of: "\r\n\r\n") else { throw HarnessError("part without a head: \(chunk.debugDescription)") }
            let head = chunk[..<split.lowerBound]
            var content = String(chunk[split.upperBound...])
            guard content.hasSuffix("\r\n") else { throw HarnessError("part not ended by CRLF: \(chunk.debugDescription)") }
            content.removeLast()  // "\r\n" is one Character
            let range = head.components(separatedBy: "\r\n")
                .first { $0.lowercased().hasPrefix("content-range:") }
                .map { String($0.dropFirst("content-range:".count)).trimmingWhitespace() } ?? ""
            parts.append((range, content))
        }
        return parts
    }

    @Test func unsatisfiableRangeIs416WithTheSize() throws {
        try F.withSkep { (server: ServerProcess) throws in
            let response = try F.get(server, "/alpha.txt", headers: ["Range: bytes=999-"])
            #expect(response.status == 416)
            #expect(response.header("Content-Range") == "bytes */26")
        }
    }

    @Test func ifRange() throws {
        try F.withSkep { (server: ServerProcess) throws in
            let etag = try #require(try F.get(server, "/alpha.txt").header("ETag"))
            let current = try F.get(server, "/alpha.txt", headers: ["Range: bytes=0-4", "If-Range: \(etag)"])
            #expect(current.status == 206)
            #expect(current.bodyText == "abcde")
            let stale = try F.get(server, "/alpha.txt", headers: ["Range: bytes=0-4", "If-Range: \"stale\""])
            #expect(stale.status == 200)
            #expect(stale.bodyText == F.alphabet)
        }
    }

    // MARK: - Large files

    @Test(arguments: ["On", "Off"])
    func oneMebibyteArrivesIntact(_ sendfile: String) throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try F.withSkep(extra: "EnableSendfile \(sendfile)\nEnableMMAP \(sendfile)", setUp: {
            try $0.root.writeDocument("big.bin", bytes: bytes)
        }) { (server: ServerProcess) throws in
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(20))
            let response = try client.exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.framing == .contentLength(bytes.count))
            #expect(response.body == bytes, "the body differs from the file")
            // The connection is still in step: a second request on it.
            let range = try client.exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=1000000-1000009\r\n\r\n")
            #expect(range.body == Array(bytes[1_000_000...1_000_009]))

            let curl = try Curl.get("http://127.0.0.1:\(server.port)/big.bin")
            #expect(curl.exitCode == 0, "\(curl.stderr)")
            #expect(curl.body == bytes)
        }
    }

    // MARK: - Access control

    @Test func requireAllDeniedInDirectoryAndFiles() throws {
        try F.withSkep(extra: """
            <Directory "@DOCROOT@/sub">
                Require all denied
            </Directory>
            <Files "alpha.txt">
                Require all denied
            </Files>
            """) { (server: ServerProcess) throws in
            #expect(try F.get(server, "/sub/file.txt").status == 403)
            #expect(try F.get(server, "/alpha.txt").status == 403)
            #expect(try F.get(server, "/dir/alpha.txt").status == 403, "<Files> matches in every directory")
            #expect(try F.get(server, "/file.txt").status == 200)
        }
    }

    @Test func requireIpAndRequireLocal() throws {
        try F.withSkep(extra: """
            <Directory "@DOCROOT@/sub">
                Require ip 10.0.0.0/8
            </Directory>
            <Directory "@DOCROOT@/dir">
                Require local
            </Directory>
            """, setUp: { try $0.root.writeDocument("dir/alpha.txt", "a\n") }) { (server: ServerProcess) throws in
            #expect(try F.get(server, "/sub/file.txt").status == 403)
            #expect(try F.get(server, "/dir/").status == 200)
            #expect(try F.get(server, "/dir/alpha.txt").status == 200)
        }
    }

    // MARK: - ErrorDocument, ServerTokens

    @Test func errorDocumentLocalPath() throws {
        try F.withSkep(extra: "ErrorDocument 404 /missing.html", setUp: {
            try $0.root.writeDocument("missing.html", "<p>custom missing page</p>\n")
        }) { (server: ServerProcess) throws in
            let response = try F.get(server, "/nothing-here")
            #expect(response.status == 404)
            #expect(response.bodyText == "<p>custom missing page</p>\n")
            let head = try F.get(server, "/nothing-here", method: "HEAD")
            #expect(head.status == 404)
            #expect(head.body.isEmpty)
        }
    }

    @Test func errorDocumentText() throws {
        try F.withSkep(extra: "ErrorDocument 404 \"Nothing to see here\"\nErrorDocument 403 \"No entry") { (server: ServerProcess) throws in
            let response = try F.get(server, "/nothing-here")
            #expect(response.status == 404)
            #expect(response.bodyText == "Nothing to see here")
        }
    }

    @Test func serverTokensProd() throws {
        try F.withSkep(extra: "ServerTokens Prod") { (server: ServerProcess) throws in
            #expect(try F.get(server, "/file.txt").header("Server") == "Skep")
            #expect(try F.get(server, "/nothing").header("Server") == "Skep")
        }
    }

    // MARK: - Symlinks

    @Test func symlinksFollowedByDefault() throws {
        try F.withSkep(setUp: { config in
            #expect(symlink(config.root.docroot + "/file.txt", config.root.docroot + "/link.txt") == 0)
        }) { (server: ServerProcess) throws in
            let response = try F.get(server, "/link.txt")
            #expect(response.status == 200)
            #expect(response.bodyText == F.fileBody)
        }
    }

    @Test func symlinksRefusedWithoutFollowSymLinks() throws {
        try F.withSkep(extra: """
            <Directory "@DOCROOT@">
                Options -FollowSymLinks
            </Directory>
            """, setUp: { config in
            #expect(symlink(config.root.docroot + "/file.txt", config.root.docroot + "/link.txt") == 0)
            #expect(symlink(config.root.docroot + "/sub", config.root.docroot + "/linkdir") == 0)
        }) { (server: ServerProcess) throws in
            #expect(try F.get(server, "/link.txt").status == 403)
            let throughLinkedDirectory = try F.get(server, "/linkdir/file.txt")
            #expect(throughLinkedDirectory.status == 403, "\(throughLinkedDirectory)")
            #expect(try F.get(server, "/file.txt").status == 200)
        }
    }

    // MARK: - Virtual hosts

    @Test func nameBasedVirtualHosts() throws {
        try F.withSkep(extra: """
            <VirtualHost 127.0.0.1:@PORT@>
                ServerName first.test
                DocumentRoot "@ROOT@/first"
            </VirtualHost>
            <VirtualHost 127.0.0.1:@PORT@>
                ServerName second.test
                ServerAlias www.second.test
                DocumentRoot "@ROOT@/second"
            </VirtualHost>
            <Directory "@ROOT@/first">
                Require all granted
            </Directory>
            <Directory "@ROOT@/second">
                Require all granted
            </Directory>
            """, setUp: {
            try $0.root.writeFile("first/which.txt", "first\n")
            try $0.root.writeFile("second/which.txt", "second\n")
        }) { (server: ServerProcess) throws in
            func which(_ host: String) throws -> String {
                try F.exchange(server, "GET /which.txt HTTP/1.1\r\nHost: \(host)\r\n\r\n").bodyText
            }
            #expect(try which("first.test") == "first\n")
            #expect(try which("second.test") == "second\n")
            #expect(try which("SECOND.test:\(server.port)") == "second\n", "host names are case-insensitive; the port is ignored")
            #expect(try which("www.second.test") == "second\n")
            #expect(try which("unknown.test") == "first\n", "an unknown Host gets the first vhost")
            let old = try F.exchange(server, "GET /which.txt HTTP/1.0\r\n\r\n")
            #expect(old.bodyText == "first\n", "no Host at all: the first vhost")
        }
    }
}
