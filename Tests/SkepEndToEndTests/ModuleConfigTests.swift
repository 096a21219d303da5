import Foundation
import Glibc
import Testing

extension EmbeddingEndToEnd {
    /// A module's directives are read like the built-in ones (errors at `file:line`), and
    /// a handler that is not thread-safe may only be mapped under prefork.
    @Suite struct ModuleConfigTests {
        typealias E = EmbeddingTestSupport
        typealias S = MPMTestSupport

        /// `file:line: ` of the first line of `config`'s rendering (for SkepTestApp) that contains `text`.
        static func location(of text: String, in config: TestConfig) throws -> String {
            let lines = config.render(for: .testApp).split(separator: "\n", omittingEmptySubsequences: false)
            let index = try #require(lines.firstIndex { $0.contains(text) }, "\(text) is not in the config")
            return "\(config.configPath(for: .testApp)):\(index + 1): "
        }

        static let ntsLocation = """
            <Location /nts-counter>
                SetHandler nts-counter
            </Location>
            """

        @Test func aDirectiveThatRejectsItsArgumentFailsTheConfigTestAtItsLine() throws {
            let config = try E.config(.event, E.sizing(.event) + "\n<Location /test-echo/x>\n    TestGreeting \"\"\n</Location>")
            defer { config.root.remove() }
            let result = try ServerBinary.configtest(.testApp, configPath: config.write(for: .testApp))
            #expect(result.status == 1 && !result.signaled, "\(result.statusText): \(result.stdout)")
            let at = try Self.location(of: "TestGreeting \"\"", in: config)
            #expect(result.stderr.contains(at + "TestGreeting: the greeting must not be empty"), "\(result.stderr)")
            #expect(!(result.stdout + result.stderr).contains("Syntax OK"))
        }

        /// Under worker and event, mapping `nts-counter` fails `-t` and start-up at its
        /// `SetHandler`, saying what to do instead; nothing is left running.
        @Test(arguments: [MPM.worker, .event])
        func aNonThreadSafeHandlerIsRefusedUnderAThreadedMPM(mpm: MPM) throws {
            let config = try E.config(mpm, E.sizing(mpm) + "\n" + Self.ntsLocation)
            defer { config.root.remove() }
            let at = try Self.location(of: "SetHandler nts-counter", in: config)
            func check(_ output: String, _ what: String) {
                let line = output.split(separator: "\n").first { $0.hasPrefix(at) } ?? ""
                #expect(line.hasPrefix(at + "SetHandler nts-counter: the handler 'nts-counter' of test_module is not thread-safe"),
                        "\(what): \(output)")
                #expect(line.contains("\(mpm) MPM") && line.contains("prefork") && line.contains("PHP-FPM"), "\(what): \(line)")
            }

            let test = try ServerBinary.configtest(.testApp, configPath: config.write(for: .testApp))
            #expect(test.status == 1 && !test.signaled, "-t: \(test.statusText)")
            check(test.stderr, "-t")

            let server = try ServerProcess.start(.testApp, config: config)
            let exit = try server.waitForExit(timeout: .seconds(15))
            #expect(exit == Subprocess.Exit(waitStatus: 1 << 8), "start-up: \(exit)")
            check(server.stderr(), "start-up")
            let report = server.stop()
            #expect(report.leftovers.isEmpty, "\(report)")
            #expect(S.connectionRefused(port: config.port), "something listens on the port after a refused start")
        }

        /// Under prefork the same mapping is fine: one request at a time per process, so
        /// the handler's plain global counts the requests of its child's connection.
        @Test func aNonThreadSafeHandlerServesUnderPrefork() throws {
            let config = try E.config(.prefork, E.sizing(.prefork) + "\n" + Self.ntsLocation)
            let test = try ServerBinary.configtest(.testApp, configPath: config.write(for: .testApp))
            #expect(test.succeeded, "\(test.statusText): \(test.stderr)")
            #expect((test.stdout + test.stderr).contains("Syntax OK"))
            try withServer(.testApp, config: config) { server in
                let client = try RawHTTPClient(port: server.port)
                defer { client.close() }
                let request = "GET /nts-counter HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                let first = try client.exchange(request)
                let second = try client.exchange(request)
                #expect(first.status == 200 && second.status == 200)
                let n = try #require(Int(first.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)), "\(first.bodyText)")
                #expect(second.bodyText == "\(n + 1)\n", "the same child counts on: \(first.bodyText) then \(second.bodyText)")
            }
        }
    }
}
