/* engine/backend/cuda/batchnorm.cu — batch norm on cuDNN (spatial mode), frozen statistics in
 * our kernels.
 *
 * cuDNN's conventions are ours: exponentialAverageFactor = momentum, the running variance takes
 * the unbiased batch variance, and it saves (mean, 1/sqrt(var + eps)) = our (mean, rstd).
 * Backward accumulates through alpha = beta = 1 for dx and for dgamma/dbeta; a NULL gradient
 * lands in scratch since cuDNN writes all three. Eval forward also writes mean and rstd from the
 * running statistics, and eval backward (statistics held constant) is a kernel of its own.
 */
#include "cuda.h"

typedef struct { cudnnTensorDescriptor_t x, c; } BnDesc;

static BnDesc bn_desc(BatchNorm op)
{
    BnDesc b;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&b.x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&b.c));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(b.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, op.x.n, op.x.c,
                                           op.x.h, op.x.w));
    CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(b.c, b.x, CUDNN_BATCHNORM_SPATIAL));
    return b;
}

static void bn_free(BnDesc b)
{
    cudnnDestroyTensorDescriptor(b.x);
    cudnnDestroyTensorDescriptor(b.c);
}

__global__ void running_stats_kernel(float *mean, float *rstd, const float *run_mean,
                                     const float *run_var, int c, float eps)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k < c) {
        mean[k] = run_mean[k];
        rstd[k] = rsqrtf(run_var[k] + eps);
    }
}

extern "C" void cuda_batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd,
                                       float *run_mean, float *run_var, const float *x,
                                       const float *gamma, const float *beta)
{
    BnDesc b = bn_desc(op);
    const float one = 1.0f, zero = 0.0f;
    cudnnHandle_t h = cuda_ctx(d)->dnn;
    if (op.train) {
        CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
            b.x, x, b.x, y, b.c, gamma, beta, op.momentum, run_mean, run_var, op.eps, mean, rstd));
    } else {
        CUDNN_CHECK(cudnnBatchNormalizationForwardInference(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
            b.x, x, b.x, y, b.c, gamma, beta, run_mean, run_var, op.eps));
        running_stats_kernel<<<cuda_blocks((size_t)op.x.c), CUDA_THREADS>>>(mean, rstd, run_mean,
                                                                            run_var, op.x.c, op.eps);
        LAUNCH_CHECK();
    }
    bn_free(b);
}

__global__ void frozen_dx_kernel(float *dx, const float *dy, const float *gamma, const float *rstd,
                                 size_t n, int c)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] += dy[i] * gamma[i % c] * rstd[i % c];
}

// one thread per channel: sums over the M = N*H*W rows
__global__ void frozen_param_kernel(float *dgamma, float *dbeta, const float *dy, const float *x,
                                    const float *mean, const float *rstd, size_t m, int c)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= c) return;
    double sg = 0, sb = 0;
    for (size_t i = 0; i < m; i++) {
        float g = dy[i * c + k];
        sg += (double)g * (x[i * c + k] - mean[k]) * rstd[k];
        sb += g;
    }
    if (dgamma) dgamma[k] += (float)sg;
    if (dbeta) dbeta[k] += (float)sb;
}

extern "C" void cuda_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma,
                                        float *dbeta, const float *dy, const float *x,
                                        const float *gamma, const float *mean, const float *rstd)
{
    size_t n = shape_numel(op.x);
    int c = op.x.c;
    if (!op.train) {
        if (dx) {
            frozen_dx_kernel<<<(unsigned)MIN(cuda_blocks(n), (size_t)65535), CUDA_THREADS>>>(
                dx, dy, gamma, rstd, n, c);
            LAUNCH_CHECK();
        }
        if (dgamma || dbeta) {
            frozen_param_kernel<<<cuda_blocks((size_t)c), CUDA_THREADS>>>(dgamma, dbeta, dy, x, mean,
                                                                         rstd, n / c, c);
            LAUNCH_CHECK();
        }
        return;
    }
    // cuDNN writes dx, dgamma and dbeta: a gradient the caller does not want goes to scratch
    float *sx = dx ? dx : (float *)cuda_scratch(d, SCR_OUT, n * sizeof(float));
    float *sp = (float *)cuda_scratch(d, SCR_SMALL, 2 * (size_t)c * sizeof(float));
    float *sg = dgamma ? dgamma : sp, *sb = dbeta ? dbeta : sp + c;
    BnDesc b = bn_desc(op);
    const float one = 1.0f;
    CUDNN_CHECK(cudnnBatchNormalizationBackward(cuda_ctx(d)->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &one,
        &one, &one, b.x, x, b.x, dy, b.x, sx, b.c, gamma, sg, sb, op.eps, mean, rstd));
    bn_free(b);
}
