/* engine/backend/cuda/loss.cu — softmax cross-entropy, softmax at a temperature and KL
 * distillation. Forward: one thread per row running op_math.h's row functions (max-shifted
 * log-sum-exp in double, 0 log 0 = 0), the code the CPU op test checks, so every backend computes
 * the same rows; classifier rows are short (K <= a few thousand) and the batch gives the
 * parallelism. Backward: one thread per logit, coalesced. Labels outside [0,K) trap (device
 * assert; the next CUDA check names it), since a kernel cannot print the engine's message.
 */
#include <assert.h>

#include "../op_math.h"
#include "cuda.h"

__global__ void xent_forward_kernel(Xent op, float *loss, float *prob, const float *logits,
                                    const int *labels, const float *targets)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= op.n) return;
    if (labels) assert(labels[i] >= 0 && labels[i] < op.k);
    loss[i] = (float)xent_row(op, logits, labels, targets, prob, i);
}

// backward: one thread per logit (coalesced), the formula of ref/loss.c
__global__ void xent_backward_kernel(Xent op, float *dlogits, const float *dloss, const float *prob,
                                     const int *labels, const float *targets)
{
    size_t a = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (a >= (size_t)op.n * op.k) return;
    int i = (int)(a / op.k), j = (int)(a % op.k);
    dlogits[a] += (float)(dloss[i] * (prob[a] - xent_target(op, labels, targets, i, j)));
}

__global__ void softmax_kernel(Softmax op, float *y, const float *x)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < op.n) loss_row_lse(x + (size_t)i * op.k, op.k, op.t, y + (size_t)i * op.k);
}

__global__ void kldiv_forward_kernel(KlDiv op, float *loss, float *p, const float *s, const float *q)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= op.n) return;
    loss[i] = (float)kldiv_row(op, s, q, p, i);
}

__global__ void kldiv_backward_kernel(KlDiv op, float *ds, const float *dloss, const float *p,
                                      const float *q)
{
    size_t a = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (a >= (size_t)op.n * op.k) return;
    size_t i = a / op.k;
    ds[a] += (float)((double)dloss[i] * op.t * ((double)p[a] - q[a]));
}

#define ROWS(n) cuda_blocks((size_t)(n)), CUDA_THREADS

extern "C" void cuda_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                                  const int *labels, const float *targets)
{
    xent_forward_kernel<<<ROWS(op.n)>>>(op, loss, prob, logits, labels, targets);
    LAUNCH_CHECK();
}

extern "C" void cuda_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss,
                                   const float *prob, const int *labels, const float *targets, GradSet set)
{
    xent_backward_kernel<<<ROWS((size_t)op.n * op.k)>>>(op, dlogits, dloss, prob, labels, targets);
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
                                    const float *q, GradSet set)
{
    kldiv_backward_kernel<<<ROWS((size_t)op.n * op.k)>>>(op, ds, dloss, p, q);
    LAUNCH_CHECK();
}
