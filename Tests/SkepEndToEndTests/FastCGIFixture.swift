import Foundation
import Glibc
import Testing

/// The PHP scripts, configs and helpers of the mod_proxy_fcgi tests (FastCGITests,
/// FastCGIFaultTests). Each test starts a private php-fpm (`PHPFPM`), writes the
/// scripts into its server's docroot and starts skep or Apache (the oracle) with the
/// same Apache config; php-fpm is given absolute script paths, so one php-fpm serves
/// both servers' docroots.
enum FastCGIFixture {
    /// The servers a test runs against: Apache first (it proves the expectation), then
    /// skep; skep alone when Apache is not installed.
    static let servers: [ServerKind] = Oracle.isAvailable ? [.apache, .skep] : [.skep]

    /// Apache's default modules plus mod_env (for `SetEnv proxy-sendcl`, guarded by
    /// `<IfModule env_module>`), mod_proxy and mod_proxy_fcgi (skep's rendering keeps
    /// those skep has: `TestConfig.skepAvailableModules`).
    static let modules = TestConfig.defaultModules + ["env", "proxy", "proxy_fcgi"]

    // MARK: - Scripts

    /// `$_SERVER` as a JSON object.
    static let envScript = """
        <?php
        header('Content-Type: application/json');
        echo json_encode($_SERVER, JSON_INVALID_UTF8_SUBSTITUTE | JSON_UNESCAPED_SLASHES);
        """

    /// What PHP made of the request body: $_GET, $_POST, $_FILES (with each file's
    /// CRC-32), php://input's length and CRC-32, CONTENT_LENGTH, CONTENT_TYPE.
    static let postScript = """
        <?php
        header('Content-Type: application/json');
        $input = file_get_contents('php://input');
        $files = [];
        foreach ($_FILES as $field => $f) {
            $files[$field] = ['name' => $f['name'], 'size' => $f['size'], 'error' => $f['error'],
                'crc' => $f['error'] === 0 ? hash_file('crc32b', $f['tmp_name']) : null];
        }
        echo json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'get' => $_GET, 'post' => $_POST,
            'files' => (object)$files, 'input_length' => strlen($input), 'input_crc' => hash('crc32b', $input),
            'content_length' => $_SERVER['CONTENT_LENGTH'] ?? null,
            'content_type' => $_SERVER['CONTENT_TYPE'] ?? null], JSON_UNESCAPED_SLASHES);
        """

    /// 5 MiB: 5120 blocks of 1 KiB, each `bigBlock`.
    static let bigScript = """
        <?php
        header('Content-Type: application/octet-stream');
        $block = str_repeat('0123456789abcdef', 64);
        for ($i = 0; $i < 5120; $i++) { echo $block; }
        """
    static let bigBlock = Array(String(repeating: "0123456789abcdef", count: 64).utf8)
    static let bigSize = 5 * 1024 * 1024

    /// "first", flush, sleep 2 s, "second".
    static let streamScript = """
        <?php
        header('Content-Type: text/plain');
        echo "first\\n";
        flush();
        sleep(2);
        echo "second\\n";
        """

    /// Sleeps `?s=` seconds (default 3).
    static let sleepScript = """
        <?php
        $s = isset($_GET['s']) ? (float)$_GET['s'] : 3.0;
        usleep((int)($s * 1000000));
        echo "slept $s\\n";
        """

    static let scripts: [String: String] = [
        "env.php": envScript,
        "post.php": postScript,
        "big.php": bigScript,
        "stream.php": streamScript,
        "sleep.php": sleepScript,
        "hello.php": "<?php\necho \"Hello from PHP\\n\";\n",
        "headers.php": """
            <?php
            header('X-Foo: bar');
            http_response_code(418);
            echo "teapot\\n";
            """,
        "status.php": """
            <?php
            header('Status: 404 Not Found');
            echo "gone\\n";
            """,
        "away.php": "<?php\nheader('Location: http://example.com/');\n",
        // PHP itself turns a bare Location into a 302 (it sends `Status: 302 Found`).
        "local.php": "<?php\nheader('Location: /other.php?from=local');\n",
        "other.php": "<?php\necho \"other script\\n\";\n",
        "dir/index.php": "<?php\necho 'index.php as ' . $_SERVER['SCRIPT_NAME'] . \"\\n\";\n",
        "static.txt": "static file\n",
    ]

