import SkepConfig
import SkepMPM
import SkepServer

/// A module of your own, as an Apache module is: a name (`<IfModule hello_module>` and
/// `skep -M` show it), the handlers `SetHandler` maps URLs to, configuration directives
/// read like the built-in ones (with `file:line` errors), and per-child hooks.
///
/// Your modules are compiled in, like Apache's static modules: no `LoadModule` is needed.
public struct Module {
    /// The module's name, by Apache's convention ending in `_module`.
    public let name: String
    var embedded: EmbeddedModule

    /// - Parameter name: the module's name, such as `hello_module`.
    public init(_ name: String) {
        self.name = name
        let base = name.hasSuffix("_module") ? String(name.dropLast(7)) : name
        embedded = EmbeddedModule(descriptor: ModuleDescriptor(name: name, sourceName: "mod_\(base).c", isStatic: true))
    }

    /// Registers a handler: `SetHandler name` (or `AddHandler name .ext`) sends requests to it.
    ///
    /// Handlers are synchronous and run on the thread that serves the request, as an
    /// Apache module's do: the prefork child's only thread, or one of a worker or event
    /// child's `ThreadsPerChild` threads. Block as you need to (a database call, a file
    /// read): under worker and event other threads keep serving meanwhile.
    ///
    /// - Parameters:
    ///   - name: the handler's name in the configuration.
    ///   - threadSafe: whether the handler may run on several threads of one process at
    ///     once. Answer `false` for code with unprotected shared state (a global cache, a
    ///     C library that is not thread-safe): such a handler may only be mapped under the
    ///     prefork MPM, and a configuration that maps it under worker or event fails `-t`
    ///     and start-up at the `SetHandler` line, as PHP's non-thread-safe build may only
    ///     be embedded in prefork.
    ///   - nonBlocking: whether the handler answers from memory alone: no file, socket,
    ///     lock wait or sleep, no request body read, and no `stream` or `sendFile`. The event
    ///     MPM may then run it on its listener thread, as it runs server-status, without
    ///     handing the request to a worker (a hand-off costs more than a small request).
    ///     A handler that says so and still answers with a stream gets 500, logged: a
    ///     stream could stall every connection of the child. Default `false`: the handler
    ///     runs on a worker thread.
    ///   - body: builds the response. A thrown error answers 500 and is logged; a trap
    ///     (a failed force-unwrap, an index out of range) ends this child process only:
    ///     the master logs it with the request line and starts a replacement.
    public mutating func handler(_ name: String, threadSafe: Bool, nonBlocking: Bool = false,
                                 _ body: @escaping @Sendable (_ request: Request, _ response: Response) throws -> Void) {
        let module = self.name
        embedded.handlers.append(EmbeddedModule.HandlerEntry(name: name, threadSafe: threadSafe, nonBlocking: nonBlocking) { raw, server in
            let request = Request(raw, server: server, module: module)
            let response = Response(request: request)
            try body(request, response)
            return response.built()
        })
    }

    /// Declares a configuration directive that sets a field of your per-directory record.
    ///
    /// The record is merged down `<VirtualHost>`, `<Directory>`, `<Location>` and `<Files>`
    /// sections as the built-in modules' are; a handler reads the record in effect for its
    /// request with `request.config(Config.self)`.
    ///
    /// - Parameters:
    ///   - name: the directive's name; matched without regard to case, as Apache does.
    ///   - type: the record it writes (`MyConfig.self`); lets `apply`'s parameters be inferred.
    ///   - arguments: how many arguments it takes (`.take1`, `.flag`, `.iterate`...).
    ///   - contexts: where it may be written (`.anywhere`, `.server`, `.perDirectory`...).
    ///   - help: one line for error messages.
    ///   - apply: folds the directive's arguments into the record; throw `DirectiveError`
    ///     (or any error) to reject them: the message is reported at the directive's `file:line`.
    public mutating func directive<Config: ModuleConfig>(
        _ name: String, _ arguments: ArgumentCount = .take1, in contexts: DirectiveContext = .anywhere,
        for type: Config.Type = Config.self, help: String,
        _ apply: @escaping @Sendable (_ arguments: [String], _ config: inout Config) throws -> Void
    ) {
        embedded.descriptor.directives.append(DirectiveSpec(name, arguments, contexts, help: help) { d, scope throws(ConfigError) in
            do {
                try apply(d.arguments, &scope.directory[Config.self])
            } catch let error as DirectiveError {
                throw d.error("\(d.name): \(error.message)")
            } catch {
                throw d.error("\(d.name): \(error)")
            }
        })
    }

    /// Runs `hook` in each new child process before it serves (Apache's `child_init`),
    /// after it has switched to `User`/`Group`: open a database connection per child here.
    /// A hook that throws stops the child's start; the master logs it and backs off.
    public mutating func onChildInit(_ hook: @escaping @Sendable (_ child: Child) throws -> Void) {
        let module = name
        embedded.childInit.append { info in try hook(Child(info, module: module)) }
    }

    /// Runs `hook` when a child ends on its own terms (graceful stop or restart,
    /// `MaxConnectionsPerChild`), not when it is killed or crashes.
    public mutating func onChildExit(_ hook: @escaping @Sendable (_ child: Child) -> Void) {
        let module = name
        embedded.childExit.append { info in hook(Child(info, module: module)) }
    }
}

/// A directive's arguments rejected: `message` is reported at the directive's `file:line`.
public struct DirectiveError: Error, CustomStringConvertible {
    /// What is wrong with the arguments, as the user should read it.
    public var message: String
    /// - Parameter message: what is wrong, e.g. "the greeting must not be empty".
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// A module's configuration record: created with its defaults, filled by its directives,
/// merged down nested sections. `init()` gives the defaults; `merged(with:)` returns the
/// record in effect where `child` is written inside `self` (usually: the child's fields
/// where it set them, else the parent's).
public typealias ModuleConfig = SkepConfig.ModuleConfig
/// How many arguments a directive takes, as Apache's `TAKE1`, `FLAG`, `ITERATE`...
public typealias ArgumentCount = SkepConfig.ArgumentCount
/// Where a directive may be written, as Apache's `RSRC_CONF`/`ACCESS_CONF`.
public typealias DirectiveContext = SkepConfig.DirectiveContext
