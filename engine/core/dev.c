/* engine/core/dev.c — a device's memory through its table (dev.h), and host memory's table. */
#include "dev.h"

#include <string.h> // memcpy, memset

void dev_close(Dev *d)
{
    if (d->fini) d->fini(d);
    memset(d, 0, sizeof *d);
}

void *dev_alloc(Dev *d, size_t bytes)
{
    size_t n = (bytes + 127) / 128 * 128; // 32 floats: the parameter table's alignment
    if (n == 0) n = 128;
    void *p = d->mem->alloc(n);
    CHECK(p, "dev_alloc on %s: out of %s memory allocating %zu bytes", d->name,
          d->mem == &dev_host_mem ? "host" : "device", bytes);
    return p;
}

void dev_free(Dev *d, void *p)
{
    if (p) d->mem->free(p);
}

void dev_upload(Dev *d, void *dst, const void *src, size_t bytes) { d->mem->upload(dst, src, bytes); }
void dev_download(Dev *d, void *dst, const void *src, size_t bytes) { d->mem->download(dst, src, bytes); }
void dev_memset0(Dev *d, void *p, size_t bytes) { d->mem->memset0(p, bytes); }
void dev_sync(Dev *d) { d->mem->sync(); }

// ---------------------------------------------------------------------------------------------
// host memory (ref, cpu)

static void *host_alloc(size_t bytes) { return aligned_alloc(128, bytes); }
static void host_free(void *p) { free(p); }
static void host_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void host_sync(void) {}

// in 1 MB chunks across threads (a step zeroes ~200 MB of activation gradients)
static void host_memset0(void *p, size_t bytes)
{
    const size_t chunk = (size_t)1 << 20;
    long n = (long)((bytes + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (n > 1)
    for (long i = 0; i < n; i++) {
        size_t at = (size_t)i * chunk;
        memset((char *)p + at, 0, MIN(chunk, bytes - at));
    }
}

const DevMem dev_host_mem = {host_alloc, host_free, host_copy, host_copy, host_memset0, host_sync};
