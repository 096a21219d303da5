// malloc_count.c: counts allocator calls in every process of a running server.
//
// Built by run.py (`cc -O2 -shared -fPIC`) and loaded with LD_PRELOAD into the server's
// master; its children inherit it (fork) and so do re-executed processes (environment).
// Each process maps the same file (MALLOC_COUNT_FILE, created by run.py, 4 KiB, mode 0666
// so that children running as www-data can map it too) MAP_SHARED and adds to the counters
// in it atomically, so the file holds the sum over all processes: run.py reads it before
// and after a wrk run and divides by the requests wrk completed. Every call is forwarded to
// glibc's own implementation (__libc_malloc & co.), so the heap stays glibc's. This is the
// same interposition as Sources/CMallocCounter (which is linked into the parser benchmark
// executable); here it is preloaded instead, because the server binary must stay as built.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

// [0] allocations (malloc, calloc, memalign, aligned_alloc, posix_memalign, valloc, pvalloc)
// [1] reallocs  [2] frees  [3] bytes requested
static _Atomic long long *counters;

__attribute__((constructor)) static void malloc_count_init(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (path == NULL) return;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m != MAP_FAILED) counters = m;
}

#define ADD(i, n) \
    do { if (counters) atomic_fetch_add_explicit(&counters[i], (long long)(n), memory_order_relaxed); } while (0)
#define ALLOC(size) do { ADD(0, 1); ADD(3, size); } while (0)

void *malloc(size_t size) { ALLOC(size); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { ALLOC(n * size); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { ADD(1, 1); ADD(3, size); return __libc_realloc(p, size); }
void free(void *p) { if (p) ADD(2, 1); __libc_free(p); }
void *memalign(size_t a, size_t size) { ALLOC(size); return __libc_memalign(a, size); }
void *aligned_alloc(size_t a, size_t size) { ALLOC(size); return __libc_memalign(a, size); }
void *valloc(size_t size) { ALLOC(size); return __libc_valloc(size); }
void *pvalloc(size_t size) { ALLOC(size); return __libc_pvalloc(size); }
int posix_memalign(void **out, size_t a, size_t size) {
    if (a < sizeof(void *) || (a & (a - 1)) != 0) return EINVAL;
    ALLOC(size);
    void *p = __libc_memalign(a, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}
