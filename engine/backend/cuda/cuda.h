/* engine/backend/cuda/cuda.h — the GPU backend's private header (C++ inside, C outside).
 *
 * cuDNN for convolution and training batch norm, cuBLAS for linear layers, our kernels for the
 * rest (and as the fallback, logged once, when cuDNN refuses a configuration; Dev.variant = 1
 * selects them for comparison), with the per-element math of op_math.h and the random draws of
 * rng.h shared with the CPU backends (HD functions), so the CPU op test checks the formulas the
 * GPU runs. Everything runs on the default stream, so host copies order themselves after kernels.
 * The context (handles, per-shape descriptor caches, growable scratch) hangs off Dev->ctx.
 * Numerics: float32 mode pins cuDNN to FMA math and cuBLAS to its default (no TF32), as the op
 * test expects; bf16 mode (Dev.prec) converts the inputs of convolutions and GEMMs to bf16 and
 * computes with float32 accumulation, while every buffer the caller sees stays float32.
 */
#ifndef CUDA_BACKEND_H
#define CUDA_BACKEND_H

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "../backends.h"
#include "../ops.h"

#define CUDA_CHECK(stmt)                                                                    \
    do {                                                                                    \
        cudaError_t e_ = (stmt);                                                            \
        if (e_ != cudaSuccess) die_at(__FILE__, __LINE__, #stmt, "%s", cudaGetErrorString(e_)); \
    } while (0)
#define CUDNN_CHECK(stmt)                                                                   \
    do {                                                                                    \
        cudnnStatus_t s_ = (stmt);                                                          \
        if (s_ != CUDNN_STATUS_SUCCESS) die_at(__FILE__, __LINE__, #stmt, "%s", cudnnGetErrorString(s_)); \
    } while (0)
#define CUBLAS_CHECK(stmt)                                                                  \
    do {                                                                                    \
        cublasStatus_t s_ = (stmt);                                                         \
        if (s_ != CUBLAS_STATUS_SUCCESS) die_at(__FILE__, __LINE__, #stmt, "cuBLAS status %d", (int)s_); \
    } while (0)
// after every launch (llm.c): a bad configuration surfaces at its launcher, not later
#define LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

enum { CUDA_THREADS = 256, CUDA_SCRATCH = 7 };
// scratch slots: what each op may use at once without aliasing (SCR_RED: cuda_colsum's sums)
enum { SCR_OUT = 0, SCR_X16 = 1, SCR_W16 = 2, SCR_DY16 = 3, SCR_WS = 4, SCR_SMALL = 5, SCR_RED = 6 };
// library calls that fell back to our kernels: one bit each in CudaCtx.logged (logged once)
enum { FALLBACK_CONV_FWD, FALLBACK_CONV_DATA, FALLBACK_CONV_FILTER, FALLBACK_BN_TRAIN,
       FALLBACK_BN_BWD, FALLBACK_ACT };

struct ConvEntry;
struct BnEntry;

typedef struct {
    cudnnHandle_t  dnn;
    cublasHandle_t blas;
    void          *scratch[CUDA_SCRATCH];
    size_t         scratch_bytes[CUDA_SCRATCH];
    struct ConvEntry **conv;  // per (description, precision)
    int            n_conv, cap_conv;
    unsigned       logged;    // fallbacks already reported (one bit each)
    void          *nccl;      // ncclComm_t of a data-parallel run (nccl.cu); NULL: none
} CudaCtx;

static inline CudaCtx *cuda_ctx(Dev *d) { return (CudaCtx *)d->ctx; }
static inline unsigned cuda_blocks(size_t n) { return (unsigned)((n + CUDA_THREADS - 1) / CUDA_THREADS); }

// device scratch of at least `bytes`, slot-owned by the context (grown, never shrunk)
void *cuda_scratch(Dev *d, int slot, size_t bytes);
// logs once per context that `what` fell back from the library to our kernel
void  cuda_log_fallback(Dev *d, unsigned bit, const char *what);

// bf16 helpers (eltwise.cu): dst = bf16(src); dst = beta*dst + float(src)
void cuda_to_bf16(__nv_bfloat16 *dst, const float *src, size_t n);
void cuda_from_bf16(float *dst, const __nv_bfloat16 *src, size_t n, float beta);
// dst += src over n floats
void cuda_accumulate(float *dst, const float *src, size_t n);
// y (rows, cols) += b (cols) broadcast; db (cols) += column sums of dy (rows, cols) (reduce.cu)
void cuda_bias_add(float *y, const float *b, size_t rows, int cols);
void cuda_bias_grad(Dev *d, float *db, const float *dy, size_t rows, int cols);

// per-column sums over a row-major (rows, cols) matrix, two at once, in double, deterministic
// (fixed split and order, no atomics): s (2*cols, device, scratch slot SCR_RED, valid until the
// next call) holds s[c] and s[cols + c]:
//   COLSUM_A:        sum a,  0                                    (bias gradient)
//   COLSUM_A_SQ:     sum a,  sum a^2                              (batch statistics)
//   COLSUM_DY_XHAT:  sum a,  sum a * (b - mean[c]) * rstd[c]      (batch norm backward)
typedef enum { COLSUM_A, COLSUM_A_SQ, COLSUM_DY_XHAT } ColSum;
const double *cuda_colsum(Dev *d, ColSum mode, size_t rows, int cols, const float *a,
                          const float *b, const float *mean, const float *rstd);

// direct convolution kernels (conv_direct.cu): the fallback when cuDNN refuses a configuration,
// and variant 1. Forward overwrites y (no bias, no activation); backward accumulates.
void cuda_conv_direct_forward(Conv2d op, float *y, const float *x, const float *w);
void cuda_conv_direct_data(Conv2d op, float *dx, const float *dy, const float *w);
void cuda_conv_direct_filter(Conv2d op, float *dw, const float *dy, const float *x);

// the device hooks (dev.cu), exported through table.cu's cuda_backend (backends.h)
bool  cuda_dev_present(void);
int   cuda_dev_init(Dev *d);
void  cuda_dev_fini(Dev *d);
void *cuda_dev_alloc(size_t bytes);
void  cuda_dev_free(void *p);
void  cuda_dev_upload(void *dst, const void *src, size_t bytes);
void  cuda_dev_download(void *dst, const void *src, size_t bytes);
void  cuda_dev_memset0(void *p, size_t bytes);
void  cuda_dev_sync(void);
// data-parallel collectives on the GPU (nccl.cu): NCCL when built with it (HAVE_NCCL), else NULL
extern const DevColl *const cuda_coll;
void  cuda_coll_fini(CudaCtx *c);

extern "C" {
OPS_DECLARE(cuda) // every op of ops.h as cuda_<op>
}

#endif
