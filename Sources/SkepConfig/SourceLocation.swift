/// Where a directive was written: the file as it was opened and the 1-based line
/// where the directive starts (a continued line reports its first physical line, as Apache does).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}
