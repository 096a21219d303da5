/// Apache's `ap_server_root_relative`: a relative path is taken against ServerRoot.
public enum ServerRoot {
    public static func relative(_ path: String, to root: String) -> String {
        if path.hasPrefix("/") { return path }
        return root.hasSuffix("/") ? root + path : root + "/" + path
    }
}

extension ServerConfig {
    /// `path` made absolute against this configuration's ServerRoot.
    public func serverRootRelative(_ path: String) -> String { ServerRoot.relative(path, to: serverRoot) }
}
