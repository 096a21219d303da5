/// The `AllowOverride` classes (Apache's `OR_AUTHCFG`, `OR_FILEINFO`, `OR_INDEXES`,
/// `OR_LIMIT`, `OR_OPTIONS`): a directive tagged with one of them may appear in a
/// `.htaccess` file of a directory whose `AllowOverride` grants that class. A directive
/// with no class (`AllowOverride`, `DocumentRoot`...) is never read from `.htaccess`.
public struct OverrideClass: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let limit = OverrideClass(rawValue: 1 << 0)
    public static let options = OverrideClass(rawValue: 1 << 1)
    public static let fileInfo = OverrideClass(rawValue: 1 << 2)
    public static let authConfig = OverrideClass(rawValue: 1 << 3)
    public static let indexes = OverrideClass(rawValue: 1 << 4)

    /// Apache's `OR_ALL`: every class (`<IfModule>`, `<Files>`, `<If>` are read in any `.htaccess`).
    public static let all: OverrideClass = [.limit, .options, .fileInfo, .authConfig, .indexes]

    /// The class an `AllowOverride` keyword names (`FileInfo`), case-insensitively.
    public init?(keyword: String) {
        switch keyword.lowercased() {
        case "limit": self = .limit
        case "options": self = .options
        case "fileinfo": self = .fileInfo
        case "authconfig": self = .authConfig
        case "indexes": self = .indexes
        case "all": self = .all
        default: return nil
        }
    }
}
