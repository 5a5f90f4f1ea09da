/* engine/backend/cuda/linear.cu — the fully connected layer on cuBLAS.
 *
 * Row-major (N,IN) x (OUT,IN)^T seen by column-major cuBLAS as Y^T = W X^T:
 *   forward    y^T (OUT,N)  = op_T(w) (OUT,IN) * x^T (IN,N)           beta 0
 *   dx         dx^T (IN,N) += w^T (IN,OUT) * dy^T (OUT,N)             beta 1
 *   dw         dw^T (IN,OUT) += x^T (IN,N) * op_T(dy^T) (N,OUT)       beta 1
 * Float32 mode: cublasSgemm under CUBLAS_DEFAULT_MATH (no TF32). bf16 mode: cublasGemmEx with
 * bf16 copies of the inputs and float32 C and compute, so accumulation into float32 stays exact.
 */
#include "cuda.h"

static void gemm(Dev *d, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                 const float *a, int lda, int a_slot, size_t a_n, const float *b, int ldb,
                 int b_slot, size_t b_n, float beta, float *c, int ldc)
{
    cublasHandle_t h = cuda_ctx(d)->blas;
    const float one = 1.0f;
    if (d->prec != PREC_BF16) {
        CUBLAS_CHECK(cublasSgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc));
        return;
    }
    __nv_bfloat16 *a16 = (__nv_bfloat16 *)cuda_scratch(d, a_slot, a_n * sizeof(__nv_bfloat16));
    __nv_bfloat16 *b16 = (__nv_bfloat16 *)cuda_scratch(d, b_slot, b_n * sizeof(__nv_bfloat16));
    cuda_to_bf16(a16, a, a_n);
    cuda_to_bf16(b16, b, b_n);
    CUBLAS_CHECK(cublasGemmEx(h, ta, tb, m, n, k, &one, a16, CUDA_R_16BF, lda, b16, CUDA_R_16BF, ldb,
                              &beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

extern "C" void cuda_linear_forward(Dev *d, Linear op, float *y, const float *x, const float *w,
                                    const float *b)
{
    size_t wn = (size_t)op.out * op.in, xn = (size_t)op.n * op.in;
    gemm(d, CUBLAS_OP_T, CUBLAS_OP_N, op.out, op.n, op.in, w, op.in, SCR_W16, wn, x, op.in,
         SCR_X16, xn, 0.0f, y, op.out);
    if (b) cuda_bias_add(y, b, (size_t)op.n, op.out);
}

extern "C" void cuda_linear_backward(Dev *d, Linear op, float *dx, float *dw, float *db,
                                     const float *dy, const float *x, const float *w, GradSet set)
{
    size_t wn = (size_t)op.out * op.in, xn = (size_t)op.n * op.in, yn = (size_t)op.n * op.out;
    if (dx)
        gemm(d, CUBLAS_OP_N, CUBLAS_OP_N, op.in, op.n, op.out, w, op.in, SCR_W16, wn, dy, op.out,
             SCR_DY16, yn, 1.0f, dx, op.in);
    if (dw)
        gemm(d, CUBLAS_OP_N, CUBLAS_OP_T, op.in, op.out, op.n, x, op.in, SCR_X16, xn, dy, op.out,
             SCR_DY16, yn, 1.0f, dw, op.in);
    if (db) cuda_bias_grad(d, db, dy, (size_t)op.n, op.out);
}
