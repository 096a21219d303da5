import Testing
import SkepConfig

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("80", nil, 80, "*:80"),
        ("1.2.3.4:80", "1.2.3.4", 80, "1.2.3.4:80"),
        ("[::1]:8080", "::1", 8080, "[::1]:8080"),
        ("[::]:443", "::", 443, "[::]:443"),
        ("*:8080", nil, 8080, "*:8080"),
        (":8081", nil, 8081, "*:8081"),
        ("localhost:65535", "localhost", 65535, "localhost:65535"),
        ("1", nil, 1, "*:1"),
    ] as [(String, String?, Int, String)])
    func parses(_ text: String, _ host: String?, _ port: Int, _ description: String) throws {
        let address = try #require(ListenAddress(parsing: text))
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.proto == nil)
        #expect(address.description == description)
    }

    @Test(arguments: ["0", "65536", "99999", "http", "", "-1", "::1:80", "[::1]", "[::1]80", "[::1:80", "1.2.3.4:", "1.2.3.4:http", "80a"])
    func refuses(_ text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }

    @Test func keepsTheProtocol() {
        #expect(ListenAddress(parsing: "443", proto: "https") == ListenAddress(host: nil, port: 443, proto: "https"))
    }
}
