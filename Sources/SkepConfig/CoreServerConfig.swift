/// The core's per-server record: what `<VirtualHost>` may override, plus the
/// process-wide settings read from the main server. Unset fields fall back to the
/// enclosing server and then to Apache 2.4's compiled-in defaults.
public struct CoreServerConfig: ModuleConfig {
    public var serverName: String?
    public var serverAliases: [String] = []
    public var serverAdmin: String?
    public var documentRoot: String?
    public var timeoutMs: Int?
    public var keepAlive: Bool?
    public var keepAliveTimeoutMs: Int?
    public var maxKeepAliveRequests: Int?
    public var limitRequestLine: Int?
    public var limitRequestFieldSize: Int?
    public var limitRequestFields: Int?
    /// `LimitInternalRecursion`'s first number: internal redirects one request may make.
    public var limitInternalRecursion: Int?
    public var errorLog: String?
    public var logLevel: LogLevelSetting?
    public var hostnameLookups: Bool?
    public var traceEnable: Bool?
    // Process-wide: only the main server's values count.
    public var pidFile: String?
    public var defaultRuntimeDir: String?
    public var serverTokens: String?
    public var fileCacheSize: Int?
    public var keepAliveGraceMs: Int?
    /// `AllowEncodedSlashes`: "On", "Off" or "NoDecode".
    public var allowEncodedSlashes: String?
    public var mergeSlashes: Bool?
    /// `AccessFileName`: nil means Apache's default, `.htaccess`.
    public var accessFileNames: [String]?
    /// `RegexDefaultOptions` as the configuration left it (process-wide, main server only):
    /// what a regex compiled after the configuration (a `.htaccess` file's) gets by default.
    public var regexDefaultOptions: PCRERegex.Options?

    public init() {}

    public func merged(with child: CoreServerConfig) -> CoreServerConfig {
        var out = child
        out.serverName = child.serverName ?? serverName
        out.serverAdmin = child.serverAdmin ?? serverAdmin
        out.documentRoot = child.documentRoot ?? documentRoot
        out.timeoutMs = child.timeoutMs ?? timeoutMs
        out.keepAlive = child.keepAlive ?? keepAlive
        out.keepAliveTimeoutMs = child.keepAliveTimeoutMs ?? keepAliveTimeoutMs
        out.maxKeepAliveRequests = child.maxKeepAliveRequests ?? maxKeepAliveRequests
        out.limitRequestLine = child.limitRequestLine ?? limitRequestLine
        out.limitRequestFieldSize = child.limitRequestFieldSize ?? limitRequestFieldSize
        out.limitRequestFields = child.limitRequestFields ?? limitRequestFields
        out.limitInternalRecursion = child.limitInternalRecursion ?? limitInternalRecursion
        out.errorLog = child.errorLog ?? errorLog
        out.logLevel = child.logLevel ?? logLevel
        out.hostnameLookups = child.hostnameLookups ?? hostnameLookups
        out.traceEnable = child.traceEnable ?? traceEnable
        out.pidFile = pidFile
        out.defaultRuntimeDir = defaultRuntimeDir
        out.serverTokens = serverTokens
        out.fileCacheSize = fileCacheSize
        out.keepAliveGraceMs = keepAliveGraceMs
        out.regexDefaultOptions = regexDefaultOptions
        out.allowEncodedSlashes = child.allowEncodedSlashes ?? allowEncodedSlashes
        out.mergeSlashes = child.mergeSlashes ?? mergeSlashes
        out.accessFileNames = child.accessFileNames ?? accessFileNames
        return out
    }

    // Apache 2.4's defaults (httpd.h, http_core.c, mpm_common.c).
    public var timeout: Int { timeoutMs ?? 60_000 }
    public var keepAliveEnabled: Bool { keepAlive ?? true }
    public var keepAliveTimeout: Int { keepAliveTimeoutMs ?? 5_000 }
    /// `AllowEncodedSlashes Off` and `MergeSlashes On` are Apache 2.4's defaults.
    public var encodedSlashes: String { allowEncodedSlashes ?? "Off" }
    public var slashesMerged: Bool { mergeSlashes ?? true }
    /// The per-directory file names a directory walk tries, in order.
    public var accessNames: [String] { accessFileNames ?? [".htaccess"] }
    public var keepAliveRequests: Int { maxKeepAliveRequests ?? 100 }
    public var requestLineLimit: Int { limitRequestLine ?? 8190 }
    public var requestFieldSizeLimit: Int { limitRequestFieldSize ?? 8190 }
    public var requestFieldsLimit: Int { limitRequestFields ?? 100 }
    /// Apache's `AP_DEFAULT_MAX_INTERNAL_REDIRECTS`.
    public var internalRedirectLimit: Int { limitInternalRecursion ?? 10 }
    /// The largest `LimitInternalRecursion` Skep takes: each redirect nests on the stack.
    public static let largestRecursionLimit = 100
    public var errorLogPath: String { errorLog ?? "logs/error_log" }
    public var logLevels: LogLevelSetting { logLevel ?? LogLevelSetting() }
    public var pidFilePath: String { pidFile ?? "logs/httpd.pid" }
    public var traceEnabled: Bool { traceEnable ?? true }
    /// Skep's own: how long a stopping or shedding child keeps an idle keep-alive
    /// connection for one more request (answered with `Connection: close`) before closing
    /// it: 2 s, never longer than `KeepAliveTimeout`; 0 closes at once, as Apache does.
    public var keepAliveGrace: Int { min(keepAliveGraceMs ?? 2_000, keepAliveTimeout) }
    /// Skep's own: bytes of small files each child keeps in memory (1 MiB; 0 turns the cache off).
    public var fileCacheBytes: Int { fileCacheSize ?? 1 << 20 }
}

