import CSkepSystem

/// The C allocator's memory, as a long-running server process manages it.
public enum Memory {
    /// Returns the allocator's free pages to the system (`malloc_trim(0)`), those in the
    /// middle of the heap included, which `free` alone keeps resident.
    public static func releaseFreePages() {
        _ = malloc_trim(0)
    }
}
