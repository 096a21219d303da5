#ifndef SKEP_MALLOC_COUNTER_H
#define SKEP_MALLOC_COUNTER_H

#include <stdint.h>

/// Allocation calls seen between `malloc_counter_start()` and `malloc_counter_stop()`.
typedef struct {
    /// malloc, calloc, posix_memalign, aligned_alloc, memalign, valloc, pvalloc calls.
    int64_t allocations;
    /// realloc calls (each may move the block: counted apart from `allocations`).
    int64_t reallocations;
    /// free calls with a non-NULL pointer.
    int64_t frees;
    /// Bytes requested by the allocation and reallocation calls.
    int64_t bytes;
} malloc_counter_stats;

/// Zeroes the counters and starts counting.
void malloc_counter_start(void);
/// Stops counting; the counters keep their values.
void malloc_counter_stop(void);
malloc_counter_stats malloc_counter_read(void);

#endif