    /// Writes the scripts into `root`'s docroot.
    static func populate(_ root: TestServerRoot) throws {
        for (path, text) in scripts {
            try root.writeDocument(path, text)
        }
    }

    // MARK: - Configs

    /// `<FilesMatch "\.php$"> SetHandler "proxy:unix:SOCK|fcgi://localhost"` and
    /// `DirectoryIndex index.php`: the usual Debian php-fpm setup.
    static func unixHandler(_ fpm: PHPFPM) -> String {
        """
        DirectoryIndex index.php
        <FilesMatch "\\.php$">
            SetHandler "proxy:unix:\(fpm.socketPath)|fcgi://localhost"
        </FilesMatch>
        """
    }

    /// The same over TCP: `SetHandler "proxy:fcgi://127.0.0.1:PORT"`.
    static func tcpHandler(_ fpm: PHPFPM) -> String {
        """
        DirectoryIndex index.php
        <FilesMatch "\\.php$">
            SetHandler "proxy:fcgi://\(fpm.tcpAddress)"
        </FilesMatch>
        """
    }

    /// `<Directory "@DOCROOT@/tcp">` whose PHP files go to the TCP pool: a nested
    /// `<FilesMatch>` that must win over the server's own.
    static func tcpDirectory(_ fpm: PHPFPM) -> String {
        """
        <Directory "@DOCROOT@/tcp">
            <FilesMatch "\\.php$">
                SetHandler "proxy:fcgi://\(fpm.tcpAddress)"
            </FilesMatch>
        </Directory>
        """
    }

    /// Starts php-fpm, renders a config for `kind` and `mpm` with the scripts in the
    /// docroot and `extra(fpm)`, starts the server, runs `body`, stops both.
    @discardableResult
    static func withServer<R>(
        _ kind: ServerKind, mpm: MPM = .event, extra: (PHPFPM) -> String,
        setUp: (inout TestConfig) throws -> Void = { _ in },
        _ body: (ServerProcess, PHPFPM) throws -> R
    ) throws -> R {
        try PHPFPM.with { fpm in
            var config = try TestConfig(mpm: mpm)
            do {
                config.modules = modules
                config.extra = extra(fpm)
                try populate(config.root)
                try setUp(&config)
            } catch {
                config.root.remove()
                throw error
            }
            return try SkepEndToEndTests.withServer(kind, config: config) { server in
                try body(server, fpm)
            }
        }
    }

    // MARK: - Requests

    /// Sends `request` on a new connection and reads one response.
    static func exchange(_ server: ServerProcess, _ request: String, timeout: Duration = .seconds(15)) throws -> HTTPResponse {
        let client = try RawHTTPClient(port: server.port, timeout: timeout)
        defer { client.close() }
        return try client.exchange(request)
    }

