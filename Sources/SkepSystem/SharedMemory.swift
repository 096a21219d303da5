import CSkepSystem
import Glibc

/// An anonymous shared mapping (mmap MAP_SHARED | MAP_ANONYMOUS): the scoreboard.
///
/// Created by the master before the first fork, so the master and every child see the
/// same pages (DESIGN.md section 5). `@unchecked Sendable` because sharing the memory
/// between processes and threads is its purpose: what lives inside must be accessed with
/// atomics or owned by one writer, which is the scoreboard's contract, not this type's.
public struct SharedMemory: @unchecked Sendable, Hashable {
    /// The start of the mapping, page-aligned.
    public let baseAddress: UnsafeMutableRawPointer
    /// The mapped size in bytes (the request rounded up to whole pages).
    public let size: Int

    /// Maps `size` bytes (rounded up to pages), zero-filled.
    public static func anonymous(size: Int) throws -> SharedMemory {
        precondition(size > 0)
        let page = pageSize
        let rounded = (size + page - 1) / page * page
        let pointer = cskep_mmap_shared_anonymous(rounded)
        guard let pointer, cskep_is_map_failed(pointer) == 0 else { throw SystemError("mmap") }
        return SharedMemory(baseAddress: pointer, size: rounded)
    }

    /// The mapping as a raw buffer.
    @inlinable
    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: baseAddress, count: size) }

    /// munmap(2). Every copy of this value becomes invalid.
    public func unmap() throws {
        if munmap(baseAddress, size) == -1 { throw SystemError("munmap") }
    }

    /// The system page size (sysconf(_SC_PAGESIZE)).
    public static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }
}
