/// Splits configuration text into logical lines and a line into words, with
/// Apache's rules (`ap_cfg_getline`, `ap_getword_conf`): `#` starts a comment only
/// as the first non-blank of a line, a `\` ending a line joins the next one, words
/// are separated by blanks, and a word in double or single quotes may hold blanks
/// and `\"` (or `\'`) for the quote itself.
public enum ConfigLexer {
    public struct Line: Sendable, Equatable {
        public var text: String
        /// The first physical line of the logical line.
        public var number: Int
    }

    /// The logical lines of `text`, without comments and blank lines.
    public static func lines(_ text: String) -> [Line] {
        var result: [Line] = []
        var pending = ""
        var pendingStart = 0
        var number = 0
        // Split on scalars: as Characters, "\r\n" is one grapheme and never equals "\n".
        for raw in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(String(String.UnicodeScalarView(raw)))
            if line.unicodeScalars.last == "\r" { line = Substring(String(line.unicodeScalars.dropLast())) }
            if pending.isEmpty { pendingStart = number }
            // Apache joins a line ending in a backslash with the next, whitespace included
            // up to the backslash; blanks after the backslash end the continuation.
            if line.hasSuffix("\\") {
                pending += line.dropLast()
                continue
            }
            pending += line
            let trimmed = trimBlanks(pending)
            pending = ""
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            result.append(Line(text: String(trimmed), number: pendingStart))
        }
        let rest = trimBlanks(pending)
        if !rest.isEmpty && !rest.hasPrefix("#") { result.append(Line(text: String(rest), number: pendingStart)) }
        return result
    }

    /// The words of one logical line, quotes removed.
    public static func words(_ line: Substring) -> [String] {
        var words: [String] = []
        var i = line.startIndex
        while true {
            while i < line.endIndex, isBlank(line[i]) { i = line.index(after: i) }
            guard i < line.endIndex else { break }
            let c = line[i]
            if c == "\"" || c == "'" {
                var word = ""
                var j = line.index(after: i)
                while j < line.endIndex, line[j] != c {
                    let next = line.index(after: j)
                    if line[j] == "\\", next < line.endIndex, line[next] == c {
                        word.append(c)
                        j = line.index(after: next)
                    } else {
                        word.append(line[j])
                        j = next
                    }
                }
                words.append(word)
                i = j < line.endIndex ? line.index(after: j) : j
            } else {
                var j = i
                while j < line.endIndex, !isBlank(line[j]) { j = line.index(after: j) }
                words.append(String(line[i..<j]))
                i = j
            }
        }
        return words
    }

    static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\u{0B}" || c == "\u{0C}" }

    public static func trimBlanks<S: StringProtocol>(_ s: S) -> Substring {
        var sub = Substring(s)
        while let f = sub.first, isBlank(f) || f == "\r" { sub = sub.dropFirst() }
        while let l = sub.last, isBlank(l) || l == "\r" { sub = sub.dropLast() }
        return sub
    }
}
