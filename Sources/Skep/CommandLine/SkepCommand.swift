import ArgumentParser
import SkepConfig
import SkepMPM
#if canImport(Glibc)
import Glibc
#endif

/// `skep`: Apache httpd's command line, for Skep.
struct SkepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skep",
        abstract: "An Apache-compatible HTTP server with prefork, worker and event MPMs.",
        discussion: "Without -f, serves ./public (or the current directory) on 127.0.0.1:8080."
    )

    @Option(name: .customShort("f"), help: ArgumentHelp("The configuration file (Apache syntax).", valueName: "file"))
    var configFile: String?

    @Option(name: .customShort("d"), help: ArgumentHelp("The initial ServerRoot.", valueName: "directory"))
    var serverRoot: String?

    @Option(name: .customShort("D", allowingJoined: true), help: ArgumentHelp("Define a name for <IfDefine> and ${NAME}.", valueName: "name"))
    var defines: [String] = []

    @Option(name: .customShort("k"), help: ArgumentHelp("Signal the running master, or start one detached.", valueName: "action"))
    var action: ControlAction?

    @Flag(name: .customShort("t"), help: "Check the configuration and exit: Syntax OK, or file:line: errors.")
    var configTest = false

    @Flag(name: .customLong("explain"), help: "Print the MPM topology and connection limits the configuration gives.")
    var explain = false

    @Flag(name: .customShort("S"), help: "Show the parsed virtual hosts.")
    var showVirtualHosts = false

    @Flag(name: .customShort("M"), help: "List the loaded modules.")
    var showModules = false

    @Flag(name: .customShort("V"), help: "Print the version and build settings.")
    var showBuild = false

    @Flag(name: .customShort("v"), help: "Print the version.")
    var showVersion = false

    @Flag(name: .customShort("X"), help: "Debug mode: one process, one thread, in the foreground.")
    var singleProcess = false

    /// Runs the command line with the binary's modules (`skep`'s own, or an embedding
    /// program's added to them).
    func run(modules: ModuleSet) throws {
        if showVersion {
            print("Server version: \(SkepVersion.banner)")
            return
        }
        if showBuild {
            print(Reports.buildSettings())
            return
        }
        let loader = makeLoader(modules)
        let loaded: (config: ServerConfig, mpm: MPMSettings)
        do {
            loaded = try loader.load()
        } catch {
            Reports.printError(error.description)
            throw ExitCode(1)
        }
        let (config, mpm) = loaded
        let quiet = action != nil && action != .start
        if !quiet {
            for warning in config.warnings { Reports.printError(warning.description) }
        }
        if configTest || explain || showModules || showVirtualHosts {
            if explain { print(MPMExplanation(mpm).text) }
            if showModules { print(Reports.modules(config, all: loader.modules.descriptors)) }
            if showVirtualHosts { print(Reports.virtualHosts(config)) }
            if configTest {
                for adjustment in mpm.adjustments { Reports.printError("warning: \(adjustment)") }
                Reports.printError("Syntax OK")
            }
            return
        }
        if let action {
            let status = ControlCommand(action: action, config: config, arguments: CommandLine.arguments).run()
            throw ExitCode(status)
        }
        try Serve.run(config: config, mpm: mpm, loader: loader, singleProcess: singleProcess)
    }

    /// The configuration files Apache builds look for under `-d` when no `-f` is given:
    /// Debian's `apache2.conf`, upstream's `conf/httpd.conf`.
    static let serverRootConfigFiles = ["apache2.conf", "conf/httpd.conf"]

    private func makeLoader(_ modules: ModuleSet) -> ConfigLoader {
        var st = stat()
        if let configFile {
            return ConfigLoader(source: .file(configFile), serverRoot: serverRoot, defines: defines, modules: modules)
        }
        // `apache2ctl` runs `apache2 -d /etc/apache2` with no -f: the tree's own file is
        // read, as Apache reads its compiled-in SERVER_CONFIG_FILE.
        if let serverRoot, let file = Self.serverRootConfigFiles.first(where: { stat(serverRoot + "/" + $0, &st) == 0 }) {
            return ConfigLoader(source: .file(file), serverRoot: serverRoot, defines: defines, modules: modules)
        }
        let cwd = serverRoot ?? currentDirectory()
        let hasPublic = stat(cwd + "/public", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let text = DefaultConfig.text(currentDirectory: cwd, hasPublic: hasPublic, tempDirectory: tmp)
        return ConfigLoader(source: .text(text, name: DefaultConfig.name), serverRoot: cwd, defines: defines, modules: modules)
    }

    private func currentDirectory() -> String {
        guard let p = getcwd(nil, 0) else { return "/" }
        defer { free(p) }
        return String(cString: p)
    }
}

enum ControlAction: String, ExpressibleByArgument, CaseIterable {
    case start, stop, restart, graceful
    case gracefulStop = "graceful-stop"
}
