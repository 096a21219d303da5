/// Where in the configuration a directive may appear, Apache's `RSRC_CONF`/`ACCESS_CONF`
/// split refined as `ap_check_cmd_context` refines it (`NOT_IN_VIRTUALHOST`, `NOT_IN_DIRECTORY`...).
public struct DirectiveContext: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Outside any section: the main server.
    public static let serverConfig = DirectiveContext(rawValue: 1 << 0)
    public static let virtualHost = DirectiveContext(rawValue: 1 << 1)
    public static let directory = DirectiveContext(rawValue: 1 << 2)
    public static let location = DirectiveContext(rawValue: 1 << 3)
    public static let files = DirectiveContext(rawValue: 1 << 4)

    /// Apache's `RSRC_CONF`: the main server and virtual hosts.
    public static let server: DirectiveContext = [.serverConfig, .virtualHost]
    /// Apache's `ACCESS_CONF`: the per-directory sections.
    public static let perDirectory: DirectiveContext = [.directory, .location, .files]
    /// Anywhere: `RSRC_CONF|ACCESS_CONF`.
    public static let anywhere: DirectiveContext = [.server, .perDirectory]

    /// The section name Apache names in "cannot occur within <X> section".
    var sectionName: String {
        switch self {
        case .virtualHost: return "<VirtualHost>"
        case .directory: return "<Directory/DirectoryMatch>"
        case .location: return "<Location/LocationMatch>"
        case .files: return "<Files/FilesMatch>"
        default: return "server config"
        }
    }
}
