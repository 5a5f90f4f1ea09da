/* engine/backend/backends.h — what each backend gives dev.c besides its op table.
 *
 * ref and cpu keep their buffers in host memory (dev.c allocates them); cuda keeps them on the
 * GPU. Each backend's init fills d->ctx (primitive caches, handles, scratch) and its fini frees it.
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

// cuda (cuDNN + cuBLAS + our kernels), built when HAVE_CUDA
bool  cuda_dev_present(void);           // quiet: does cudaGetDeviceCount report a device?
int   cuda_dev_init(Dev *d);            // 0, or ERR_DEVICE with one line printed
void  cuda_dev_fini(Dev *d);
void *cuda_dev_alloc(size_t bytes);     // NULL when out of device memory
void  cuda_dev_free(void *p);
void  cuda_dev_upload(void *dst, const void *src, size_t bytes);
void  cuda_dev_download(void *dst, const void *src, size_t bytes);
void  cuda_dev_memset0(void *p, size_t bytes);
void  cuda_dev_sync(void);

#ifdef __cplusplus
}
#endif
#endif
