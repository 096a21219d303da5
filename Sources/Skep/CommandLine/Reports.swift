import SkepConfig
import SkepMPM
#if canImport(Glibc)
import Glibc
#endif

/// The text of `-M`, `-S` and `-V`, shaped like Apache's so scripts that read those keep working.
enum Reports {
    static func printError(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        fflush(nil)
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// `-M`: Apache's "Loaded Modules:" list; "shared" marks a module enabled by LoadModule
    /// (Skep's are all built into the binary).
    static func modules(_ config: ServerConfig, all: [ModuleDescriptor]) -> String {
        var lines = ["Loaded Modules:"]
        for module in all where module.isStatic { lines.append(" \(module.name) (static)") }
        for module in config.loadedModules { lines.append(" \(module.name) (shared)") }
        return lines.joined(separator: "\n")
    }

    /// `-S`: the virtual hosts by address, then the main server's paths, as `apache2 -S` prints them.
    static func virtualHosts(_ config: ServerConfig) -> String {
        let core = config[CoreServerConfig.self]
        var lines = ["VirtualHost configuration:"]
        var order: [String] = []
        var byAddress: [String: [VirtualHost]] = [:]
        for vhost in config.virtualHosts {
            for address in vhost.addresses {
                if byAddress[address] == nil { order.append(address) }
                byAddress[address, default: []].append(vhost)
            }
        }
        for address in order {
            let hosts = byAddress[address] ?? []
            func name(_ v: VirtualHost) -> String { v.server[CoreServerConfig.self].serverName ?? core.serverName ?? "localhost" }
            func place(_ v: VirtualHost) -> String { v.location.map { "(\($0))" } ?? "" }
            if hosts.count == 1, let only = hosts.first {
                lines.append("\(address.padding(22)) \(name(only)) \(place(only))")
            } else {
                lines.append("\(address.padding(22)) is a NameVirtualHost")
                if let first = hosts.first { lines.append("         default server \(name(first)) \(place(first))") }
                let port = address.split(separator: ":").last.map(String.init) ?? "*"
                for v in hosts {
                    lines.append("         port \(port) namevhost \(name(v)) \(place(v))")
                    for alias in v.server[CoreServerConfig.self].serverAliases { lines.append("                 alias \(alias)") }
                }
            }
        }
        lines.append("ServerRoot: \"\(config.serverRoot)\"")
        lines.append("Main DocumentRoot: \"\(core.documentRoot ?? config.serverRoot + "/htdocs")\"")
        lines.append("Main ErrorLog: \"\(rooted(core.errorLogPath, config))\"")
        lines.append("PidFile: \"\(rooted(core.pidFilePath, config))\"")
        for (name, _) in config.defines.sorted(by: { $0.key < $1.key }) { lines.append("Define: \(name)") }
        let unixd = config[UnixdConfig.self]
        if let user = unixd.user { lines.append("User: name=\"\(user)\"") }
        if let group = unixd.group { lines.append("Group: name=\"\(group)\"") }
        return lines.joined(separator: "\n")
    }

    static func rooted(_ path: String, _ config: ServerConfig) -> String {
        path.hasPrefix("|") || path.hasPrefix("syslog") ? path : config.serverRootRelative(path)
    }

    /// `-V`: version and build settings.
    static func buildSettings() -> String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: info.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }  // trap-safe: a fixed-size C array's bytes always have an address
        return """
        Server version: \(SkepVersion.banner)
        Server built:   Swift \(swiftVersion)
        Server's Module Magic Number: n/a (modules are Swift code built into the binary)
        Server loaded:  PCRE \(PCRERegex.libraryVersion)\(PCRERegex.isJITAvailable ? " (JIT)" : "")
        Architecture:   \(MemoryLayout<Int>.size * 8)-bit (\(machine))
        Server MPM:     prefork, worker and event built in; LoadModule selects one
        Server compiled with....
         -D SKEP_EPOLL (event MPM listener)
         -D SKEP_SENDFILE
         -D SKEP_SCOREBOARD=shared anonymous mmap
         -D DEFAULT_PIDLOG="logs/httpd.pid"
         -D DEFAULT_ERRORLOG="logs/error_log"
         -D DEFAULT_LISTENBACKLOG=511
        """
    }

    static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6"
        #endif
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
