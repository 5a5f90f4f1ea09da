/* engine/backend/backends.h — what each backend gives dev.c besides its op table.
 *
 * ref and cpu keep their buffers in host memory (core/dev.h's dev_host_mem); cuda keeps them on
 * the GPU (its own DevMem). Each backend's init fills d->ctx (primitive caches, handles, scratch)
 * and its fini, which dev_open puts in d->fini, frees it.
 */
#ifndef BACKENDS_H
#define BACKENDS_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

// cpu (oneDNN + OpenMP), built when HAVE_DNNL
int  cpu_dev_init(Dev *d);  // 0, or ERR_DEVICE with one line printed
void cpu_dev_fini(Dev *d);

// cuda (cuDNN + cuBLAS + our kernels), built when HAVE_CUDA as a shared object of its own,
// bin/libengine_cuda.so, which dev.c loads (dlopen) the first time cuda is asked for: a program
// that never asks does not map cuDNN and cuBLAS, whose start-up alone holds ~215 MB resident, and
// a CUDA build still runs where the CUDA libraries are missing. The object exports one table:
typedef struct {
    const OpTable *ops;
    const DevMem  *mem;               // device memory (cudaMalloc, cudaMemcpy, ...)
    bool  (*present)(void);           // quiet: does cudaGetDeviceCount report a device?
    int   (*init)(Dev *d);            // 0, or ERR_DEVICE with one line printed
    void  (*fini)(Dev *d);
} CudaBackend;
#define CUDA_BACKEND_LIB "libengine_cuda.so"  // found through the programs' RUNPATH ($ORIGIN)
#define CUDA_BACKEND_SYM "cuda_backend"

#ifdef __cplusplus
}
#endif
#endif