    /// `GET path` (HTTP/1.1, `Host: 127.0.0.1:PORT`, `Connection: close`) plus `headers`.
    static func get(_ server: ServerProcess, _ path: String, headers: [String] = [], timeout: Duration = .seconds(15)) throws -> HTTPResponse {
        let extra = headers.map { $0 + "\r\n" }.joined()
        return try exchange(server, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\(extra)Connection: close\r\n\r\n", timeout: timeout)
    }

    /// A JSON object body as [String: Any].
    static func json(_ response: HTTPResponse) throws -> [String: Any] {
        guard response.status == 200 else {
            throw HarnessError("expected 200 and JSON: \(response) \(String(decoding: response.body.prefix(500), as: UTF8.self).debugDescription)")
        }
        return try json(response.body)
    }

    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw HarnessError("not a JSON object: \(String(decoding: bytes.prefix(500), as: UTF8.self).debugDescription)")
        }
        return object
    }

    /// `$_SERVER` as PHP saw it (values as strings), from env.php at `path`, and the
    /// port the request came from.
    static func environment(
        _ server: ServerProcess, _ path: String, headers: [String] = [], method: String = "GET", body: String? = nil
    ) throws -> (env: [String: String], clientPort: UInt16?) {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n"
        request += headers.map { $0 + "\r\n" }.joined()
        if let body { request += "Content-Length: \(body.utf8.count)\r\n" }
        request += "Connection: close\r\n\r\n" + (body ?? "")
        let client = try RawHTTPClient(port: server.port, timeout: .seconds(15))
        defer { client.close() }
        let clientPort = client.localPort
        let response = try client.exchange(request)
        guard response.status == 200 else {
            throw HarnessError("\(path): \(response) \(response.bodyText.prefix(300))\n\(server.diagnostics())")
        }
        var env: [String: String] = [:]
        for (key, value) in try json(response) {
            env[key] = (value as? String) ?? "\(value)"
        }
        return (env, clientPort)
    }

    // MARK: - Checks

    /// CRC-32 (IEEE, as PHP's `hash('crc32b')`), lowercase hex.
    static func crc32(_ bytes: [UInt8]) -> String {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xedb8_8320 & (0 &- (crc & 1))) }
        }
        let value = String(crc ^ 0xffff_ffff, radix: 16)
        return String(repeating: "0", count: 8 - value.count) + value
    }

    /// A new connection still gets /hello.php (through php-fpm) with 200.
    static func expectStillServing(
        _ server: ServerProcess, after what: String, path: String = "/hello.php", body: String = "Hello from PHP\n",
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let response = try get(server, path)
            #expect(response.status == 200, "after \(what): \(response)", sourceLocation: sourceLocation)
            #expect(response.bodyText == body, "after \(what)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("after \(what), a new request failed: \(error)\n\(server.diagnostics())", sourceLocation: sourceLocation)
        }
        #expect(server.isRunning, "\(server.kind) exited after \(what)", sourceLocation: sourceLocation)
    }

    /// Waits (bounded) for the error log to contain `text`.
    static func expectErrorLog(
        _ server: ServerProcess, contains text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            try Deadline.wait(for: "\(server.kind)'s error log to mention \(text.debugDescription)", timeout: .seconds(5)) {
                server.errorLog().contains(text)
            }
        } catch {
            Issue.record("\(error)\n--- error log ---\n\(server.errorLog().suffix(2000))", sourceLocation: sourceLocation)
        }
    }

    /// What arrived, and when, for a request whose body streams in.
    struct Timed {
        var raw: [UInt8]
        /// Elapsed time at which `raw.count` had reached each value.
        var arrivals: [(elapsed: Duration, total: Int)]
        var closed: Bool

        /// When the bytes up to and including the first occurrence of `marker` after
        /// the head had arrived; nil if it never did.
        func arrival(of marker: String) -> Duration? {
            let needle = Array(marker.utf8)
            guard let headEnd = Self.find(Array("\r\n\r\n".utf8), in: raw, from: 0),
                  let at = Self.find(needle, in: raw, from: headEnd + 4) else { return nil }
            return arrivals.first { $0.total >= at + needle.count }?.elapsed
        }

        static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
            guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
            for i in start...(haystack.count - needle.count) where haystack[i..<i + needle.count].elementsEqual(needle) {
                return i
            }
            return nil
        }
    }

    /// Sends `GET path` with `Connection: close` and records every arrival until the
    /// server closes (or `timeout`).
    static func timedGet(_ server: ServerProcess, _ path: String, timeout: Duration = .seconds(15)) throws -> Timed {
        let client = try RawHTTPClient(port: server.port, timeout: timeout)
        defer { client.close() }
        let start = ContinuousClock.now
        try client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nConnection: close\r\n\r\n")
        var timed = Timed(raw: [], arrivals: [], closed: false)
        let deadline = Deadline(after: timeout)
        while !deadline.hasPassed {
            let bytes = try client.receiveAvailable(timeout: deadline.remaining)
            if !bytes.isEmpty {
                timed.raw += bytes
                timed.arrivals.append((ContinuousClock.now - start, timed.raw.count))
            }
            if client.serverHasClosed {
                timed.closed = true
                break
            }
        }
        return timed
    }
}
