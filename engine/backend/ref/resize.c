/* engine/backend/ref/resize.c — the oracle resize, PyTorch's F.interpolate rules.
 *
 * Bilinear (align_corners=False): for output row oh, src = (oh + 0.5) * H/OH - 0.5, clamped
 * below at 0 (float math, as PyTorch); h0 = floor(src), h1 = h0 + 1 unless h0 is the last row,
 * weights (1 - l, l) with l = src - h0. Columns alike (op_math.h's resize_taps, shared by every
 * backend); the output mixes the four neighbours. Nearest: output row oh copies row
 * nearest_src(oh, H, OH) = min(floor(oh * H/OH), H - 1), columns alike: the same loops with the
 * whole weight on one tap (resize_taps_mode). Backward scatters dy with the same taps.
 */
#include "../op_math.h"
#include "ref.h"

void ref_resize_forward(Dev *d, Resize op, float *y, const float *x)
{
    Shape4 ys = {op.x.n, op.oh, op.ow, op.x.c};
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++) {
            ResizeTaps th = resize_taps_mode(op.mode, oh, op.x.h, op.oh);
            for (int ow = 0; ow < ys.w; ow++) {
                ResizeTaps tw = resize_taps_mode(op.mode, ow, op.x.w, op.ow);
                for (int c = 0; c < ys.c; c++)
                    y[ref_at(ys, n, oh, ow, c)] =
                        th.l0 * (tw.l0 * x[ref_at(op.x, n, th.i0, tw.i0, c)] +
                                 tw.l1 * x[ref_at(op.x, n, th.i0, tw.i1, c)]) +
                        th.l1 * (tw.l0 * x[ref_at(op.x, n, th.i1, tw.i0, c)] +
                                 tw.l1 * x[ref_at(op.x, n, th.i1, tw.i1, c)]);
            }
        }
}

void ref_resize_backward(Dev *d, Resize op, float *dx, const float *dy, GradSet set)
{
    Shape4 ys = {op.x.n, op.oh, op.ow, op.x.c};
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++) {
            ResizeTaps th = resize_taps_mode(op.mode, oh, op.x.h, op.oh);
            for (int ow = 0; ow < ys.w; ow++) {
                ResizeTaps tw = resize_taps_mode(op.mode, ow, op.x.w, op.ow);
                for (int c = 0; c < ys.c; c++) {
                    float g = dy[ref_at(ys, n, oh, ow, c)];
                    dx[ref_at(op.x, n, th.i0, tw.i0, c)] += th.l0 * tw.l0 * g;
                    dx[ref_at(op.x, n, th.i0, tw.i1, c)] += th.l0 * tw.l1 * g;
                    dx[ref_at(op.x, n, th.i1, tw.i0, c)] += th.l1 * tw.l0 * g;
                    dx[ref_at(op.x, n, th.i1, tw.i1, c)] += th.l1 * tw.l1 * g;
                }
            }
        }
}
