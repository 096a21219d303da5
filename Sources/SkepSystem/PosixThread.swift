import CSkepSystem
import Glibc

/// A plain pthread running a closure: the worker and event MPMs' listener and worker
/// threads.
///
/// Why not Dispatch, Foundation's `Thread` or Swift concurrency: children are forked from
/// a master that must never have touched them (DESIGN.md section 5), and a server thread
/// pool wants fixed, named, joinable threads. Threads inherit the creating thread's signal
/// mask: a child sets its mask before spawning.
public final class PosixThread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: @Sendable () -> Void
    private let name: String?
    private var joined = false

    private init(name: String?, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }

    /// Starts a thread running `body`.
    /// - Parameters:
    ///   - name: the thread name (truncated to Linux's 15 bytes), e.g. `"skep-worker-3"`.
    ///   - stackSize: bytes of stack (Apache's `ThreadStackSize`); `nil` keeps the default.
    public static func spawn(
        name: String? = nil, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void
    ) throws -> PosixThread {
        let thread = PosixThread(name: name, body: body)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize {
            let result = pthread_attr_setstacksize(&attributes, stackSize)
            if result != 0 { throw SystemError(code: result, "pthread_attr_setstacksize") }
        }
        let context = Unmanaged.passRetained(thread).toOpaque()
        let result = pthread_create(&thread.handle, &attributes, { context in
            let thread = Unmanaged<PosixThread>.fromOpaque(context!).takeRetainedValue()
            if let name = thread.name { PosixThread.setCurrentName(name) }
            thread.body()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<PosixThread>.fromOpaque(context).release()
            throw SystemError(code: result, "pthread_create")
        }
        return thread
    }

    /// Waits for the thread to finish (once; later calls return at once). Call it from one
    /// thread only.
    public func join() {
        guard !joined else { return }
        joined = true
        pthread_join(handle, nil)
    }

    /// Names the calling thread (15 bytes at most are kept).
    public static func setCurrentName(_ name: String) {
        let bytes = Array(name.utf8.prefix(15)) + [0]
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                _ = cskep_set_thread_name($0)
            }
        }
    }

    /// The calling thread's name.
    public static var currentName: String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            guard cskep_get_thread_name(buffer.baseAddress!, 32) == 0 else { return "" }
            buffer[31] = 0
            return String(cString: buffer.baseAddress!)
        }
    }

    deinit {
        if !joined { pthread_detach(handle) }
    }
}
