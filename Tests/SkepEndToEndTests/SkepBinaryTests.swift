import Testing

/// The contract of the `skep` binary, checked from the outside.
@Suite(.tags(.skepBinary))
struct SkepBinaryTests {
    /// The harness finds the built `skep` next to the test bundle (or via SKEP_BIN).
    @Test func binaryIsFound() throws {
        let path = try ServerBinary.skepPath()
        #expect(path.hasSuffix("/skep"))
    }

    @Test
    func configtestSyntaxOK() throws {
        let config = try TestConfig()
        defer { config.root.remove() }
        try config.root.writeDocument("index.html", "<p>hi</p>\n")
        let result = try ServerBinary.configtest(.skep, configPath: config.write(for: .skep))
        #expect(result.status == 0 && !result.signaled, "\(result.statusText): \(result.stderr)")
        #expect((result.stdout + result.stderr).contains("Syntax OK"), "stdout: \(result.stdout)\nstderr: \(result.stderr)")
    }
}
