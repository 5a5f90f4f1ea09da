/* engine/backend/cuda/resize.cu — resize with PyTorch's rules, bilinear (align_corners=False)
 * and nearest, through op_math.h's resize_taps_mode as in ref (nearest: the whole weight on one
 * tap): one thread per output element; backward scatters with atomicAdd. Nearest's backward thus
 * adds three zeros besides its one value: it runs on DFC attention's small gates only.
 */
#include "../op_math.h"
#include "cuda.h"

__device__ static size_t at(Shape4 s, int n, int h, int w, int c)
{
    return (((size_t)n * s.h + h) * s.w + w) * s.c + c;
}

__global__ void resize_kernel(Resize op, float *y, const float *x, float *dx, const float *dy, size_t total)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    Shape4 xs = op.x;
    int c = (int)(i % xs.c), ow = (int)(i / xs.c % op.ow), oh = (int)(i / xs.c / op.ow % op.oh);
    int n = (int)(i / ((size_t)xs.c * op.ow * op.oh));
    ResizeTaps th = resize_taps_mode(op.mode, oh, xs.h, op.oh);
    ResizeTaps tw = resize_taps_mode(op.mode, ow, xs.w, op.ow);
    if (y) {
        y[i] = th.l0 * (tw.l0 * x[at(xs, n, th.i0, tw.i0, c)] + tw.l1 * x[at(xs, n, th.i0, tw.i1, c)]) +
               th.l1 * (tw.l0 * x[at(xs, n, th.i1, tw.i0, c)] + tw.l1 * x[at(xs, n, th.i1, tw.i1, c)]);
    } else {
        float g = dy[i];
        atomicAdd(&dx[at(xs, n, th.i0, tw.i0, c)], th.l0 * tw.l0 * g);
        atomicAdd(&dx[at(xs, n, th.i0, tw.i1, c)], th.l0 * tw.l1 * g);
        atomicAdd(&dx[at(xs, n, th.i1, tw.i0, c)], th.l1 * tw.l0 * g);
        atomicAdd(&dx[at(xs, n, th.i1, tw.i1, c)], th.l1 * tw.l1 * g);
    }
}

extern "C" void cuda_resize_forward(Dev *d, Resize op, float *y, const float *x)
{
    size_t total = (size_t)op.x.n * op.oh * op.ow * op.x.c;
    resize_kernel<<<cuda_blocks(total), CUDA_THREADS>>>(op, y, x, NULL, NULL, total);
    LAUNCH_CHECK();
}

extern "C" void cuda_resize_backward(Dev *d, Resize op, float *dx, const float *dy, GradSet set)
{
    size_t total = (size_t)op.x.n * op.oh * op.ow * op.x.c;
    resize_kernel<<<cuda_blocks(total), CUDA_THREADS>>>(op, NULL, NULL, dx, dy, total);
    LAUNCH_CHECK();
}
