/// A type map (`.var` file, handler `type-map`), read as Apache's `read_type_map`:
/// records of RFC 822-style fields separated by blank lines, `#` comment lines,
/// continuation lines, parenthesised comments removed, and inline `Body:` variants
/// delimited by a tag of the author's choosing.
public enum TypeMap {
    /// Why a map cannot be used; Apache logs it and answers 500 (its `Content-Length`
    /// and `Body:` errors end the reading instead, keeping the records read so far).
    public struct SyntaxError: Error, Sendable, Equatable {
        public var message: String
    }

    /// Apache's `MAX_STRING_LEN`: a `Body:` end tag must appear within this many bytes.
    static let bodyWindow = 8192 - 1

    /// The variants of `bytes`; `mapName` is the map's own file name, which inline
    /// bodies take as theirs. `mapPath` names the file in messages.
    public static func parse(_ bytes: [UInt8], mapName: String, mapPath: String) -> (variants: [Variant], error: SyntaxError?, warnings: [String]) {
        var variants: [Variant] = []
        var warnings: [String] = []
        var current = Variant(fileName: "")
        var hasContent = false
        var at = 0

        func endRecord() {
            if !current.fileName.isEmpty && hasContent { variants.append(current) }
            current = Variant(fileName: "")
            hasContent = false
        }

        /// The line starting at `at` without its newline, and where the next begins.
        func line(from start: Int) -> (ArraySlice<UInt8>, Int) {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            return (bytes[start..<end], min(end + 1, bytes.count))
        }
        func isBlank(_ l: ArraySlice<UInt8>) -> Bool { l.allSatisfy(AcceptHeader.isSpace) }

        reading: while at < bytes.count {
            var (text, next) = line(from: at)
            at = next
            if text.first == UInt8(ascii: "#") { continue }
            if isBlank(text) { endRecord(); continue }
            var header = Array(text)
            let isBody = header.count >= 5 && AcceptHeader.lowered(header.prefix(5)) == "body:"
            if !isBody {
                // Continuation lines (leading blanks) join the field; comment lines between are skipped.
                while at < bytes.count {
                    let (following, after) = line(from: at)
                    if following.first == UInt8(ascii: "#") { at = after; continue }
                    guard let first = following.first, AcceptHeader.isSpace(first), !isBlank(following) else { break }
                    header.append(UInt8(ascii: "\n"))
                    header += following.drop(while: AcceptHeader.isSpace)
                    at = after
                }
            }
            guard let colon = header.firstIndex(of: UInt8(ascii: ":")) else {
                return (variants, SyntaxError(message: "AH00681: Syntax error in type map, no ':' in \(mapPath) for header \(String(decoding: header, as: UTF8.self))"), warnings)
            }
            let name = AcceptHeader.lowered(header[..<colon])
            var value = Array(header[(colon + 1)...].drop(while: AcceptHeader.isSpace))
            guard !value.isEmpty else {
                return (variants, SyntaxError(message: "AH00682: Syntax error in type map --- no header body: \(mapPath) for \(String(decoding: header, as: UTF8.self))"), warnings)
            }
            stripParenComments(&value)
            let valueText = String(decoding: value, as: UTF8.self)
            var cursor = 0
            switch name {
            case "uri":
                current.fileName = String(decoding: AcceptHeader.token(value, &cursor, acceptWhite: false), as: UTF8.self)
            case "content-type":
                current.setType(AcceptHeader.parseEntry(valueText))
                hasContent = true
            case "content-length":
                let token = String(decoding: AcceptHeader.token(value, &cursor, acceptWhite: false), as: UTF8.self)
                guard !token.isEmpty, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int64(token) else {
                    warnings.append("AH00684: Parse error in type map, Content-Length: '\(token)' in \(mapPath) is invalid.")
                    break reading
                }
                current.bytes = length
                hasContent = true
            case "content-language":
                var languages: [String] = []
                while cursor < value.count {
                    let start = cursor
                    languages.append(AcceptHeader.lowered(AcceptHeader.token(value, &cursor, acceptWhite: false)))
                    if cursor < value.count && (value[cursor] == UInt8(ascii: ",") || value[cursor] == UInt8(ascii: ";")) { cursor += 1 }
                    if cursor == start { cursor += 1 }
                }
                current.languages = languages
                hasContent = true
            case "content-encoding":
                current.encoding = String(decoding: AcceptHeader.token(value, &cursor, acceptWhite: false), as: UTF8.self)
                hasContent = true
            case "description":
                current.description = String(decoding: value.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            case "body":
                var tag = value
                while let last = tag.last, AcceptHeader.isSpace(last) { tag.removeLast() }
                let window = bytes[at..<min(bytes.count, at + bodyWindow)]
                guard !tag.isEmpty, let end = firstRange(of: tag, in: window) else {
                    warnings.append("AH00685: Syntax error in type map, no end tag '\(String(decoding: tag, as: UTF8.self))' found in \(mapPath) for Body: content.")
                    break reading
                }
                current.body = Array(bytes[at..<end])
                current.bytes = Int64(end - at)  // trap-safe: Int to Int64 widens
                current.fileName = mapName
                // Reading goes on after the line that holds the end tag.
                var resume = end + tag.count
                while resume < bytes.count && bytes[resume] != UInt8(ascii: "\n") { resume += 1 }
                at = min(resume + 1, bytes.count)
            default:
                break
            }
            text = []
        }
        endRecord()
        return (variants, nil, warnings)
    }

    /// Apache's `strip_paren_comments`: `(...)` becomes blanks. Apache means to skip
    /// quoted strings, but its search finds the opening quote itself, so quotes protect
    /// nothing; Skep does the same so a map reads alike.
    static func stripParenComments(_ value: inout [UInt8]) {
        var i = 0
        while i < value.count {
            if value[i] == UInt8(ascii: "(") {
                while i < value.count && value[i] != UInt8(ascii: ")") { value[i] = UInt8(ascii: " "); i += 1 }
                if i < value.count { value[i] = UInt8(ascii: " "); i += 1 }
            } else {
                i += 1
            }
        }
    }

    /// Where `needle` first starts in `haystack`.
    static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        while i + needle.count <= haystack.endIndex {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
