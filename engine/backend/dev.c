/* engine/backend/dev.c — opening a backend by name, and its memory.
 *
 * Backends that are not built say so by name when asked for ("cuda: not built (nvcc was not
 * found at build time)"), and a built CUDA backend without a device says that instead: a CUDA
 * build does not imply a CUDA device, so callers decide at run time (STYLE §11).
 */
#include "backends.h"

#include <stdio.h>  // fprintf
#include <stdlib.h> // aligned_alloc, free
#include <string.h> // strcmp, memcpy, memset
#include <omp.h>    // omp_get_max_threads
#ifdef HAVE_CUDA
#include <dlfcn.h>  // dlopen: the cuda backend is a shared object loaded on first use
#endif

static const char *backend_names = "ref, cpu, cuda";

static inline bool is_cuda(const Dev *d) { return d && d->name && strcmp(d->name, "cuda") == 0; }

#ifdef HAVE_CUDA
// the cuda backend's table, loaded once; NULL (with why[] filled) when the object or the CUDA
// libraries it needs cannot be loaded. Process-wide like the dynamic linker's own state.
static const CudaBackend *cuda_lib(const char **why)
{
    static const CudaBackend *lib;
    static char err[512];
    if (!lib && !err[0]) {
        void *h = dlopen(CUDA_BACKEND_LIB, RTLD_NOW | RTLD_LOCAL);
        if (h) lib = (const CudaBackend *)dlsym(h, CUDA_BACKEND_SYM);
        if (!lib) snprintf(err, sizeof err, "%s", h ? "no cuda_backend symbol in " CUDA_BACKEND_LIB : dlerror());
    }
    if (why) *why = err;
    return lib;
}
#define CUDA_LIB() cuda_lib(NULL) // only where a cuda Dev was opened, so the library is loaded
#endif

bool dev_available(const char *name)
{
    if (strcmp(name, "ref") == 0) return true;
#ifdef HAVE_DNNL
    if (strcmp(name, "cpu") == 0) return true;
#endif
#ifdef HAVE_CUDA
    if (strcmp(name, "cuda") == 0) {
        const CudaBackend *cb = cuda_lib(NULL);
        return cb && cb->present();
    }
#endif
    return false;
}

// the CPU's model name and the OpenMP threads a parallel region gets: what ref and cpu run on
static void cpu_describe(char *buf, size_t cap)
{
    char line[512], model[256] = "an unnamed CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *v = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !v) continue;
        v += 1 + strspn(v + 1, " \t");
        v[strcspn(v, "\n")] = 0;
        snprintf(model, sizeof model, "%s", v);
        break;
    }
    if (f) fclose(f);
    int n = omp_get_max_threads();
    snprintf(buf, cap, "%s (%d OpenMP thread%s)", model, n, n == 1 ? "" : "s");
}

// ref and cpu keep host memory; REPRO_DEV_STAGED=1 has them say otherwise (ops.h, Dev.host)
static bool host_memory(void)
{
    const char *e = getenv("REPRO_DEV_STAGED");
    return !(e && strcmp(e, "1") == 0);
}

int dev_open(Dev *d, const char *name)
{
    memset(d, 0, sizeof *d);
    d->prec = PREC_FP32;
    if (strcmp(name, "ref") == 0) {
        d->name = "ref";
        d->ops = &ref_ops;
        d->host = host_memory();
        cpu_describe(d->desc, sizeof d->desc);
        return 0;
    }
    if (strcmp(name, "cpu") == 0) {
#ifdef HAVE_DNNL
        d->name = "cpu";
        d->ops = &cpu_ops;
        d->host = host_memory();
        cpu_describe(d->desc, sizeof d->desc);
        return cpu_dev_init(d);
#else
        log_error("backend cpu: not built (oneDNN was not found at build time; run make deps)");
        return ERR_DEVICE;
#endif
    }
    if (strcmp(name, "cuda") == 0) {
#ifdef HAVE_CUDA
        const char *why;
        const CudaBackend *cb = cuda_lib(&why);
        if (!cb) {
            log_error("backend cuda: cannot load %s (%s)", CUDA_BACKEND_LIB, why);
            return ERR_DEVICE;
        }
        if (!cb->present()) {
            log_error("backend cuda: no CUDA device (cudaGetDeviceCount found none)");
            return ERR_DEVICE;
        }
        d->name = "cuda";
        d->ops = cb->ops;
        return cb->init(d);
#else
        log_error("backend cuda: not built (nvcc was not found at build time, or CUDA=0)");
        return ERR_DEVICE;
#endif
    }
    log_error("unknown backend '%s' (valid: %s)", name, backend_names);
    return ERR_ARG;
}

void dev_close(Dev *d)
{
#ifdef HAVE_DNNL
    if (d->name && strcmp(d->name, "cpu") == 0) cpu_dev_fini(d);
#endif
#ifdef HAVE_CUDA
    if (is_cuda(d)) CUDA_LIB()->fini(d);
#endif
    memset(d, 0, sizeof *d);
}

void *dev_alloc(Dev *d, size_t bytes)
{
    size_t n = (bytes + 127) / 128 * 128; // 32 floats: the parameter table's alignment
    if (n == 0) n = 128;
#ifdef HAVE_CUDA
    if (is_cuda(d)) {
        void *p = CUDA_LIB()->alloc(n);
        CHECK(p, "dev_alloc on cuda: out of device memory allocating %zu bytes", bytes);
        return p;
    }
#endif
    void *p = aligned_alloc(128, n);
    CHECK(p, "dev_alloc on %s: out of host memory allocating %zu bytes", d->name, bytes);
    return p;
}

void dev_free(Dev *d, void *p)
{
    if (!p) return;
#ifdef HAVE_CUDA
    if (is_cuda(d)) { CUDA_LIB()->free(p); return; }
#endif
    (void)d;
    free(p);
}

void dev_upload(Dev *d, void *dst, const void *src, size_t bytes)
{
#ifdef HAVE_CUDA
    if (is_cuda(d)) { CUDA_LIB()->upload(dst, src, bytes); return; }
#endif
    (void)d;
    memcpy(dst, src, bytes);
}

void dev_download(Dev *d, void *dst, const void *src, size_t bytes)
{
#ifdef HAVE_CUDA
    if (is_cuda(d)) { CUDA_LIB()->download(dst, src, bytes); return; }
#endif
    (void)d;
    memcpy(dst, src, bytes);
}

void dev_memset0(Dev *d, void *p, size_t bytes)
{
#ifdef HAVE_CUDA
    if (is_cuda(d)) { CUDA_LIB()->memset0(p, bytes); return; }
#endif
    (void)d;
    // host: in 1 MB chunks across threads (a step zeroes ~200 MB of activation gradients)
    const size_t chunk = (size_t)1 << 20;
    long n = (long)((bytes + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (n > 1)
    for (long i = 0; i < n; i++) {
        size_t at = (size_t)i * chunk;
        memset((char *)p + at, 0, MIN(chunk, bytes - at));
    }
}

void dev_sync(Dev *d)
{
#ifdef HAVE_CUDA
    if (is_cuda(d)) CUDA_LIB()->sync();
#endif
    (void)d;
}
