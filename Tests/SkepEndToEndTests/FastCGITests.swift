import Foundation
import Glibc
import Testing

/// mod_proxy + mod_proxy_fcgi to a private php-fpm (issue #4). Every test runs against
/// Apache first (the oracle: it proves the expectation) and then skep, with the same
/// config; the functional tests under the three MPMs. One php-fpm per test (it starts
/// in a fraction of a second); the tests run one after another, since some measure
/// time (streaming, backend timeouts) on a 2-core machine.
@Suite(.serialized, .tags(.phpFPM, .skepBinary), .enabled(if: PHPFPM.isAvailable, "needs php-fpm (/usr/sbin/php-fpm*)"),
       .timeLimit(.minutes(10)))
enum FastCGI {}

extension FastCGI {
    /// What PHP sees and what the client gets when everything works.
    @Suite struct FastCGITests {
        typealias F = FastCGIFixture

        // MARK: - The CGI environment

        /// The CGI/1.1 environment as Apache builds it, seen by PHP in `$_SERVER`, through
        /// `SetHandler "proxy:unix:...|fcgi://localhost"`. The values are Apache 2.4.71's,
        /// measured.
        @Test(arguments: F.servers, MPM.allCases)
        func environmentAsApacheBuildsIt(kind: ServerKind, mpm: MPM) throws {
            try F.withServer(kind, mpm: mpm, extra: F.unixHandler) { server, _ in
                let docroot = server.config.root.docroot
                let (env, clientPort) = try F.environment(
                    server, "/env.php/extra/path?a=1&b=two",
                    headers: ["X-Custom-Thing: yes", "Cookie: c=1", "Proxy: http://evil.example:3128/", "Accept: */*"])
                let expected: [String: String] = [
                    "SCRIPT_FILENAME": docroot + "/env.php",
                    "SCRIPT_NAME": "/env.php",
                    "PATH_INFO": "/extra/path",
                    "PATH_TRANSLATED": docroot + "/extra/path",
                    "QUERY_STRING": "a=1&b=two",
                    "REQUEST_METHOD": "GET",
                    "REQUEST_URI": "/env.php/extra/path?a=1&b=two",
                    "DOCUMENT_ROOT": docroot,
                    "CONTEXT_DOCUMENT_ROOT": docroot,
                    "CONTEXT_PREFIX": "",
                    "SERVER_NAME": "127.0.0.1",
                    "SERVER_PORT": String(server.port),
                    "SERVER_ADDR": "127.0.0.1",
                    "SERVER_PROTOCOL": "HTTP/1.1",
                    "SERVER_SIGNATURE": "",
                    "SERVER_ADMIN": "[no address given]",
                    "REMOTE_ADDR": "127.0.0.1",
                    "GATEWAY_INTERFACE": "CGI/1.1",
                    "REQUEST_SCHEME": "http",
                    "HTTP_HOST": "127.0.0.1:\(server.port)",
                    "HTTP_X_CUSTOM_THING": "yes",
                    "HTTP_COOKIE": "c=1",
                    "HTTP_ACCEPT": "*/*",
                    "HTTP_CONNECTION": "close",
                    "FPM_POOL": "unix",
                ]
                for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
                    #expect(env[name] == value, "\(kind): \(name)")
                }
                #expect(env["REMOTE_PORT"] == clientPort.map { String($0) }, "\(kind): REMOTE_PORT")
                #expect(env["SERVER_SOFTWARE"]?.isEmpty == false, "\(kind): SERVER_SOFTWARE")
                // Apache passes its own PATH (the harness starts both servers with ours).
                #expect(env["PATH"] == ServerBinary.environment()["PATH"], "\(kind): PATH")
                // httpoxy: a `Proxy:` request header never becomes HTTP_PROXY.
                #expect(env["HTTP_PROXY"] == nil, "\(kind): HTTP_PROXY must not be set (httpoxy)")
                // No body, no CONTENT_*.
                #expect(env["CONTENT_LENGTH"] == nil, "\(kind)")
                #expect(env["CONTENT_TYPE"] == nil, "\(kind)")
                // Apache sends REDIRECT_STATUS only after an internal redirect; skep always
                // (README: PHP built with --enable-force-cgi-redirect wants it), a decided difference.
                #expect(env["REDIRECT_STATUS"] == (kind == .apache ? nil : "200"), "\(kind): REDIRECT_STATUS")

                // A body: CONTENT_LENGTH and CONTENT_TYPE; no query: QUERY_STRING present and empty.
                let (post, _) = try F.environment(
                    server, "/env.php", headers: ["Content-Type: application/x-www-form-urlencoded"],
                    method: "POST", body: "x=1&y=2")
                #expect(post["REQUEST_METHOD"] == "POST", "\(kind)")
                #expect(post["CONTENT_LENGTH"] == "7", "\(kind)")
                #expect(post["CONTENT_TYPE"] == "application/x-www-form-urlencoded", "\(kind)")
                #expect(post["QUERY_STRING"] == "", "\(kind): QUERY_STRING is sent, empty")
                #expect(post["PATH_INFO"] == nil, "\(kind): no PATH_INFO without extra path")
                #expect(post["SCRIPT_NAME"] == "/env.php", "\(kind)")

                // PATH_INFO is decoded; REQUEST_URI is not.
                let (encoded, _) = try F.environment(server, "/env.php/a%20b/c")
                #expect(encoded["PATH_INFO"] == "/a b/c", "\(kind)")
                #expect(encoded["PATH_TRANSLATED"] == docroot + "/a b/c", "\(kind)")
                #expect(encoded["REQUEST_URI"] == "/env.php/a%20b/c", "\(kind)")
            }
        }

