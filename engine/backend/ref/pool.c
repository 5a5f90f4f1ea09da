/* engine/backend/ref/pool.c — the oracle pooling ops, PyTorch's window rules written out.
 *
 * Window of output (oh, ow): rows [oh*S - P, oh*S - P + K) clipped to the input (op_math.h's
 * pool_window, which every backend uses). Max takes the
 * first largest value (PyTorch's tie rule) and backward routes dy there. Average divides by the
 * window clipped to the padded input (count_include_pad) or by its part inside the input.
 * Global average pooling is the mean over H and W.
 */
#include "../op_math.h"
#include "ref.h"

void ref_maxpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    Shape4 ys = pool2d_out(op);
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++)
                for (int c = 0; c < ys.c; c++)
                    y[ref_at(ys, n, oh, ow, c)] = x[pool_argmax(op, x, n, oh, ow, c)];
}

void ref_maxpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, const float *x, GradSet set)
{
    Shape4 ys = pool2d_out(op);
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++)
                for (int c = 0; c < ys.c; c++)
                    dx[pool_argmax(op, x, n, oh, ow, c)] += dy[ref_at(ys, n, oh, ow, c)];
}

void ref_avgpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    Shape4 ys = pool2d_out(op);
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++) {
                PoolWindow win = pool_window(op, oh, ow);
                for (int c = 0; c < ys.c; c++) {
                    double s = 0;
                    for (int h = win.h0; h < win.h1; h++)
                        for (int w = win.w0; w < win.w1; w++) s += x[ref_at(op.x, n, h, w, c)];
                    y[ref_at(ys, n, oh, ow, c)] = (float)(s / win.div);
                }
            }
}

void ref_avgpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, GradSet set)
{
    Shape4 ys = pool2d_out(op);
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++) {
                PoolWindow win = pool_window(op, oh, ow);
                for (int c = 0; c < ys.c; c++) {
                    float g = dy[ref_at(ys, n, oh, ow, c)] / win.div;
                    for (int h = win.h0; h < win.h1; h++)
                        for (int w = win.w0; w < win.w1; w++) dx[ref_at(op.x, n, h, w, c)] += g;
                }
            }
}

void ref_gap_forward(Dev *d, GlobalAvgPool op, float *y, const float *x)
{
    for (int n = 0; n < op.x.n; n++)
        for (int c = 0; c < op.x.c; c++) {
            double s = 0;
            for (int h = 0; h < op.x.h; h++)
                for (int w = 0; w < op.x.w; w++) s += x[ref_at(op.x, n, h, w, c)];
            y[(size_t)n * op.x.c + c] = (float)(s / ((double)op.x.h * op.x.w));
        }
}

void ref_gap_backward(Dev *d, GlobalAvgPool op, float *dx, const float *dy, GradSet set)
{
    float inv = 1.0f / ((float)op.x.h * op.x.w);
    for (int n = 0; n < op.x.n; n++)
        for (int h = 0; h < op.x.h; h++)
            for (int w = 0; w < op.x.w; w++)
                for (int c = 0; c < op.x.c; c++)
                    dx[ref_at(op.x, n, h, w, c)] += dy[(size_t)n * op.x.c + c] * inv;
}
