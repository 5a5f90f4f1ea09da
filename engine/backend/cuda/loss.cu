/* engine/backend/cuda/loss.cu — softmax cross-entropy, softmax at a temperature and KL
 * distillation: one thread per row (classifier rows are short; a batch gives the parallelism),
 * shifted by the row maximum, sums in double as in ref. Labels outside [0,K) trap (assert),
 * since the device cannot print the engine's message.
 */
#include <assert.h>

#include "cuda.h"

__device__ static double row_lse(const float *z, int k, float t, float *p)
{
    double mx = z[0] / t, s = 0;
    for (int j = 1; j < k; j++) mx = fmax(mx, (double)(z[j] / t));
    for (int j = 0; j < k; j++) s += exp(z[j] / t - mx);
    double lse = mx + log(s);
    if (p)
        for (int j = 0; j < k; j++) p[j] = (float)exp(z[j] / t - lse);
    return lse;
}

__device__ static double xent_target(Xent op, const int *labels, const float *targets, int i, int j)
{
    if (targets) return targets[(size_t)i * op.k + j];
    return (1.0 - op.smoothing) * (labels[i] == j) + (double)op.smoothing / op.k;
}

__global__ void xent_forward_kernel(Xent op, float *loss, float *prob, const float *logits,
                                    const int *labels, const float *targets)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= op.n) return;
    if (labels) assert(labels[i] >= 0 && labels[i] < op.k);
    const float *z = logits + (size_t)i * op.k;
    double lse = row_lse(z, op.k, 1.0f, prob + (size_t)i * op.k), l = 0;
    for (int j = 0; j < op.k; j++) l -= xent_target(op, labels, targets, i, j) * (z[j] - lse);
    loss[i] = (float)l;
}

__global__ void xent_backward_kernel(Xent op, float *dlogits, const float *dloss, const float *prob,
                                     const int *labels, const float *targets)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= op.n) return;
    for (int j = 0; j < op.k; j++) {
        size_t a = (size_t)i * op.k + j;
        dlogits[a] += (float)(dloss[i] * (prob[a] - xent_target(op, labels, targets, i, j)));
    }
}

__global__ void softmax_kernel(Softmax op, float *y, const float *x)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < op.n) row_lse(x + (size_t)i * op.k, op.k, op.t, y + (size_t)i * op.k);
}

__global__ void kldiv_forward_kernel(KlDiv op, float *loss, float *p, const float *s, const float *q)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= op.n) return;
    const float *z = s + (size_t)i * op.k, *qi = q + (size_t)i * op.k;
    double lse = row_lse(z, op.k, op.t, p + (size_t)i * op.k), l = 0;
    for (int j = 0; j < op.k; j++)
        if (qi[j] > 0) l += qi[j] * (log((double)qi[j]) - (z[j] / op.t - lse)); // 0 log 0 = 0
    loss[i] = (float)(l * op.t * op.t);
}

__global__ void kldiv_backward_kernel(KlDiv op, float *ds, const float *dloss, const float *p,
                                      const float *q)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= op.n) return;
    for (int j = 0; j < op.k; j++) {
        size_t a = (size_t)i * op.k + j;
        ds[a] += (float)((double)dloss[i] * op.t * ((double)p[a] - q[a]));
    }
}

#define ROWS(n) cuda_blocks((size_t)(n)), CUDA_THREADS

extern "C" void cuda_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                                  const int *labels, const float *targets)
{
    xent_forward_kernel<<<ROWS(op.n)>>>(op, loss, prob, logits, labels, targets);
    LAUNCH_CHECK();
}

extern "C" void cuda_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss,
                                   const float *prob, const int *labels, const float *targets)
{
    xent_backward_kernel<<<ROWS(op.n)>>>(op, dlogits, dloss, prob, labels, targets);
    LAUNCH_CHECK();
}

extern "C" void cuda_softmax_forward(Dev *d, Softmax op, float *y, const float *x)
{
    softmax_kernel<<<ROWS(op.n)>>>(op, y, x);
    LAUNCH_CHECK();
}

extern "C" void cuda_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s,
                                   const float *q)
{
    kldiv_forward_kernel<<<ROWS(op.n)>>>(op, loss, p, s, q);
    LAUNCH_CHECK();
}

extern "C" void cuda_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                                    const float *q)
{
    kldiv_backward_kernel<<<ROWS(op.n)>>>(op, ds, dloss, p, q);
    LAUNCH_CHECK();
}
