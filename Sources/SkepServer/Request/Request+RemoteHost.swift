import SkepSystem

extension Request {
    /// The client's host name by double-reverse DNS (Apache's `ap_get_useragent_host`
    /// with `REMOTE_DOUBLE_REV`), looked up once per request; nil when it has none. For
    /// host names in `Allow from`, `Deny from` and `Require host`.
    ///
    /// On the event listener, which must not block on the resolver, the run stops
    /// (`wouldBlock`) and a worker runs the request again.
    func doubleReverseHost() -> String? {
        if let known = remoteHostLookup { return known }
        if let run = listenerRun {
            run.blocked = true
            return nil
        }
        let name = client.doubleReverseName()
        remoteHostLookup = .some(name)
        // The access log's `%h` shows it, as Apache's, which keeps the name on the
        // connection: the log's request is the one the connection answers.
        varyOwner?.remoteHostLookup = .some(name)
        return name
    }

    /// Apache's `in_domain`: `name` is `domain` or ends in it at a label boundary
    /// (`example.com` matches `www.example.com`, not `badexample.com`), without case.
    static func host(_ name: String, isIn domain: String) -> Bool {
        let name = Array(name.lowercased().utf8), domain = Array(domain.lowercased().utf8)
        guard !domain.isEmpty, name.count >= domain.count, name.suffix(domain.count).elementsEqual(domain) else { return false }
        if name.count == domain.count { return true }
        return domain[0] == UInt8(ascii: ".") || name[name.count - domain.count - 1] == UInt8(ascii: ".")
    }
}
