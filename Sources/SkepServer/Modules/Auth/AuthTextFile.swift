import SkepSystem

/// The lines of a password or group file, read as Apache's `ap_pcfg_openfile` and
/// `ap_cfg_getline` read them: each line without its end and surrounding blanks, `#`
/// comments and empty lines skipped. Read afresh on every request, as Apache does, so
/// an edit by `htpasswd` takes effect at once; only a worker thread reads it.
enum AuthTextFile {
    /// Apache's `MAX_STRING_LEN`: a longer line ends the reading (`ap_cfg_getline`
    /// fails with ENOSPC and the caller stops), and so does it here.
    static let lineLimit = 8192

    /// The file's lines, or the error that stopped it being opened.
    static func lines(_ path: String) -> Result<[ArraySlice<UInt8>], SystemError> {
        let bytes: [UInt8]
        do {
            let file = try File.openForReading(path)
            defer { file.close() }
            var data: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
                if n <= 0 { break }
                data += chunk.prefix(n)
            }
            bytes = data
        } catch let error as SystemError {
            return .failure(error)
        } catch {
            return .failure(SystemError(errno: .ioError, call: "read"))
        }
        var out: [ArraySlice<UInt8>] = []
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if raw.count >= lineLimit - 1 { break }
            let line = trimmed(raw)
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            out.append(line)
        }
        return .success(out)
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var line = line.drop(while: isSpace)
        while let last = line.last, isSpace(last) { line = line.dropLast() }
        return line
    }

    /// `ap_getword(..., ':')`: the text before the first `:` (all of it when none), and
    /// what follows it.
    static func field(_ line: ArraySlice<UInt8>) -> (word: ArraySlice<UInt8>, rest: ArraySlice<UInt8>) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return (line, line[line.endIndex...]) }
        var rest = line[line.index(after: colon)...]
        while rest.first == UInt8(ascii: ":") { rest = rest.dropFirst() }
        return (line[..<colon], rest)
    }
}
