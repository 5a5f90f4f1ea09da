/* engine/backend/cuda/optim.cu — the optimizer's updates and the vector helpers on the GPU: the
 * per-element formulas of op_math.h (the CPU's, compiled for the device), so the optimizer, the
 * gradient clipping and the EMA stay on the device and the host sees the parameters only for
 * checkpoints and logs. sumsq: each block sums a strided share in float64 in a fixed tree, the
 * blocks' sums come down and are added in block order: the same bits every run.
 */
#include "../op_math.h"
#include "cuda.h"

#define FOR_N(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                         i += (size_t)gridDim.x * blockDim.x)

enum { SUMSQ_BLOCKS = 256 };

static unsigned grid(size_t n) { return (unsigned)MIN(cuda_blocks(n), (size_t)65535 * 8); }

__global__ void optim_kernel(OptimUpd o, float *w, const float *g, float *s0, float *s1, float *u)
{
    FOR_N(j, o.n)
        optim_elem(&o, &w[j], g ? g[j] : 0.0f, s0 ? &s0[j] : NULL, s1 ? &s1[j] : NULL, u ? &u[j] : NULL);
}

__global__ void axpy_kernel(Vec v, float *y, const float *x) { FOR_N(j, v.n) y[j] += v.a * x[j]; }
__global__ void scale_kernel(Vec v, float *x) { FOR_N(j, v.n) x[j] *= v.a; }
__global__ void lerp_kernel(Vec v, float *e, const float *w) { FOR_N(j, v.n) e[j] += v.a * (w[j] - e[j]); }

__global__ void sumsq_kernel(size_t n, const float *x, double *partial)
{
    __shared__ double s[CUDA_THREADS];
    double t = 0;
    FOR_N(j, n) t += (double)x[j] * x[j];
    s[threadIdx.x] = t;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k /= 2) {
        if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

extern "C" void cuda_optim_update(Dev *d, OptimUpd op, float *w, const float *g, float *s0, float *s1, float *u)
{
    optim_kernel<<<grid(op.n), CUDA_THREADS>>>(op, w, g, s0, s1, u);
    LAUNCH_CHECK();
}

extern "C" void cuda_axpy(Dev *d, Vec op, float *y, const float *x)
{
    axpy_kernel<<<grid(op.n), CUDA_THREADS>>>(op, y, x);
    LAUNCH_CHECK();
}

extern "C" void cuda_scale(Dev *d, Vec op, float *x)
{
    scale_kernel<<<grid(op.n), CUDA_THREADS>>>(op, x);
    LAUNCH_CHECK();
}

extern "C" void cuda_lerp(Dev *d, Vec op, float *e, const float *w)
{
    lerp_kernel<<<grid(op.n), CUDA_THREADS>>>(op, e, w);
    LAUNCH_CHECK();
}

extern "C" void cuda_sumsq(Dev *d, Vec op, const float *x, double *acc)
{
    unsigned blocks = (unsigned)MIN((size_t)SUMSQ_BLOCKS, cuda_blocks(op.n));
    double *partial = (double *)cuda_scratch(d, SCR_SMALL, blocks * sizeof(double)), host[SUMSQ_BLOCKS];
    sumsq_kernel<<<blocks, CUDA_THREADS>>>(op.n, x, partial);
    LAUNCH_CHECK();
    CUDA_CHECK(cudaMemcpy(host, partial, blocks * sizeof(double), cudaMemcpyDeviceToHost));
    for (unsigned b = 0; b < blocks; b++) *acc += host[b];
}
