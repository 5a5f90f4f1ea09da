/* engine/backend/cuda/pool.cu — max, average and global average pooling: our kernels.
 *
 * Versions: cuDNN pooling was the first choice, but it cannot express PyTorch's ceil-mode divisor
 * for average pooling and its max-pool backward needs y, which the contract does not keep; the
 * own kernels below run op_math.h's pool_window and pool_argmax, the rules the CPU backends use,
 * and serve every configuration. Forward: one thread per output. Backward gathers: one thread
 * per input element visits the outputs whose windows hold it (for max, those whose argmax it
 * is), so overlapping windows need no atomics and the sums do not depend on scheduling.
 */
#include "../op_math.h"
#include "cuda.h"

// output element i of (N,OH,OW,C) -> its n, oh, ow, c
__device__ static void unravel(size_t i, Shape4 ys, int *n, int *oh, int *ow, int *c)
{
    *c = (int)(i % ys.c);
    i /= ys.c;
    *ow = (int)(i % ys.w);
    i /= ys.w;
    *oh = (int)(i % ys.h);
    *n = (int)(i / ys.h);
}

__device__ static size_t xat(Shape4 s, int n, int h, int w, int c)
{
    return (((size_t)n * s.h + h) * s.w + w) * s.c + c;
}

__global__ void maxpool_forward_kernel(Pool2d o, Shape4 ys, float *y, const float *x, size_t total)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int n, oh, ow, c;
    unravel(i, ys, &n, &oh, &ow, &c);
    y[i] = x[pool_argmax(o, x, n, oh, ow, c)];
}

// the output rows [*lo, *hi] (inclusive) whose windows cover input row i: oh*S - P <= i < oh*S - P + K
__device__ static void covering(int i, int k, int s, int p, int out, int *lo, int *hi)
{
    int t = i + p - k + 1;
    *lo = t <= 0 ? 0 : (t + s - 1) / s;
    *hi = MIN((i + p) / s, out - 1);
}

// one thread per input element (n, h, w, c): dx += dy of the outputs whose argmax it is
__global__ void maxpool_backward_kernel(Pool2d o, Shape4 ys, float *dx, const float *dy,
                                        const float *x, size_t total)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int n, h, w, c;
    unravel(i, o.x, &n, &h, &w, &c);
    int oh0, oh1, ow0, ow1;
    covering(h, o.kh, o.sh, o.ph, ys.h, &oh0, &oh1);
    covering(w, o.kw, o.sw, o.pw, ys.w, &ow0, &ow1);
    float g = 0;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++)
            if (pool_argmax(o, x, n, oh, ow, c) == i) g += dy[xat(ys, n, oh, ow, c)];
    dx[i] += g;
}

__global__ void avgpool_forward_kernel(Pool2d o, Shape4 ys, float *y, const float *x, size_t total)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int n, oh, ow, c;
    unravel(i, ys, &n, &oh, &ow, &c);
    PoolWindow win = pool_window(o, oh, ow);
    float s = 0;
    for (int h = win.h0; h < win.h1; h++)
        for (int w = win.w0; w < win.w1; w++) s += x[xat(o.x, n, h, w, c)];
    y[i] = s / win.div;
}

// one thread per input element: dx += sum of dy / divisor over the windows that hold it
__global__ void avgpool_backward_kernel(Pool2d o, Shape4 ys, float *dx, const float *dy, size_t total)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int n, h, w, c;
    unravel(i, o.x, &n, &h, &w, &c);
    int oh0, oh1, ow0, ow1;
    covering(h, o.kh, o.sh, o.ph, ys.h, &oh0, &oh1);
    covering(w, o.kw, o.sw, o.pw, ys.w, &ow0, &ow1);
    float g = 0;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++)
            g += dy[xat(ys, n, oh, ow, c)] / pool_window(o, oh, ow).div;
    dx[i] += g;
}

// forward: one thread per output element; backward: one per input element
#define POOL_LAUNCH(kernel, total_of, ...)                                            \
    do {                                                                              \
        Shape4 ys = pool2d_out(op);                                                   \
        size_t total = shape_numel(total_of);                                         \
        kernel<<<cuda_blocks(total), CUDA_THREADS>>>(op, ys, __VA_ARGS__, total);     \
        LAUNCH_CHECK();                                                               \
    } while (0)

extern "C" void cuda_maxpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    POOL_LAUNCH(maxpool_forward_kernel, ys, y, x);
}

extern "C" void cuda_maxpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, const float *x, GradSet set)
{
    POOL_LAUNCH(maxpool_backward_kernel, op.x, dx, dy, x);
}

extern "C" void cuda_avgpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    POOL_LAUNCH(avgpool_forward_kernel, ys, y, x);
}

extern "C" void cuda_avgpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, GradSet set)
{
    POOL_LAUNCH(avgpool_backward_kernel, op.x, dx, dy);
}

// ---------------------------------------------------------------------------------------------
// global average pooling: one thread per (n, c), coalesced across c

__global__ void gap_forward_kernel(float *y, const float *x, int nc, int c, size_t hw)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= nc) return;
    const float *xs = x + (size_t)(t / c) * hw * c + t % c;
    float s = 0;
    for (size_t i = 0; i < hw; i++) s += xs[i * c];
    y[t] = s / (float)hw;
}

__global__ void gap_backward_kernel(float *dx, const float *dy, size_t total, int c, size_t hw)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    dx[i] += dy[(i / (hw * c)) * c + i % c] / (float)hw;
}

extern "C" void cuda_gap_forward(Dev *d, GlobalAvgPool op, float *y, const float *x)
{
    int nc = op.x.n * op.x.c;
    gap_forward_kernel<<<cuda_blocks((size_t)nc), CUDA_THREADS>>>(y, x, nc, op.x.c, (size_t)op.x.h * op.x.w);
    LAUNCH_CHECK();
}

extern "C" void cuda_gap_backward(Dev *d, GlobalAvgPool op, float *dx, const float *dy, GradSet set)
{
    size_t total = shape_numel(op.x);
    gap_backward_kernel<<<cuda_blocks(total), CUDA_THREADS>>>(dx, dy, total, op.x.c, (size_t)op.x.h * op.x.w);
    LAUNCH_CHECK();
}
