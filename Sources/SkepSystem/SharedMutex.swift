import Glibc

/// A pthread mutex that lives in `SharedMemory`, locked by threads of every child: the
/// lock of a table the children share (mod_ssl's session cache). Process-shared and
/// robust, so a child that dies holding it does not stop the others: the next `lock`
/// takes it over and says so, and the caller resets what it guards, which may be
/// half-written.
public struct SharedMutex: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<pthread_mutex_t>

    /// The bytes a mutex takes in the mapping (aligned as the mapping's start is).
    public static var size: Int { MemoryLayout<pthread_mutex_t>.stride }

    /// Makes a new, unlocked mutex at `address` (in the master, before any child forks).
    public static func create(at address: UnsafeMutableRawPointer) -> SharedMutex {
        let mutex = address.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))  // trap-safe: a small enum constant
        pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST))  // trap-safe: a small enum constant
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        return SharedMutex(storage: mutex)
    }

    private init(storage: UnsafeMutablePointer<pthread_mutex_t>) {
        self.storage = storage
    }

    /// Locks; true when the previous owner died holding the lock (it is now this
    /// thread's, made consistent, and what it guards must be reset).
    public func lock() -> Bool {
        guard pthread_mutex_lock(storage) == EOWNERDEAD else { return false }
        pthread_mutex_consistent(storage)
        return true
    }

    public func unlock() {
        pthread_mutex_unlock(storage)
    }
}
