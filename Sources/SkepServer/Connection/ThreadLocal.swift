#if canImport(Glibc)
import Glibc
#endif
import SkepHTTP

/// One instance per thread, made on first use: state the request path reuses on every
/// request without a lock, where one per connection or per request would cost memory or
/// an allocation each.
final class ThreadLocal<Value: AnyObject>: @unchecked Sendable {
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        // The destructor cannot name `Value` (a C function captures nothing); every Swift
        // class instance is released the same way.
        pthread_key_create(&key) { value in
            if let value { Unmanaged<AnyObject>.fromOpaque(value).release() }
        }
        self.key = key
        self.make = make
    }

    /// The calling thread's instance.
    var value: Value {
        if let stored = pthread_getspecific(key) {
            return Unmanaged<Value>.fromOpaque(stored).takeUnretainedValue()
        }
        let fresh = make()
        pthread_setspecific(key, Unmanaged.passRetained(fresh).toOpaque())
        return fresh
    }
}

/// The `Date` header's cache of the calling thread: one per thread keeps threads apart
/// without a lock, where one per connection cost every idle connection a cache.
enum ThreadDate {
    private static let caches = ThreadLocal { HTTPDateCache() }

    /// The formatted date of the current second.
    static func value(at second: Int64) -> [UInt8] { caches.value.value(at: second) }
}
