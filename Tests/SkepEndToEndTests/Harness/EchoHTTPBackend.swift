import Foundation
import Glibc
import SkepTestSupport

/// An HTTP/1.1 back end on a free loopback port (Python's http.server, keep-alive), for
/// the reverse proxy's tests: it answers with JSON of the request it got (method, path,
/// fields, body), and some paths answer otherwise: `/chunked...` chunked, `/close...`
/// until close, `/redirect...` a 302 to its own URL, `/slow...` never (it waits for the proxy to close), `/malformed...`
/// a field line without a colon, `/truncated...` 10 of
/// the 100 bytes it announces, then the end of the connection.
struct EchoHTTPBackend {
    let port: UInt16
    let pid: pid_t
    let directory: TemporaryDirectory

    static let script = #"""
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args): pass
        def reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("latin-1") if length else ""
            path = self.path
            if path.startswith("/slow"):
                # Never answers: waits until the proxy gives up and closes the connection.
                self.rfile.read(1); self.close_connection = True; return
            if path.startswith("/malformed"):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nbroken header line\r\n\r\nok"); self.close_connection = True; return
            if path.startswith("/truncated"):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten.."); self.wfile.flush()
                self.close_connection = True; return
            if path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:%d/target/x?y=1" % self.server.server_address[1])
                self.send_header("Content-Length", "0"); self.end_headers(); return
            echo = json.dumps({"method": self.command, "path": path, "body": body,
                               "headers": {k.lower(): v for k, v in self.headers.items()}}, sort_keys=True).encode()
            if path.startswith("/chunked"):
                self.send_response(200); self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
                for i in range(0, len(echo), 7):
                    part = echo[i:i+7]; self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n"); return
            if path.startswith("/close"):
                self.send_response(200); self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close"); self.end_headers()
                self.wfile.write(echo); self.close_connection = True; return
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(echo))); self.send_header("X-Backend", "echo"); self.end_headers()
            if self.command != "HEAD": self.wfile.write(echo)
        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = reply

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
    """#

    init() throws {
        directory = try TemporaryDirectory(prefix: "skep-echo")
        let path = directory.path + "/backend.py"
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        port = try FreePort.next()
        pid = try Subprocess.spawn("/usr/bin/python3", [path, "\(port)"], stdoutPath: directory.path + "/log", stderrPath: directory.path + "/log")
        let port = self.port
        try Deadline.wait(for: "the echo back end on \(port)", timeout: .seconds(20)) {
            (try? RawHTTPClient(port: port, timeout: .seconds(1))).map { $0.close(); return true } ?? false
        }
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = Subprocess.waitForExit(pid, timeout: .seconds(5))
        directory.remove()
    }
}
