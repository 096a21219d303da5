#if canImport(Glibc)
import Glibc
#endif
import SkepHTTP

/// The `Date` header's cache of the calling thread: one per thread keeps threads apart
/// without a lock, where one per connection cost every idle connection a cache.
enum ThreadDate {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { cache in
            if let cache { Unmanaged<HTTPDateCache>.fromOpaque(cache).release() }
        }
        return key
    }()

    /// The formatted date of the current second.
    static func value(at second: Int64) -> [UInt8] {
        if let cache = pthread_getspecific(key) {
            return Unmanaged<HTTPDateCache>.fromOpaque(cache).takeUnretainedValue().value(at: second)
        }
        let cache = HTTPDateCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache.value(at: second)
    }
}
