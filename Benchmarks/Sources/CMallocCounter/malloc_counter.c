// Counts allocator calls for the parser benchmark.
//
// How: this file defines `malloc`, `free` and the other allocator entry points in the
// benchmark executable itself. glibc supports replacing the allocator this way: the
// executable comes first in ELF symbol lookup, so every call through the PLT — the Swift
// runtime's `swift_slowAlloc`, Foundation, SwiftNIO, libc itself — lands here. Each
// wrapper counts (only while counting is on) and forwards to glibc's own implementation
// (`__libc_malloc` & co., exported by glibc for exactly this), so the heap and
// `malloc_usable_size` stay glibc's. Unlike `-Wl,--wrap=malloc`, which only rewrites the
// references inside the executable, this also sees the calls made from shared libraries
// (libswiftCore.so allocates every class instance and array buffer).
#include "malloc_counter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static atomic_int counting;
static atomic_llong allocations, reallocations, frees, bytes;

#define ON() (atomic_load_explicit(&counting, memory_order_relaxed))
#define ADD(counter, n) atomic_fetch_add_explicit(&(counter), (long long)(n), memory_order_relaxed)

static inline void count_alloc(size_t size) {
    if (ON()) {
        ADD(allocations, 1);
        ADD(bytes, size);
    }
}

void *malloc(size_t size) {
    count_alloc(size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    count_alloc(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    if (ON()) {
        ADD(reallocations, 1);
        ADD(bytes, size);
    }
    return __libc_realloc(p, size);
}

void free(void *p) {
    if (p != NULL && ON()) ADD(frees, 1);
    __libc_free(p);
}

void *memalign(size_t alignment, size_t size) {
    count_alloc(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_alloc(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    count_alloc(size);
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size) {
    count_alloc(size);
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    count_alloc(size);
    return __libc_pvalloc(size);
}

void malloc_counter_start(void) {
    atomic_store(&allocations, 0);
    atomic_store(&reallocations, 0);
    atomic_store(&frees, 0);
    atomic_store(&bytes, 0);
    atomic_store(&counting, 1);
}

void malloc_counter_stop(void) { atomic_store(&counting, 0); }

malloc_counter_stats malloc_counter_read(void) {
    malloc_counter_stats s = {
        .allocations = atomic_load(&allocations),
        .reallocations = atomic_load(&reallocations),
        .frees = atomic_load(&frees),
        .bytes = atomic_load(&bytes),
    };
    return s;
}
