/* engine/backend/cuda/dev.cu — the device: presence probe, context, memory and scratch. */
#include <stdio.h> // fprintf

#include "cuda.h"

extern "C" bool cuda_dev_present(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no device" error
        return false;
    }
    return n > 0;
}

extern "C" int cuda_dev_init(Dev *d)
{
    CudaCtx *c = (CudaCtx *)xcalloc(1, sizeof *c);
    if (cudaSetDevice(0) != cudaSuccess || cudnnCreate(&c->dnn) != CUDNN_STATUS_SUCCESS ||
        cublasCreate(&c->blas) != CUBLAS_STATUS_SUCCESS) {
        log_error("backend cuda: cannot create the cuDNN/cuBLAS handles on device 0");
        free(c);
        return ERR_DEVICE;
    }
    CUBLAS_CHECK(cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH)); // no TF32: float32 is float32
    d->ctx = c;
    return 0;
}

void cuda_conv_cache_free(CudaCtx *c); // conv2d.cu

extern "C" void cuda_dev_fini(Dev *d)
{
    CudaCtx *c = cuda_ctx(d);
    if (!c) return;
    cuda_conv_cache_free(c);
    for (int i = 0; i < CUDA_SCRATCH; i++) cudaFree(c->scratch[i]);
    cublasDestroy(c->blas);
    cudnnDestroy(c->dnn);
    free(c);
    d->ctx = NULL;
}

extern "C" void *cuda_dev_alloc(size_t bytes)
{
    void *p = NULL;
    return cudaMalloc(&p, bytes) == cudaSuccess ? p : NULL;
}

extern "C" void cuda_dev_free(void *p) { CUDA_CHECK(cudaFree(p)); }
extern "C" void cuda_dev_upload(void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
extern "C" void cuda_dev_download(void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
extern "C" void cuda_dev_memset0(void *p, size_t bytes) { CUDA_CHECK(cudaMemset(p, 0, bytes)); }
extern "C" void cuda_dev_sync(void) { CUDA_CHECK(cudaDeviceSynchronize()); }

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