/// The core's per-directory record (Apache's `core_dir_config`).
public struct CoreDirConfig: ModuleConfig {
    public var options: OptionsSetting?
    /// `AllowOverride`: the classes a `.htaccess` here may use; nil: unset (None).
    public var allowOverride: OverrideClass?
    /// `AllowOverride Options=...`: the options a `.htaccess` may set; nil: unset (all).
    public var overrideOptions: DirectoryOptions?
    /// `AllowOverride Nonfatal=...`.
    public var overrideNonfatal: NonfatalOverride?
    /// `AllowOverrideList`, lowercased; nil: unset (none).
    public var allowOverrideList: Set<String>?
    public var handler: String?
    public var limitRequestBody: Int?
    public var enableSendfile: Bool?
    public var enableMMAP: Bool?
    public var serverSignature: String?
    /// `ErrorDocument` by status code: a local URL, a full URL (redirect) or text.
    public var errorDocuments: [Int: String] = [:]
    /// `FileETag` components; nil means Apache 2.4's default, `MTime Size`.
    public var fileETag: ETagComponents?
    /// `AddDefaultCharset`: the charset added to `text/plain` and `text/html` answers that
    /// name none; "" for `Off`.
    public var addDefaultCharset: String?
    /// `CGIPassAuth`: hand `Authorization` to CGI and FastCGI scripts.
    public var cgiPassAuth: Bool?

    public init() {}

    public func merged(with child: CoreDirConfig) -> CoreDirConfig {
        var out = CoreDirConfig()
        switch (options, child.options) {
        case (let parent?, let child?): out.options = parent.merged(with: child)
        case (let parent, let child): out.options = child ?? parent
        }
        out.allowOverride = child.allowOverride ?? allowOverride
        out.overrideOptions = child.overrideOptions ?? overrideOptions
        out.overrideNonfatal = child.overrideNonfatal ?? overrideNonfatal
        out.allowOverrideList = child.allowOverrideList ?? allowOverrideList
        out.handler = child.handler ?? handler
        out.limitRequestBody = child.limitRequestBody ?? limitRequestBody
        out.enableSendfile = child.enableSendfile ?? enableSendfile
        out.enableMMAP = child.enableMMAP ?? enableMMAP
        out.serverSignature = child.serverSignature ?? serverSignature
        out.errorDocuments = errorDocuments.merging(child.errorDocuments) { _, new in new }
        out.fileETag = child.fileETag ?? fileETag
        out.addDefaultCharset = child.addDefaultCharset ?? addDefaultCharset
        out.cgiPassAuth = child.cgiPassAuth ?? cgiPassAuth
        return out
    }

    /// Apache 2.4's default is `FollowSymLinks` alone.
    public var effectiveOptions: DirectoryOptions { options?.resolved(over: .followSymLinks) ?? .followSymLinks }
    /// Apache 2.4.54's default, 1 GiB (`AP_DEFAULT_LIMIT_REQUEST_BODY`); 0 means unlimited.
    public var requestBodyLimit: Int { limitRequestBody ?? 1 << 30 }
    /// Apache 2.4 ships with `EnableSendfile Off` compiled in; Debian's config does not change it.
    public var sendfile: Bool { enableSendfile ?? false }
}

/// What `FileETag` puts into a file's entity tag.
public struct ETagComponents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let inode = ETagComponents(rawValue: 1)
    public static let mtime = ETagComponents(rawValue: 2)
    public static let size = ETagComponents(rawValue: 4)
    public static let digest = ETagComponents(rawValue: 8)
    /// Apache 2.4's default.
    public static let `default`: ETagComponents = [.mtime, .size]
}

/// `User` and `Group` (Apache's mod_unixd): whom the children run as when started as root.
public struct UnixdConfig: ModuleConfig {
    public var user: String?
    public var group: String?
    public init() {}
    public func merged(with child: UnixdConfig) -> UnixdConfig { self }
}

/// `Listen` and `ListenBacklog`: the sockets the master binds for every child.
public struct ListenConfig: ModuleConfig {
    public var listens: [ListenAddress] = []
    public var listenBacklog: Int?
    public init() {}
    public func merged(with child: ListenConfig) -> ListenConfig { self }
    /// Apache's `DEFAULT_LISTENBACKLOG`.
    public var backlog: Int { listenBacklog ?? 511 }
}
