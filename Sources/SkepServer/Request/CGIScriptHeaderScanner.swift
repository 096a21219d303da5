/// Finds the end of a script's header block as its output arrives, once over each byte
/// (never rescanning from the start), and bounds it: a line longer than Apache's
/// `HUGE_STRING_LEN` or more lines than the count allowed ends the scan, so a back end
/// cannot make the server hold or rescan an endless head.
///
/// Blank-line detection follows mod_proxy_fcgi's `handle_headers`: a line holding nothing
/// or a lone CR ends the block.
public struct CGIScriptHeaderScanner {
    /// Apache's `HUGE_STRING_LEN`: the longest header line a script may write, its line
    /// end included (Apache's `ap_scan_script_header_err` reads lines into a buffer this
    /// long and refuses what overflows it).
    public static let lineLimit = 8192

    public enum Outcome: Equatable {
        /// The blank line has not arrived yet.
        case incomplete
        /// The header block ends just before this index of `bytes` (after its blank line).
        case end(Int)
        /// The line that starts at this index of `bytes` is longer than `lineLimit`.
        case lineTooLong(at: Int)
        /// More header lines than `lineCountLimit`.
        case tooManyLines
    }

    /// Header lines allowed before the blank line.
    public let lineCountLimit: Int
    /// Everything appended so far: the head, and any body bytes that came with it.
    public private(set) var bytes: [UInt8] = []
    private var lineStart = 0
    private var lines = 0

    public init(lineCountLimit: Int) {
        self.lineCountLimit = lineCountLimit
    }

    /// Appends the next piece of output and scans only the new bytes.
    public mutating func append(_ chunk: some Collection<UInt8>) -> Outcome {
        var index = bytes.count
        bytes.append(contentsOf: chunk)
        while index < bytes.count {
            guard let newline = bytes[index...].firstIndex(of: 0x0A) else { break }
            let length = newline - lineStart
            if length == 0 || (length == 1 && bytes[lineStart] == 0x0D) { return .end(newline + 1) }
            if length + 1 > Self.lineLimit { return .lineTooLong(at: lineStart) }
            lines += 1
            if lines > lineCountLimit { return .tooManyLines }
            lineStart = newline + 1
            index = lineStart
        }
        return bytes.count - lineStart >= Self.lineLimit ? .lineTooLong(at: lineStart) : .incomplete
    }
}
