/* engine/backend/cuda/conv_direct.cu — direct convolution kernels: the definition of ref/conv2d.c,
 * one thread per output value of each pass, float32 throughout (also in bf16 mode).
 *
 * Why they exist: cuDNN is the default (conv2d.cu), but when it refuses a configuration (no
 * algorithm for a shape, math mode or layout) the op must still run, so conv2d.cu falls back to
 * these and logs it once; Dev.variant = 1 selects them for comparison in the op test and bench.
 * They gather instead of scattering, so no atomics and each output is written once:
 *   forward      y[n,oh,ow,oc]  = sum_{kh,kw,ci} x[n, oh*S-P+kh*D, ow*S-P+kw*D, g*C/G+ci] w[oc,kh,kw,ci]
 *   data        dx[n,ih,iw,c] += sum over taps (kh,kw) that reach (ih,iw) and oc of group g: dy * w
 *   filter  dw[oc,kh,kw,ci]   += sum_{n,oh,ow} dy[n,oh,ow,oc] * x[n,ih,iw,g*C/G+ci]
 * The filter pass walks N*OH*OW serially per weight: slow for large maps, correct for all.
 */
#include "cuda.h"

#define FOR_N(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                         i += (size_t)gridDim.x * blockDim.x)

static unsigned grid(size_t n) { return (unsigned)MIN(cuda_blocks(n), (size_t)65535 * 8); }

__device__ static size_t at(Shape4 s, int n, int h, int w, int c)
{
    return (((size_t)n * s.h + h) * s.w + w) * s.c + c;
}

__global__ void conv_direct_forward_kernel(Conv2d o, Shape4 ys, float *y, const float *x,
                                           const float *w)
{
    int cg = o.x.c / o.g, og = o.oc / o.g;
    FOR_N(i, (size_t)ys.n * ys.h * ys.w * ys.c) {
        int oc = (int)(i % ys.c), ow = (int)(i / ys.c % ys.w), oh = (int)(i / ys.c / ys.w % ys.h);
        int n = (int)(i / ((size_t)ys.c * ys.w * ys.h)), g = oc / og;
        float acc = 0;
        for (int kh = 0; kh < o.kh; kh++) {
            int ih = oh * o.sh - o.ph + kh * o.dh;
            if (ih < 0 || ih >= o.x.h) continue;
            for (int kw = 0; kw < o.kw; kw++) {
                int iw = ow * o.sw - o.pw + kw * o.dw;
                if (iw < 0 || iw >= o.x.w) continue;
                const float *xs = x + at(o.x, n, ih, iw, g * cg);
                const float *ws = w + (((size_t)oc * o.kh + kh) * o.kw + kw) * cg;
                for (int ci = 0; ci < cg; ci++) acc += xs[ci] * ws[ci];
            }
        }
        y[i] = acc;
    }
}

__global__ void conv_direct_data_kernel(Conv2d o, Shape4 ys, float *dx, const float *dy,
                                        const float *w)
{
    int cg = o.x.c / o.g, og = o.oc / o.g;
    FOR_N(i, (size_t)o.x.n * o.x.h * o.x.w * o.x.c) {
        int c = (int)(i % o.x.c), iw = (int)(i / o.x.c % o.x.w), ih = (int)(i / o.x.c / o.x.w % o.x.h);
        int n = (int)(i / ((size_t)o.x.c * o.x.w * o.x.h)), g = c / cg, ci = c % cg;
        float acc = 0;
        for (int kh = 0; kh < o.kh; kh++) {
            int th = ih + o.ph - kh * o.dh; // = oh * SH when tap kh of row oh reads ih
            if (th < 0 || th % o.sh) continue;
            int oh = th / o.sh;
            if (oh >= ys.h) continue;
            for (int kw = 0; kw < o.kw; kw++) {
                int tw = iw + o.pw - kw * o.dw;
                if (tw < 0 || tw % o.sw) continue;
                int ow = tw / o.sw;
                if (ow >= ys.w) continue;
                const float *dys = dy + at(ys, n, oh, ow, 0);
                for (int oc = g * og; oc < (g + 1) * og; oc++)
                    acc += dys[oc] * w[(((size_t)oc * o.kh + kh) * o.kw + kw) * cg + ci];
            }
        }
        dx[i] += acc;
    }
}

__global__ void conv_direct_filter_kernel(Conv2d o, Shape4 ys, float *dw, const float *dy,
                                          const float *x)
{
    int cg = o.x.c / o.g, og = o.oc / o.g;
    FOR_N(i, (size_t)o.oc * o.kh * o.kw * cg) {
        int ci = (int)(i % cg), kw = (int)(i / cg % o.kw), kh = (int)(i / cg / o.kw % o.kh);
        int oc = (int)(i / ((size_t)cg * o.kw * o.kh)), c = (oc / og) * cg + ci;
        double acc = 0; // many terms: as ref, sum in double
        for (int n = 0; n < ys.n; n++)
            for (int oh = 0; oh < ys.h; oh++) {
                int ih = oh * o.sh - o.ph + kh * o.dh;
                if (ih < 0 || ih >= o.x.h) continue;
                for (int ow = 0; ow < ys.w; ow++) {
                    int iw = ow * o.sw - o.pw + kw * o.dw;
                    if (iw < 0 || iw >= o.x.w) continue;
                    acc += (double)dy[at(ys, n, oh, ow, oc)] * x[at(o.x, n, ih, iw, c)];
                }
            }
        dw[i] += (float)acc;
    }
}

void cuda_conv_direct_forward(Conv2d op, float *y, const float *x, const float *w)
{
    Shape4 ys = conv2d_out(op);
    conv_direct_forward_kernel<<<grid(shape_numel(ys)), CUDA_THREADS>>>(op, ys, y, x, w);
    LAUNCH_CHECK();
}

void cuda_conv_direct_data(Conv2d op, float *dx, const float *dy, const float *w)
{
    Shape4 ys = conv2d_out(op);
    conv_direct_data_kernel<<<grid(shape_numel(op.x)), CUDA_THREADS>>>(op, ys, dx, dy, w);
    LAUNCH_CHECK();
}

void cuda_conv_direct_filter(Conv2d op, float *dw, const float *dy, const float *x)
{
    Shape4 ys = conv2d_out(op);
    size_t wn = (size_t)op.oc * op.kh * op.kw * (op.x.c / op.g);
    conv_direct_filter_kernel<<<grid(wn), CUDA_THREADS>>>(op, ys, dw, dy, x);
    LAUNCH_CHECK();
}
