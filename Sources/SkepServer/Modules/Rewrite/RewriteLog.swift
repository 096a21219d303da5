import SkepConfig

/// mod_rewrite's trace lines (`LogLevel rewrite:trace1` ... `trace8`), worded as
/// Apache's `rewritelog` calls and prefixed as its `do_rewritelog`: client, ident,
/// user, `[server/sid#...][rid#.../initial]`, `[perdir dir] `. The level allowed is
/// read once per run; a call above it does not build its message (autoclosure).
struct RewriteLog {
    /// The highest trace level written (1...8), 0 when tracing is off.
    let level: Int
    private let r: Request
    private let context: ServerContext

    init(_ r: Request, _ context: ServerContext) {
        self.r = r
        self.context = context
        let levels = context.errorLog.levels
        let allowed = levels.perModule["rewrite"] ?? levels.base
        level = max(0, allowed.rawValue - LogLevel.debug.rawValue)
    }

    /// Writes `text` at trace `at` for `perdir` (the directory of a per-directory rule set).
    func callAsFunction(_ at: Int, _ perdir: String?, _ text: @autoclosure () -> String) {
        guard at <= level, let logLevel = LogLevel(rawValue: LogLevel.debug.rawValue + at) else { return }
        var redirects = 0
        var back = r.redirectedFrom
        while let earlier = back {
            redirects += 1
            back = earlier.redirectedFrom
        }
        let user = r.user.map { $0.isEmpty ? "\"\"" : $0 } ?? "-"
        var line = "\(r.client.host) - \(user) [\(r.serverNameForURL)/sid#0][rid#0/initial"
        if redirects > 0 { line += "/redir#\(redirects)" }
        line += "] "
        if let perdir { line += "[perdir \(perdir)] " }
        line += text()
        context.errorLog.log(logLevel, module: "rewrite", client: r.client, line)
    }
}

extension Array where Element == UInt8 {
    /// The bytes as text for a log line (invalid UTF-8 repaired; the error log escapes
    /// what it must).
    var text: String { String(decoding: self, as: UTF8.self) }
}
