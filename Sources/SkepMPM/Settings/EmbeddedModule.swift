import SkepConfig
import SkepServer

/// A module an embedding program brings, in the form the MPMs run it: its descriptor
/// (name and directives, read like a built-in module's), its handlers with their
/// thread-safety, and its per-child hooks. The `Skep` library builds these from its
/// public `Module` type.
public struct EmbeddedModule: Sendable {
    /// One handler the module answers `SetHandler name` with.
    public struct HandlerEntry: Sendable {
        public var name: String
        /// False for a handler that must never run on two threads of one process at
        /// once (PHP's NTS build): only the prefork MPM may run it.
        public var threadSafe: Bool
        /// True for a handler that answers from memory alone: the event listener may run it.
        public var nonBlocking: Bool
        public var run: Handler

        public init(name: String, threadSafe: Bool, nonBlocking: Bool = false, run: @escaping Handler) {
            self.name = name
            self.threadSafe = threadSafe
            self.nonBlocking = nonBlocking
            self.run = run
        }
    }

    /// A per-child hook: Apache's `child_init`, or the child's clean exit.
    public typealias ChildHook = @Sendable (ChildInfo) throws -> Void

    public var descriptor: ModuleDescriptor
    public var handlers: [HandlerEntry]
    public var childInit: [ChildHook]
    public var childExit: [ChildHook]

    public init(descriptor: ModuleDescriptor, handlers: [HandlerEntry] = [], childInit: [ChildHook] = [], childExit: [ChildHook] = []) {
        self.descriptor = descriptor
        self.handlers = handlers
        self.childInit = childInit
        self.childExit = childExit
    }
}

/// What a child hook is told about the process it runs in.
public struct ChildInfo: Sendable {
    /// The child's process id.
    public var pid: Int32
    /// Its process slot in the scoreboard.
    public var slot: Int
    /// The configuration generation (0 at start, +1 per restart).
    public var generation: Int
    /// `prefork`, `worker` or `event`.
    public var mpm: String
    /// The threads that will call handlers in this child at once (1 under prefork).
    public var threads: Int
    /// The generation's configuration and logs.
    public var context: ServerContext
}
