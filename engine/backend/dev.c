/* engine/backend/dev.c — opening a backend by name: its ops, memory table and teardown.
 *
 * Backends that are not built say so by name when asked for ("cuda: not built (nvcc was not
 * found at build time)"), and a built CUDA backend without a device says that instead: a CUDA
 * build does not imply a CUDA device, so callers decide at run time (STYLE §11).
 */
#include "backends.h"

#include <stdio.h>  // fprintf
#include <stdlib.h> // getenv
#include <string.h> // strcmp, memset
#include <omp.h>    // omp_get_max_threads
#ifdef HAVE_CUDA
#include <dlfcn.h>  // dlopen: the cuda backend is a shared object loaded on first use
#endif

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
#endif

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

// ref and cpu keep host memory; REPRO_DEV_STAGED=1 has them say otherwise (core/dev.h, Dev.host)
static bool host_memory(void)
{
    const char *e = getenv("REPRO_DEV_STAGED");
    return !(e && strcmp(e, "1") == 0);
}

// ---------------------------------------------------------------------------------------------
// the backends, by name: open fills in d (ops, memory, teardown) or says why it cannot

static int ref_open(Dev *d)
{
    d->ops = &ref_ops;
    d->mem = &dev_host_mem;
    d->host = host_memory();
    cpu_describe(d->desc, sizeof d->desc);
    return 0;
}

static int cpu_open(Dev *d)
{
#ifdef HAVE_DNNL
    d->ops = &cpu_ops;
    d->mem = &dev_host_mem;
    d->fini = cpu_dev_fini;
    d->host = host_memory();
    cpu_describe(d->desc, sizeof d->desc);
    return cpu_dev_init(d);
#else
    log_error("backend cpu: not built (oneDNN was not found at build time; run make deps)");
    return ERR_DEVICE;
#endif
}

static bool cpu_present(void)
{
#ifdef HAVE_DNNL
    return true;
#else
    return false;
#endif
}

static int cuda_open(Dev *d)
{
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
    d->ops = cb->ops;
    d->mem = cb->mem;
    d->fini = cb->fini;
    return cb->init(d);
#else
    (void)d;
    log_error("backend cuda: not built (nvcc was not found at build time, or CUDA=0)");
    return ERR_DEVICE;
#endif
}

static bool cuda_present(void)
{
#ifdef HAVE_CUDA
    const CudaBackend *cb = cuda_lib(NULL);
    return cb && cb->present();
#else
    return false;
#endif
}

static bool always(void) { return true; }

static const struct {
    const char *name;
    int (*open)(Dev *d);    // 0, or ERR_DEVICE with one line printed
    bool (*present)(void);  // quiet: built, and a device answers
} backends[] = {
    {"ref", ref_open, always},
    {"cpu", cpu_open, cpu_present},
    {"cuda", cuda_open, cuda_present},
};

static int find_backend(const char *name)
{
    for (int i = 0; i < LEN(backends); i++)
        if (!strcmp(backends[i].name, name)) return i;
    return -1;
}

bool dev_known(const char *name) { return find_backend(name) >= 0; }
bool dev_available(const char *name) { return dev_known(name) && backends[find_backend(name)].present(); }

const char *dev_names(void)
{
    static char buf[64];
    if (!buf[0])
        for (int i = 0, at = 0; i < LEN(backends); i++)
            at += snprintf(buf + at, sizeof buf - (size_t)at, "%s%s", i ? ", " : "", backends[i].name);
    return buf;
}

int dev_open(Dev *d, const char *name)
{
    memset(d, 0, sizeof *d);
    int i = find_backend(name);
    if (i < 0) {
        log_error("unknown backend '%s' (valid: %s)", name, dev_names());
        return ERR_ARG;
    }
    d->name = backends[i].name;
    d->prec = PREC_FP32;
    int rc = backends[i].open(d);
    if (rc) memset(d, 0, sizeof *d); // nothing to close
    return rc;
}
