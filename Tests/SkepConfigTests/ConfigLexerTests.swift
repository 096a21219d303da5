import Testing
import SkepConfig

@Suite struct ConfigLexerTests {
    typealias Line = (text: String, number: Int)

    func lines(_ text: String) -> [Line] {
        ConfigLexer.lines(text).map { ($0.text, $0.number) }
    }

    func expectLines(_ text: String, _ expected: [Line], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let got = lines(text)
        #expect(got.map(\.text) == expected.map(\.text), sourceLocation: sourceLocation)
        #expect(got.map(\.number) == expected.map(\.number), sourceLocation: sourceLocation)
    }

    @Test func backslashJoinsLinesAndReportsTheFirstLine() {
        expectLines("ServerName \\\n  example.com\nTimeout 5\n", [("ServerName   example.com", 1), ("Timeout 5", 3)])
    }

    @Test func continuationOverSeveralLines() {
        expectLines("Listen\n ServerAlias a \\\n b \\\n c\nKeepAlive On", [("Listen", 1), ("ServerAlias a  b  c", 2), ("KeepAlive On", 5)])
        #expect(ConfigLexer.words("ServerAlias a  b  c") == ["ServerAlias", "a", "b", "c"])
    }

    @Test func continuationAtEndOfFile() {
        expectLines("Timeout 5\nServerName a \\", [("Timeout 5", 1), ("ServerName a", 2)])
    }

    @Test func blanksAfterTheBackslashEndTheContinuation() {
        // Apache only continues a line whose very last character is the backslash.
        expectLines("ServerName a\\ \nTimeout 5", [("ServerName a\\", 1), ("Timeout 5", 2)])
    }

    @Test func hashStartsACommentOnlyAtTheStartOfALine() {
        expectLines("# a comment\n   \t# an indented comment\nServerAdmin web#master@example.com\nServerName a # b",
                    [("ServerAdmin web#master@example.com", 3), ("ServerName a # b", 4)])
        #expect(ConfigLexer.words("ServerName a # b") == ["ServerName", "a", "#", "b"])
    }

    @Test func commentEndingInBackslashSwallowsTheNextLine() {
        // ap_cfg_getline joins before the comment test, so the joined line is a comment.
        expectLines("# comment \\\nTimeout 5\nKeepAlive On", [("KeepAlive On", 3)])
    }

    @Test func blankLinesAreSkippedButCounted() {
        expectLines("\n\n   \n\t\nTimeout 5\n\n\nKeepAlive Off\n\n", [("Timeout 5", 5), ("KeepAlive Off", 8)])
        #expect(ConfigLexer.lines("").isEmpty)
        #expect(ConfigLexer.lines("\n\n# only comments\n").isEmpty)
    }

    @Test func leadingAndTrailingBlanksAreTrimmed() {
        expectLines("   \tDocumentRoot /var/www   \t", [("DocumentRoot /var/www", 1)])
    }

    // Bug: Swift treats "\r\n" as one Character, so `split(separator: "\n")` in
    // ConfigLexer.lines never splits a CRLF file: the whole file becomes one logical line.
    @Test func crlfLineEndings() {
        expectLines("Timeout 5\r\nKeepAlive On\r\n\r\n# c\r\nServerName x\r\n",
                    [("Timeout 5", 1), ("KeepAlive On", 2), ("ServerName x", 5)])
    }

    @Test func crlfOnlyOnTheLastLineIsStripped() {
        // A single trailing CR (no LF after it) is removed, and trimmed words carry no CR.
        expectLines("Timeout 5\nServerName x\r", [("Timeout 5", 1), ("ServerName x", 2)])
    }

    @Test func crlfWithContinuation() {
        expectLines("ServerAlias a \\\r\n  b\r\nTimeout 5\r\n", [("ServerAlias a   b", 1), ("Timeout 5", 3)])
    }

    @Test(arguments: [
        ("Header set X \"a b\"", ["Header", "set", "X", "a b"]),
        ("Header 'c d' e", ["Header", "c d", "e"]),
        (#"LogFormat "say \"hi\" now" x"#, ["LogFormat", #"say "hi" now"#, "x"]),
        (#"X 'it\'s'"#, ["X", "it's"]),
        (#"X "it's" 'say "hi"'"#, ["X", "it's", #"say "hi""#]),
        (#"X "C:\path\file""#, ["X", #"C:\path\file"#]),
        ("X \"\" ''", ["X", "", ""]),
        ("X \"a b\"c", ["X", "a b", "c"]),
        ("X a\tb  \t c", ["X", "a", "b", "c"]),
        ("X \"unterminated quote", ["X", "unterminated quote"]),
        ("X a\"b c\"", ["X", "a\"b", "c\""]),
    ] as [(String, [String])])
    func words(_ line: String, _ expected: [String]) {
        #expect(ConfigLexer.words(Substring(line)) == expected)
    }

    @Test func wordsOfABlankLine() {
        #expect(ConfigLexer.words("   ").isEmpty)
        #expect(ConfigLexer.words("").isEmpty)
    }
}
