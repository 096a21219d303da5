import SkepConfig
import SkepHTTP

/// Apache's mod_cgi: the `cgi-script` handler runs the request's file as a CGI/1.1
/// script (`ScriptAlias`, or `AddHandler cgi-script .cgi` with `Options ExecCGI`), its
/// request body on standard input, its header block and body on standard output, and
/// its standard error into the error log.
///
/// Debian loads mod_cgi under prefork and mod_cgid (`CGIDModule`) under worker and
/// event; in Skep both start the script the same way (see `CGIScriptProcess`), so they
/// share this handler and differ only in their directive tables and log messages.
public struct CGIModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "cgi_module", sourceName: "mod_cgi.c", directives: [
        scriptLog, scriptLogLength, scriptLogBuffer, scriptTimeout("CGIScriptTimeout"),
    ])

    public init(config: ServerConfig) {}

    public var handlers: [String: Handler] { CGIRunner(flavor: .cgi).handlers }

    /// `CGIScriptTimeout` (mod_cgi) and `CGIDScriptTimeout` (mod_cgid): how long a script
    /// may be silent, in place of `Timeout`.
    static func scriptTimeout(_ name: String) -> DirectiveSpec {
        DirectiveSpec(name, .take1, .anywhere, help: "how long to wait for output from a script, in seconds (or with ms)") { d, scope throws(ConfigError) in
            scope.directory[CGIDirConfig.self].timeoutMilliseconds = try d.durationMilliseconds()
        }
    }

    /// `ScriptLog` and its two sizes: the script debugging log is not implemented, and
    /// a directive that would do nothing is refused rather than accepted.
    static let scriptLog = DirectiveSpec("ScriptLog", .take1, .server, help: "the name of a log for script debugging info") { d, _ throws(ConfigError) in
        throw d.error("ScriptLog is not supported by Skep: the CGI debugging log is not implemented (script errors and standard error are in the ErrorLog)")
    }
    static let scriptLogLength = DirectiveSpec("ScriptLogLength", .take1, .server, help: "the maximum length (in bytes) of the script debug log") { d, _ throws(ConfigError) in
        throw d.error("ScriptLogLength is not supported by Skep: it sizes ScriptLog, which is not implemented")
    }
    static let scriptLogBuffer = DirectiveSpec("ScriptLogBuffer", .take1, .server, help: "the maximum size (in bytes) to record of a POST request") { d, _ throws(ConfigError) in
        throw d.error("ScriptLogBuffer is not supported by Skep: it sizes ScriptLog, which is not implemented")
    }
}

/// Apache's mod_cgid: mod_cgi for threaded MPMs. Apache forks a daemon from the master
/// and has it fork each script, because forking a threaded child is unsafe; Skep starts
/// the script with `posix_spawn` from the worker thread, which copies no address space
/// and runs no code of the server in the new process (see `CGIScriptProcess`), so no
/// daemon and no `ScriptSock` are needed.
public struct CGIDModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "cgid_module", sourceName: "mod_cgid.c", directives: [
        CGIModule.scriptLog, CGIModule.scriptLogLength, CGIModule.scriptLogBuffer,
        .accepted("ScriptSock", .take1, .server, help: "the name of the socket to use for communication with the cgi daemon",
                  note: "accepted with no effect: Skep starts scripts with posix_spawn and has no cgi daemon to talk to"),
        CGIModule.scriptTimeout("CGIDScriptTimeout"),
    ])

    public init(config: ServerConfig) {}

    public var handlers: [String: Handler] { CGIRunner(flavor: .cgid).handlers }
}

/// mod_cgi's and mod_cgid's per-directory record: `CGIScriptTimeout`/`CGIDScriptTimeout`.
public struct CGIDirConfig: ModuleConfig {
    /// Unset means the server's `Timeout`, as in Apache.
    var timeoutMilliseconds: Int?
    public init() {}
    public func merged(with child: CGIDirConfig) -> CGIDirConfig {
        var out = self
        out.timeoutMilliseconds = child.timeoutMilliseconds ?? timeoutMilliseconds
        return out
    }
}

/// What differs between mod_cgi and mod_cgid: the module name in the error log and the
/// message numbers of the checks before a script runs.
enum CGIFlavor: Sendable {
    case cgi, cgid

    var moduleName: String { self == .cgi ? "cgi" : "cgid" }
    var execCGIOff: String { self == .cgi ? "AH02809" : "AH01262" }
    var notFound: String { self == .cgi ? "AH02811" : "AH01264" }
    var directory: String { self == .cgi ? "AH02812" : "AH01265" }
}
