import SkepConfig
import SkepTestSupport
import Testing

/// Core's `RegexDefaultOptions` in the configuration processor: the options of each regex
/// compiled after it, in file order, and bytes that are not UTF-8 through the wrapper.
@Suite struct RegexDefaultOptionsTests {
    static func locationRegexes(_ text: String) throws -> [PCRERegex.Options] {
        let config = try processText(text)
        return config.main.sections.compactMap { $0.regex?.regex.options }
    }

    static let settings: [(String, PCRERegex.Options)] = [
        ("", PCRERegex.Options.apacheDefault),
        ("RegexDefaultOptions +ICASE", [.dotAll, .dollarEndOnly, .caseless]),
        ("RegexDefaultOptions -DOTALL", [.dollarEndOnly]),
        ("RegexDefaultOptions icase", [.caseless]),
        ("RegexDefaultOptions NONE", []),
        ("RegexDefaultOptions none +DOLLAR_ENDONLY", [.dollarEndOnly]),
        ("RegexDefaultOptions +ICASE\nRegexDefaultOptions -ICASE -DOLLAR_ENDONLY", [.dotAll]),
    ]

    @Test(arguments: settings)
    func settingsApplyToLaterRegexes(_ setting: String, _ expected: PCRERegex.Options) throws {
        let options = try Self.locationRegexes("<LocationMatch ^/before>\n</LocationMatch>\n\(setting)\n<LocationMatch ^/after>\n</LocationMatch>")
        #expect(options == [.apacheDefault, expected])
        // The setting is kept for what is compiled later (a `.htaccess` file's regexes).
        let config = try processText(setting)
        #expect(config[CoreServerConfig.self].regexDefaultOptions ?? .apacheDefault == expected)
    }

    @Test func eachConfigurationStartsFromApachesDefault() throws {
        _ = try processText("RegexDefaultOptions +ICASE")
        #expect(PCRERegex.defaultOptions == .apacheDefault)
        #expect(try Self.locationRegexes("<LocationMatch ^/x>\n</LocationMatch>") == [.apacheDefault])
        let defaults = PCRERegex.DefaultOptions([.caseless])
        let regex = try PCRERegex.withDefaultOptions(defaults) { try PCRERegex("^/abc$") }
        #expect(regex.matches("/ABC"))
        #expect(try PCRERegex.withDefaultOptions(defaults) { try PCRERegex("^/abc$", noDefault: true) }.options == [])
    }

    @Test(arguments: [
        ("RegexDefaultOptions EXTENDED", "test.conf:1: RegexDefaultOptions: option 'EXTENDED' unknown (RegexDefaultOptions EXTENDED)"),
        ("RegexDefaultOptions +NOSUCH", "test.conf:1: RegexDefaultOptions: option 'NOSUCH' unknown (RegexDefaultOptions +NOSUCH)"),
    ])
    func unknownOptions(_ text: String, _ message: String) {
        #expect(throws: ConfigError.self) { try processText(text) }
        do {
            _ = try processText(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func bytesThatAreNotUTF8AreMatchedAsThemselves() throws {
        let regex = try PCRERegex("^/caf(.)/(.*)$")
        let subject: [UInt8] = Array("/caf".utf8) + [0xE9, 0x2F, 0xFF, 0x61]
        let match = try #require(regex.firstMatch(utf8: subject))
        #expect(match.range(1) == 4..<5)
        #expect(match.substituteBytes("$1-$2") == [0xE9, 0x2D, 0xFF, 0x61])
        // The same path as a String has U+FFFD (three bytes) where `.` wanted one.
        #expect(try PCRERegex("^/caf.$").firstMatch(in: String(decoding: Array("/caf".utf8) + [0xE9], as: UTF8.self)) == nil)
    }
}
