/* engine/backend/cuda/dev.cu — the device: presence probe, context, memory and scratch.
 *
 * The hooks of backends.h, exported with the op table as the one symbol `cuda_backend` of
 * bin/libengine_cuda.so (table.cu). The presence probe is quiet and never fails: no driver,
 * no device or any error reads as "no device", so a CUDA build runs on machines without a GPU.
 * Memory calls are synchronous cudaMemcpy/cudaMemset on the default stream, which the op
 * kernels and the cuDNN/cuBLAS handles also use: no stream juggling, and a download sees every
 * queued op. Scratch grows per slot and is never shrunk (cudaFree waits for queued work).
 */
#include <stdio.h>  // fprintf
#include <stdlib.h> // getenv, atoi: the rank's device

#include "cuda.h"

bool cuda_dev_present(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no device" error
        return false;
    }
    return n > 0;
}

// the GPU of this process: a data-parallel rank's local rank (mpirun: OMPI_COMM_WORLD_LOCAL_RANK;
// srun: SLURM_LOCALID; MPICH: MPI_LOCALRANKID) modulo the devices it sees, so the ranks of a node
// spread over its GPUs, or share one (their MPI goes through host copies); srun --gpus-per-task
// shows each rank its own GPU as device 0. A plain process: device 0
static int local_device(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"};
    int n = 0, local = 0;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            local = atoi(v);
            break;
        }
    }
    if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) return 0;
    return (local < 0 ? 0 : local) % n;
}

int cuda_dev_init(Dev *d)
{
    CudaCtx *c = (CudaCtx *)xcalloc(1, sizeof *c);
    int dev = local_device();
    cudaError_t ce = cudaSetDevice(dev);
    cudnnStatus_t ds = ce == cudaSuccess ? cudnnCreate(&c->dnn) : CUDNN_STATUS_NOT_INITIALIZED;
    cublasStatus_t bs = ds == CUDNN_STATUS_SUCCESS ? cublasCreate(&c->blas) : CUBLAS_STATUS_NOT_INITIALIZED;
    if (bs != CUBLAS_STATUS_SUCCESS) {
        log_error("backend cuda: cannot start on device %d: %s", dev, ce != cudaSuccess ? cudaGetErrorString(ce)
                  : ds != CUDNN_STATUS_SUCCESS ? cudnnGetErrorString(ds) : "cublasCreate failed");
        if (ds == CUDNN_STATUS_SUCCESS) cudnnDestroy(c->dnn);
        cudaGetLastError(); // leave no sticky error for the next launch check
        free(c);
        return ERR_DEVICE;
    }
    // everything on the default stream: host copies order themselves after kernels, and the
    // libraries' work after ours. No TF32 in cuBLAS: float32 means float32 (the op test's tolerance)
    CUDNN_CHECK(cudnnSetStream(c->dnn, 0));
    CUBLAS_CHECK(cublasSetStream(c->blas, 0));
    CUBLAS_CHECK(cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH));
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, dev) == cudaSuccess)
        snprintf(d->desc, sizeof d->desc, "%.110s (%.0f GiB, device %d)", p.name,
                 (double)p.totalGlobalMem / (1 << 30), dev);
    d->ctx = c;
    d->coll = cuda_coll;
    return 0;
}

void cuda_conv_cache_free(CudaCtx *c); // conv2d.cu

void cuda_dev_fini(Dev *d)
{
    CudaCtx *c = cuda_ctx(d);
    if (!c) return;
    cuda_conv_cache_free(c);
    cuda_coll_fini(c);
    for (int i = 0; i < CUDA_SCRATCH; i++) cudaFree(c->scratch[i]);
    cublasDestroy(c->blas);
    cudnnDestroy(c->dnn);
    free(c);
    d->ctx = NULL;
}

void *cuda_dev_alloc(size_t bytes)
{
    void *p = NULL;
    return cudaMalloc(&p, bytes) == cudaSuccess ? p : NULL;
}

void cuda_dev_free(void *p) { CUDA_CHECK(cudaFree(p)); }
void cuda_dev_upload(void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void cuda_dev_download(void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void cuda_dev_memset0(void *p, size_t bytes) { CUDA_CHECK(cudaMemset(p, 0, bytes)); }
void cuda_dev_sync(void) { CUDA_CHECK(cudaDeviceSynchronize()); }

void *cuda_scratch(Dev *d, int slot, size_t bytes)
{
    CudaCtx *c = cuda_ctx(d);
    CHECK(slot >= 0 && slot < CUDA_SCRATCH, "cuda_scratch: slot %d", slot);
    if (c->scratch_bytes[slot] < bytes) {
        if (c->scratch[slot]) CUDA_CHECK(cudaFree(c->scratch[slot]));
        size_t n = bytes + bytes / 4; // headroom: sizes creep up as shapes vary
        c->scratch[slot] = NULL;
        CHECK(cudaMalloc(&c->scratch[slot], n) == cudaSuccess,
              "cuda scratch: out of device memory allocating %zu bytes", n);
        c->scratch_bytes[slot] = n;
    }
    return c->scratch[slot];
}

void cuda_log_fallback(Dev *d, unsigned bit, const char *what)
{
    CudaCtx *c = cuda_ctx(d);
    if (c->logged & (1u << bit)) return;
    c->logged |= 1u << bit;
    fprintf(stderr, "cuda: %s: using our own kernel\n", what);
}
