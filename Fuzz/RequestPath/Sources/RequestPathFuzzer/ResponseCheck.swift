/// What every response must be, whatever the request or the back end sent: a status line,
/// header lines of a token, a colon and a value without CR, LF or NUL, the blank line,
/// then a body its framing accounts for exactly. Interim `100 Continue` heads may come
/// first. A failure traps with the response, so libFuzzer keeps the input.
enum ResponseCheck {
    /// Checks the bytes of one response; `connectionEnds` when the server closes after it,
    /// `mayBeCut` when the server stopped writing it part-way (a stream that failed).
    static func check(_ bytes: [UInt8], connectionEnds: Bool, mayBeCut: Bool = false) {
        var offset = 0
        while true {
            // An HTTP/0.9 answer is the body alone, and the connection ends after it.
            guard bytes[offset...].starts(with: Array("HTTP/".utf8)) else {
                if !connectionEnds { fail("a response without a status line on a connection that goes on", bytes) }
                return
            }
            guard let head = Head(bytes, from: offset) else {
                if mayBeCut && Head.isIncomplete(bytes, from: offset) { return }
                fail("a malformed response head", bytes)
            }
            offset = head.end
            if head.status < 200 {
                if head.status != 100 { fail("an interim response other than 100 Continue", bytes) }
                if head.contentLength != nil || head.chunked { fail("a framed 100 Continue", bytes) }
                continue
            }
            if head.closes && !connectionEnds { fail("Connection: close, and the connection went on", bytes) }
            checkBody(Array(bytes[offset...]), head, connectionEnds: connectionEnds, mayBeCut: mayBeCut, whole: bytes)
            return
        }
    }

    static func checkBody(_ body: [UInt8], _ head: Head, connectionEnds: Bool, mayBeCut: Bool, whole: [UInt8]) {
        let noBody = head.status == 204 || head.status == 304
        if noBody && (!body.isEmpty || head.chunked) { fail("a body with status \(head.status)", whole) }
        if let length = head.contentLength {
            // A HEAD request gets the length a GET would, and no body.
            if body.count != length && !body.isEmpty && !(mayBeCut && body.count < length) {
                fail("Content-Length \(length) with a body of \(body.count) bytes", whole)
            }
        } else if head.chunked {
            if !body.isEmpty && !Chunked.isComplete(body, mayBeCut: mayBeCut) {
                fail("a chunked body that is not exactly one chunked encoding", whole)
            }
        } else if !body.isEmpty && !connectionEnds {
            fail("a body without Content-Length or chunked on a connection that goes on", whole)
        }
    }

    static func fail(_ what: String, _ bytes: [UInt8]) -> Never {
        let shown = String(decoding: bytes.prefix(2048), as: UTF8.self)
        fatalError("malformed response: \(what)\n---\n\(shown)\n---")
    }

    /// A parsed response head.
    struct Head {
        var status = 0
        var contentLength: Int?
        var chunked = false
        var closes = false
        /// Where the body starts.
        var end = 0

        /// Parses the head at `start`; nil when anything is malformed.
        init?(_ bytes: [UInt8], from start: Int) {
            guard let blank = Self.blankLine(bytes, from: start) else { return nil }
            end = blank + 4
            var lines = Self.lines(bytes[start..<(blank + 2)])
            guard !lines.isEmpty, let status = Self.statusCode(lines.removeFirst()) else { return nil }
            self.status = status
            var lengths = 0, encodings = 0
            for line in lines {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                      line[..<colon].allSatisfy(Self.isTokenByte),
                      !line[(colon + 1)...].contains(where: { $0 == 0 || $0 == 0x0D || $0 == 0x0A }) else { return nil }
                let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces
                switch name {
                case "content-length":
                    lengths += 1
                    guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else { return nil }
                    contentLength = n
                case "transfer-encoding":
                    encodings += 1
                    guard value.lowercased() == "chunked" else { return nil }
                    chunked = true
                case "connection":
                    closes = value.lowercased().split(separator: ",").contains { $0.trimmingSpaces == "close" }
                default:
                    break
                }
            }
            guard lengths <= 1, encodings <= 1, !(lengths == 1 && encodings == 1) else { return nil }
        }

        /// Whether the bytes from `start` are a head's beginning without its blank line.
        static func isIncomplete(_ bytes: [UInt8], from start: Int) -> Bool {
            blankLine(bytes, from: start) == nil
        }

        static func blankLine(_ bytes: [UInt8], from start: Int) -> Int? {
            var i = start
            while i + 3 < bytes.count {
                if bytes[i] == 0x0D && bytes[i + 1] == 0x0A && bytes[i + 2] == 0x0D && bytes[i + 3] == 0x0A { return i }
                i += 1
            }
            return nil
        }

        /// The lines of `text`, each ended by CRLF; a bare CR or LF makes a line that fails.
        static func lines(_ text: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
            var out: [ArraySlice<UInt8>] = []
            var lineStart = text.startIndex
            var i = text.startIndex
            while i + 1 < text.endIndex {
                if text[i] == 0x0D && text[i + 1] == 0x0A {
                    out.append(text[lineStart..<i])
                    i += 2
                    lineStart = i
                } else {
                    i += 1
                }
            }
            return out
        }

        /// `HTTP/1.x DDD Reason`: the code, nil when the line is not one.
        static func statusCode(_ line: ArraySlice<UInt8>) -> Int? {
            let text = Array(line)
            guard text.count >= 13, text.starts(with: Array("HTTP/1.".utf8)), text[7] == 0x30 || text[7] == 0x31,
                  text[8] == 0x20, text[12] == 0x20,
                  text[9...11].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  text[13...].allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
            let code = Int(text[9] - 0x30) * 100 + Int(text[10] - 0x30) * 10 + Int(text[11] - 0x30)
            return (100...599).contains(code) ? code : nil
        }

        /// RFC 9110's tchar.
        static func isTokenByte(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
            default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }
    }

    /// RFC 9112's chunked coding, as a client reads it.
    enum Chunked {
        /// Whether `body` is one whole chunked encoding (with `mayBeCut`, a prefix of one).
        static func isComplete(_ body: [UInt8], mayBeCut: Bool) -> Bool {
            var i = 0
            while true {
                guard let lineEnd = crlf(body, from: i) else { return mayBeCut }
                let sizeText = body[i..<lineEnd].prefix { $0 != UInt8(ascii: ";") }
                guard !sizeText.isEmpty, sizeText.count <= 15,
                      let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16) else { return false }
                i = lineEnd + 2
                if size == 0 {
                    // Trailer fields (none expected), then the final CRLF ends the body.
                    while true {
                        guard let end = crlf(body, from: i) else { return mayBeCut }
                        if end == i { return end + 2 == body.count }
                        i = end + 2
                    }
                }
                guard body.count >= i + size + 2 else { return mayBeCut }
                guard body[i + size] == 0x0D && body[i + size + 1] == 0x0A else { return false }
                i += size + 2
            }
        }

        static func crlf(_ bytes: [UInt8], from start: Int) -> Int? {
            var i = start
            while i + 1 < bytes.count {
                if bytes[i] == 0x0D && bytes[i + 1] == 0x0A { return i }
                i += 1
            }
            return nil
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (what a header value's OWS is).
    var trimmingSpaces: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