        /// Names Apache sends that skep need not: `proxy-nokeepalive=1` is mod_proxy's
        /// internal note that leaks into the params of `proxy:unix:` handlers.
        static let apacheInternalNames: Set<String> = ["proxy-nokeepalive"]

        /// Names skep sends that Apache does not, decided (README, "PHP through PHP-FPM"):
        /// REDIRECT_STATUS on every request.
        static let skepOnlyNames: Set<String> = ["REDIRECT_STATUS"]

        /// Values that legitimately differ between the two servers.
        static let volatileNames: Set<String> = [
            "REMOTE_PORT", "SERVER_PORT", "HTTP_HOST", "SERVER_SOFTWARE", "REQUEST_TIME", "REQUEST_TIME_FLOAT",
        ]

        /// The same requests, through every way of routing to php-fpm, to Apache and skep
        /// at once: PHP sees the same set of `$_SERVER` names, and the same values once the
        /// two ServerRoots are written `@ROOT@` (ports, SERVER_SOFTWARE, times excluded).
        @Test(.enabled(if: Oracle.isAvailable, "needs /usr/sbin/apache2"), .tags(.apache))
        func environmentMatchesApacheForEveryRoute() throws {
            try PHPFPM.with { fpm in
                let extra = """
                    \(F.unixHandler(fpm))
                    \(F.tcpDirectory(fpm))
                    ProxyPass "/app/" "fcgi://\(fpm.tcpAddress)@DOCROOT@/"
                    ProxyPassMatch "^/pm/(.*\\.php(/.*)?)$" "fcgi://\(fpm.tcpAddress)@DOCROOT@/$1"
                    ProxyPassMatch "^/pmu/(.*\\.php(/.*)?)$" "unix:\(fpm.socketPath)|fcgi://localhost@DOCROOT@/$1"
                    <Directory "@DOCROOT@/passauth">
                        CGIPassAuth On
                    </Directory>
                    """
                try withServerPair(setUp: { config in
                    config.modules = F.modules
                    config.extra = extra
                    try F.populate(config.root)
                    try config.root.writeDocument("tcp/env.php", F.envScript)
                    try config.root.writeDocument("passauth/env.php", F.envScript)
                }) { skep, apache in
                    let requests: [(String, String, String?)] = [
                        ("/env.php/p/q?x=1", "GET", nil),
                        ("/env.php", "POST", "a=b"),
                        ("/tcp/env.php/p/q?x=1", "GET", nil),
                        ("/app/env.php/p/q?x=1", "GET", nil),
                        ("/pm/env.php/p/q?x=1", "GET", nil),
                        ("/pmu/env.php/p/q?x=1", "GET", nil),
                        ("/pmu/env.php", "POST", "a=b"),
                        ("/passauth/env.php", "GET", nil),
                    ]
                    for (path, method, body) in requests {
                        // `Authorization` reaches the script only under `CGIPassAuth On`.
                        let headers = ["X-Test: 1", "Authorization: Basic dXNlcjpwdw=="]
                            + (body == nil ? [] : ["Content-Type: application/x-www-form-urlencoded"])
                        let a = try F.environment(apache, path, headers: headers, method: method, body: body).env
                        let s: [String: String]
                        do {
                            s = try F.environment(skep, path, headers: headers, method: method, body: body).env
                        } catch {
                            Issue.record("skep, \(method) \(path): \(error)")
                            continue
                        }
                        #expect(s["HTTP_AUTHORIZATION"] == (path.hasPrefix("/passauth/") ? "Basic dXNlcjpwdw==" : nil),
                                "\(method) \(path): HTTP_AUTHORIZATION only under CGIPassAuth On")
                        let apacheNames = Set(a.keys).subtracting(Self.apacheInternalNames)
                        let skepNames = Set(s.keys).subtracting(Self.skepOnlyNames)
                        #expect(skepNames.subtracting(apacheNames).isEmpty,
                                "\(method) \(path): names only skep sends: \(skepNames.subtracting(apacheNames).sorted())")
                        #expect(apacheNames.subtracting(skepNames).isEmpty,
                                "\(method) \(path): names only Apache sends: \(apacheNames.subtracting(skepNames).sorted())")
                        for name in apacheNames.intersection(skepNames).subtracting(Self.volatileNames).sorted() {
                            let apacheValue = a[name]!.replacingOccurrences(of: apache.config.root.path, with: "@ROOT@")
                            let skepValue = s[name]!.replacingOccurrences(of: skep.config.root.path, with: "@ROOT@")
                            #expect(skepValue == apacheValue, "\(method) \(path): \(name)")
                        }
                    }
                }
            }
        }

        // MARK: - Request bodies

        @Test(arguments: F.servers, MPM.allCases)
        func requestBodiesReachPHP(kind: ServerKind, mpm: MPM) throws {
            try F.withServer(kind, mpm: mpm, extra: { fpm in
                """
                \(F.unixHandler(fpm))
                <IfModule env_module>
                    <Directory "@DOCROOT@/sendcl">
                        SetEnv proxy-sendcl 1
                    </Directory>
                </IfModule>
                """
            }, setUp: { config in
                try config.root.writeDocument("sendcl/post.php", F.postScript)
            }) { server, _ in
                let base = "http://127.0.0.1:\(server.port)"

                // GET with a query: $_GET.
                let get = try F.json(F.get(server, "/post.php?q=1&r=two%20words"))
                #expect(get["method"] as? String == "GET", "\(kind)")
                #expect(get["get"] as? [String: String] == ["q": "1", "r": "two words"], "\(kind)")
                #expect(get["input_length"] as? Int == 0, "\(kind)")

                // POST urlencoded: $_POST.
                let form = "a=1&b=hello+world&c=%C3%A9"
                let posted = try F.json(F.exchange(server, """
                    POST /post.php HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: application/x-www-form-urlencoded\r
                    Content-Length: \(form.utf8.count)\r
                    Connection: close\r
                    \r
                    \(form)
                    """))
                #expect(posted["post"] as? [String: String] == ["a": "1", "b": "hello world", "c": "é"], "\(kind)")
                #expect(posted["content_length"] as? String == String(form.utf8.count), "\(kind)")
                #expect(posted["input_length"] as? Int == form.utf8.count, "\(kind)")

                // POST multipart (curl -F): $_FILES with the file's bytes intact, and $_POST.
                var generator = SystemRandomNumberGenerator()
                let upload = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let file = try server.config.root.writeFile("upload.bin", "")
                try Data(upload).write(to: URL(fileURLWithPath: file))
                let multipart = try Curl.run(["-F", "upload=@\(file);filename=upload.bin", "-F", "x=y", base + "/post.php"])
                #expect(multipart.status == 200, "\(kind): \(multipart.stderr)")
                let mp = try F.json(multipart.body)
                #expect(mp["post"] as? [String: String] == ["x": "y"], "\(kind)")
                let files = mp["files"] as? [String: Any]
                let uploaded = files?["upload"] as? [String: Any]
                #expect(uploaded?["name"] as? String == "upload.bin", "\(kind): \(mp)")
                #expect(uploaded?["size"] as? Int == upload.count, "\(kind)")
                #expect(uploaded?["error"] as? Int == 0, "\(kind)")
                #expect(uploaded?["crc"] as? String == F.crc32(upload), "\(kind): the uploaded file's bytes")
                #expect((mp["content_type"] as? String)?.hasPrefix("multipart/form-data; boundary=") == true, "\(kind)")

                // Chunked POST, urlencoded, the whole request in one write: PHP parses it and
                // sees a CONTENT_LENGTH (Apache computes one when the whole chunked body has
                // arrived with the head).
                let pieces = ["a=1&", "b=chunked", "&c=3"]
                let chunkedForm = try chunkedPost(server, "/post.php", contentType: "application/x-www-form-urlencoded",
                                                  pieces.map { Array($0.utf8) }, oneWrite: true)
                #expect(chunkedForm["post"] as? [String: String] == ["a": "1", "b": "chunked", "c": "3"], "\(kind): \(chunkedForm)")
                #expect(chunkedForm["content_length"] as? String == String(pieces.joined().utf8.count), "\(kind)")

                // Chunked POST, 300 KB of binary streamed in 7000-byte chunks. With
                // `SetEnv proxy-sendcl 1` Apache spools it and sends CONTENT_LENGTH: PHP gets
                // it all. Without, Apache 2.4.71 streams it with no CONTENT_LENGTH and PHP
                // reads nothing; skep spools it always (deliberately: PHP needs the length).
                let binary = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let chunks = stride(from: 0, to: binary.count, by: 7000).map { Array(binary[$0..<min($0 + 7000, binary.count)]) }
                for path in ["/sendcl/post.php", "/post.php"] {
                    let result = try chunkedPost(server, path, contentType: "application/octet-stream", chunks, oneWrite: false)
                    if kind == .apache && path == "/post.php" {
                        #expect(result["content_length"] is NSNull, "\(kind) \(path): \(result)")
                        #expect(result["input_length"] as? Int == 0, "\(kind) \(path)")
                        continue
                    }
                    #expect(result["input_length"] as? Int == binary.count, "\(kind) \(path)")
                    #expect(result["input_crc"] as? String == F.crc32(binary), "\(kind) \(path)")
                    #expect(result["content_length"] as? String == String(binary.count), "\(kind) \(path): CONTENT_LENGTH of a chunked body")
                }
            }
        }

        /// POSTs `chunks` to `path` with `Transfer-Encoding: chunked` (in one write, or a
        /// write per chunk); post.php's JSON.
        func chunkedPost(_ server: ServerProcess, _ path: String, contentType: String, _ chunks: [[UInt8]], oneWrite: Bool) throws -> [String: Any] {
            let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
            defer { client.close() }
            let head = Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
            let framed = chunks.map { Array(String($0.count, radix: 16).utf8) + [13, 10] + $0 + [13, 10] }
            let end = Array("0\r\n\r\n".utf8)
            if oneWrite {
                try client.send(head + framed.joined() + end)
            } else {
                try client.send(head)
                for chunk in framed { try client.send(chunk) }
                try client.send(end)
            }
            return try F.json(client.readResponse())
        }

        // MARK: - Responses

        /// Status, headers and bodies from PHP pass through; a 5 MiB body arrives whole;
        /// DirectoryIndex index.php goes through the handler.
        @Test(arguments: F.servers, MPM.allCases)
        func responsesPassThrough(kind: ServerKind, mpm: MPM) throws {
            try F.withServer(kind, mpm: mpm, extra: F.unixHandler) { server, _ in
                let hello = try F.get(server, "/hello.php")
                #expect(hello.status == 200, "\(kind): \(hello)")
                #expect(hello.bodyText == "Hello from PHP\n", "\(kind)")
                #expect(hello.header("Content-Type")?.hasPrefix("text/html") == true, "\(kind): PHP's default type")

                let teapot = try F.get(server, "/headers.php")
                #expect(teapot.status == 418, "\(kind): \(teapot)")
                #expect(teapot.header("X-Foo") == "bar", "\(kind)")
                #expect(teapot.bodyText == "teapot\n", "\(kind)")

                let gone = try F.get(server, "/status.php")
                #expect(gone.status == 404, "\(kind): \(gone)")
                #expect(gone.reason == "Not Found", "\(kind)")
                #expect(gone.bodyText == "gone\n", "\(kind): the script's own body")

                let away = try F.get(server, "/away.php")
                #expect(away.status == 302, "\(kind): \(away)")
                #expect(away.header("Location") == "http://example.com/", "\(kind)")

                // PHP answers `header('Location: /other.php')` with `Status: 302` itself, so
                // the client is redirected (it is not a CGI local redirect).
                let local = try F.get(server, "/local.php")
                #expect(local.status == 302, "\(kind): \(local)")
                #expect(local.header("Location") == "/other.php?from=local", "\(kind)")

                let big = try F.get(server, "/big.php", timeout: .seconds(30))
                #expect(big.status == 200, "\(kind): \(big)")
                #expect(big.body.count == F.bigSize, "\(kind): 5 MiB")
                if big.body.count == F.bigSize {
                    let intact = stride(from: 0, to: F.bigSize, by: F.bigBlock.count).allSatisfy {
                        big.body[$0..<$0 + F.bigBlock.count].elementsEqual(F.bigBlock)
                    }
                    #expect(intact, "\(kind): the 5 MiB body's bytes")
                }

                let index = try F.get(server, "/dir/")
                #expect(index.status == 200, "\(kind): \(index)")
                #expect(index.bodyText == "index.php as /dir/index.php\n", "\(kind)")

                // Keep-alive across PHP responses: three requests on one connection.
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { client.close() }
                for path in ["/hello.php", "/headers.php", "/hello.php"] {
                    let response = try client.exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    #expect([200, 418].contains(response.status), "\(kind) keep-alive \(path): \(response)")
                }
            }
        }

        // MARK: - Streaming

        /// With `flushpackets=on`, what PHP flushes reaches the client at once: "first"
        /// arrives well before the script's 2-second sleep ends.
        @Test(arguments: F.servers, MPM.allCases)
        func flushpacketsStreamsTheBody(kind: ServerKind, mpm: MPM) throws {
            try F.withServer(kind, mpm: mpm, extra: { fpm in
                """
                ProxyPass "/flushed/" "fcgi://\(fpm.tcpAddress)@DOCROOT@/" flushpackets=on enablereuse=on timeout=10
                """
            }) { server, _ in
                try expectStreams(server, "/flushed/stream.php", kind: kind)
            }
        }

        /// The same through `<Proxy "fcgi://127.0.0.1:PORT"> ProxySet ...` and a TCP SetHandler.
        @Test(arguments: F.servers)
        func proxySetFlushpacketsStreamsTheBody(kind: ServerKind) throws {
            try F.withServer(kind, extra: { fpm in
                """
                \(F.tcpHandler(fpm))
                <Proxy "fcgi://\(fpm.tcpAddress)">
                    ProxySet timeout=10 enablereuse=on flushpackets=on
                </Proxy>
                """
            }) { server, _ in
                try expectStreams(server, "/stream.php", kind: kind)
            }
        }

        func expectStreams(_ server: ServerProcess, _ path: String, kind: ServerKind,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
            let timed = try F.timedGet(server, path)
            let text = String(decoding: timed.raw, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(kind): \(text.prefix(200).debugDescription)", sourceLocation: sourceLocation)
            #expect(text.contains("second"), "\(kind): the whole body: \(text.debugDescription)", sourceLocation: sourceLocation)
            let first = timed.arrival(of: "first")
            let second = timed.arrival(of: "second")
            #expect(first != nil && first! < .milliseconds(1500),
                    "\(kind): first body bytes at \(first.map(String.init(describing:)) ?? "never") (the script sleeps 2 s after flushing)",
                    sourceLocation: sourceLocation)
            #expect(second != nil && second! >= .milliseconds(1900),
                    "\(kind): second part at \(second.map(String.init(describing:)) ?? "never")", sourceLocation: sourceLocation)
        }

        // MARK: - ProxyPass and ProxyPassMatch

        /// `ProxyPass` and `ProxyPassMatch` (TCP and unix socket, with worker parameters),
        /// `ProxyFCGIBackendType`: PHP finds the script and splits PATH_INFO the same way.
        @Test(arguments: F.servers, MPM.allCases)
        func proxyPassRoutes(kind: ServerKind, mpm: MPM) throws {
            try F.withServer(kind, mpm: mpm, extra: { fpm in
                """
                ProxyFCGIBackendType FPM
                ProxyPass "/app/" "fcgi://\(fpm.tcpAddress)@DOCROOT@/" enablereuse=on timeout=10 flushpackets=on
                ProxyPassMatch "^/u/(.*\\.php(/.*)?)$" "unix:\(fpm.socketPath)|fcgi://localhost@DOCROOT@/$1"
                ProxyPassMatch "^/(.*\\.php(/.*)?)$" "fcgi://\(fpm.tcpAddress)@DOCROOT@/$1"
                <Directory "@DOCROOT@/generic">
                    ProxyFCGIBackendType GENERIC
                    <FilesMatch "\\.php$">
                        SetHandler "proxy:fcgi://\(fpm.tcpAddress)"
                    </FilesMatch>
                </Directory>
                """
            }, setUp: { config in
                try config.root.writeDocument("generic/env.php", F.envScript)
            }) { server, _ in
                let docroot = server.config.root.docroot
                let cases: [(path: String, scriptName: String, pathInfo: String?, file: String, query: String, pool: String)] = [
                    ("/app/env.php/x/y?q=1", "/app/env.php", "/x/y", docroot + "/env.php", "q=1", "tcp"),
                    ("/app/env.php", "/app/env.php", nil, docroot + "/env.php", "", "tcp"),
                    ("/env.php/x/y?q=2", "/env.php", "/x/y", docroot + "/env.php", "q=2", "tcp"),
                    ("/u/env.php/x/y?q=3", "/u/env.php", "/x/y", docroot + "/env.php", "q=3", "unix"),
                    ("/generic/env.php/x?q=4", "/generic/env.php", "/x", docroot + "/generic/env.php", "q=4", "tcp"),
                ]
                for c in cases {
                    let (env, _) = try F.environment(server, c.path)
                    #expect(env["FPM_POOL"] == c.pool, "\(kind) \(c.path): the php-fpm pool")
                    #expect(env["SCRIPT_NAME"] == c.scriptName, "\(kind) \(c.path): SCRIPT_NAME")
                    #expect(env["PATH_INFO"] == c.pathInfo, "\(kind) \(c.path): PATH_INFO")
                    #expect(env["SCRIPT_FILENAME"] == c.file, "\(kind) \(c.path): SCRIPT_FILENAME")
                    #expect(env["QUERY_STRING"] == c.query, "\(kind) \(c.path): QUERY_STRING")
                    #expect(env["REQUEST_URI"] == c.path, "\(kind) \(c.path): REQUEST_URI")
                    #expect(env["DOCUMENT_ROOT"] == docroot, "\(kind) \(c.path): DOCUMENT_ROOT")
                }
                // enablereuse=on: one request after another, on one client connection too.
                let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
                defer { client.close() }
                for i in 0..<5 {
                    let response = try client.exchange("GET /app/hello.php HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    #expect(response.status == 200, "\(kind) reuse \(i): \(response)")
                    #expect(response.bodyText == "Hello from PHP\n", "\(kind) reuse \(i)")
                }
                let form = "k=v"
                let posted = try F.json(F.exchange(server, "POST /app/post.php HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\n\(form)"))
                #expect(posted["post"] as? [String: String] == ["k": "v"], "\(kind)")
            }
        }
    }
}
