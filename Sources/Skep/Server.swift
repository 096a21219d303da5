import SkepMPM
#if canImport(Glibc)
import Glibc
#endif

/// A server binary of your own: Skep's whole command line (`-f`, `-t`, `-k`, `-X`,
/// `-M`, `--explain`...), its configuration reader, its three MPMs, its logs and
/// `/server-status`, with your modules added to the built-in ones.
///
/// Call `run()` from your `main.swift`, before anything starts a thread: the master
/// process forks its children, and a forked copy of a process that has other threads
/// (Dispatch's, Swift concurrency's cooperative pool, your own) can deadlock on a lock one
/// of them held. `run()` checks this and refuses to start otherwise, and it cannot be
/// called from an `async` context.
///
/// ```swift
/// import Skep
///
/// var hello = Module("hello_module")
/// hello.handler("hello", threadSafe: true) { request, response in
///     response.contentType = "text/plain"
///     response.send("Hello, \(request.client.host)\n")
/// }
/// Server(modules: [hello]).run()
/// ```
public struct Server {
    /// Your modules, after the built-in ones in hook order.
    public var modules: [Module]

    /// - Parameter modules: your modules; each module's name and each handler's name must be unique.
    public init(modules: [Module] = []) {
        self.modules = modules
    }

    /// Parses the command line, reads the configuration and serves until stopped; exits
    /// the process with the status Apache's `httpd` would (0, or 1 for a bad configuration).
    @available(*, noasync, message: "call Server.run() from main.swift before any Task or thread starts: the master forks")
    public func run() -> Never {
        let threads = Self.threadCount()
        if threads != 1 {
            Self.fail("Server.run() found \(threads) threads in this process; call it first thing in main.swift, before "
                + "Dispatch, a Task or any thread starts: the master forks its children, and a forked copy of a "
                + "multi-threaded process can deadlock")
        }
        if let problem = Self.problem(in: modules) { Self.fail(problem) }
        let set = ModuleSet(embedded: modules.map(\.embedded))
        do {
            let command = try SkepCommand.parse(Array(CommandLine.arguments.dropFirst()))
            try command.run(modules: set)
            SkepCommand.exit()
        } catch {
            SkepCommand.exit(withError: error)
        }
    }

    /// A module set that cannot work: repeated module or handler names.
    static func problem(in modules: [Module]) -> String? {
        var moduleNames: Set<String> = Set(ModuleSet.builtin.descriptors.map(\.name))
        var handlerNames: Set<String> = []
        for module in modules {
            guard moduleNames.insert(module.name).inserted else { return "two modules are named \(module.name)" }
            for handler in module.embedded.handlers {
                guard handlerNames.insert(handler.name).inserted else { return "two handlers are named \(handler.name)" }
            }
        }
        return nil
    }

    /// The threads of this process, from /proc (1 when that cannot be read).
    static func threadCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return max(count, 1)
    }

    static func fail(_ message: String) -> Never {
        Reports.printError("skep: \(message)")
        exit(70)
    }
}
