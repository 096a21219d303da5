import Foundation
import Testing

/// skep-example's endpoints, through the built binary and example.conf.
struct ExampleTests {
    /// The JSON object `path` answers with (checked to be one, with its Content-Type).
    func json(_ path: String, _ server: ExampleServer) throws -> [String: Any] {
        let response = try get(path, port: server.port)
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(String(decoding: response.body, as: UTF8.self))")
        }
        return object
    }

    @Test func jsonEndpointGreetsPerLocation() throws {
        let server = try ExampleServer()
        let hello = try json("/hello", server)
        #expect(hello["greeting"] as? String == "Hello from Skep")
        #expect(hello["path"] as? String == "/hello")
        #expect(hello["mpm"] as? String == "event")
        #expect(hello["threads"] as? Int == 4)
        let pid = try #require(hello["pid"] as? Int)
        #expect(pid > 0 && pid != Int(server.process.processIdentifier))
        #expect((hello["requests"] as? Int ?? 0) >= 1)
        let french = try json("/hello/fr/x", server)
        #expect(french["greeting"] as? String == "Bonjour de Skep")
        #expect(french["path"] as? String == "/hello/fr/x")
        #expect(server.stop() == 0)
    }

    @Test func countdownIsStreamedOneChunkPerLine() throws {
        let server = try ExampleServer()
        let response = try get("/countdown?from=5&interval=0", port: server.port)
        #expect(response.status == 200)
        #expect(response.header("Transfer-Encoding") == "chunked")
        let chunks = try response.chunks().map { String(decoding: $0, as: UTF8.self) }
        #expect(chunks == ["5\n", "4\n", "3\n", "2\n", "1\n", "liftoff\n"])
        #expect(try get("/countdown?from=x", port: server.port).status == 400)
        #expect(server.stop() == 0)
    }

    @Test func downloadSendsTheFileAsAnAttachment() throws {
        let server = try ExampleServer()
        let response = try get("/downloads/skep-example.txt", port: server.port)
        #expect(response.status == 200)
        #expect(response.header("Content-Disposition") == "attachment; filename=\"skep-example.txt\"")
        #expect(response.header("Content-Type") == "application/octet-stream")
        let file = try Data(contentsOf: URL(fileURLWithPath: ExampleServer.examplesDirectory + "/files/skep-example.txt"))
        #expect(response.body == Array(file))
        #expect(try get("/downloads/missing.txt", port: server.port).status == 404)
        #expect(try get("/downloads/", port: server.port).status == 404)
        #expect(server.stop() == 0)
    }

    @Test func preforkServesTheNonThreadSafeHandler() throws {
        let server = try ExampleServer(["-DPREFORK"])
        let clock = try get("/clock", port: server.port)
        #expect(clock.status == 200)
        #expect(String(decoding: clock.body, as: UTF8.self).hasPrefix("20"))
        let hello = try json("/hello", server)
        #expect(hello["mpm"] as? String == "prefork")
        #expect(hello["threads"] as? Int == 1)
        #expect(server.stop() == 0)
    }

    /// The line number `extra`'s second line gets once appended to example.conf.
    func secondLineOfAppended() throws -> Int {
        let text = try String(contentsOfFile: ExampleServer.examplesDirectory + "/example.conf", encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).count + 1
    }

    @Test func badGreetingFailsTheConfigTestAtItsLine() throws {
        let result = try configTest(appending: "<Location /bad>\n    ExampleGreeting \"\"\n</Location>\n")
        #expect(result.status == 1)
        #expect(result.output.contains("\(result.config):\(try secondLineOfAppended()): ExampleGreeting: the greeting is empty"),
                "\(result.output)")
    }

    @Test func nonThreadSafeHandlerFailsTheConfigTestUnderEvent() throws {
        let result = try configTest(appending: "<Location /clock>\n    SetHandler example-clock\n</Location>\n")
        #expect(result.status == 1)
        #expect(result.output.contains(
            "\(result.config):\(try secondLineOfAppended()): SetHandler example-clock: the handler 'example-clock' of "
                + "example_module is not thread-safe"), "\(result.output)")
    }

    @Test func shippedConfigIsValid() throws {
        let result = try configTest(appending: "")
        #expect(result.status == 0)
        #expect(result.output == "Syntax OK\n")
    }
}
