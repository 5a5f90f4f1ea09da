/* engine/backend/ref/conv2d.c — the oracle convolution: seven nested loops over the definition.
 *
 * y[n,oh,ow,oc] = b[oc] + sum_{kh,kw,ci} x[n, oh*S - P + kh*D, ow*S - P + kw*D, g*C/G + ci]
 *                                       * w[oc, kh, kw, ci]       with g = oc / (OC/G)
 * then the fused activation, if any. Backward walks the same index map and scatters:
 * dx += dy * w, dw += dy * x, db += dy.
 */
#include "../op_math.h"
#include "ref.h"

// the input position of output (oh, ow) under kernel tap (kh, kw), or -1 when it lies in padding
static int tap(int o, int k, int s, int p, int dil, int in)
{
    int i = o * s - p + k * dil;
    return i >= 0 && i < in ? i : -1;
}

void ref_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w, const float *b)
{
    Shape4 ys = conv2d_out(op);
    int cg = op.x.c / op.g, og = op.oc / op.g; // channels per group, in and out
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++)
                for (int oc = 0; oc < op.oc; oc++) {
                    int g = oc / og;
                    double acc = b ? b[oc] : 0.0;
                    for (int kh = 0; kh < op.kh; kh++) {
                        int ih = tap(oh, kh, op.sh, op.ph, op.dh, op.x.h);
                        if (ih < 0) continue;
                        for (int kw = 0; kw < op.kw; kw++) {
                            int iw = tap(ow, kw, op.sw, op.pw, op.dw, op.x.w);
                            if (iw < 0) continue;
                            for (int ci = 0; ci < cg; ci++)
                                acc += (double)x[ref_at(op.x, n, ih, iw, g * cg + ci)] *
                                       w[(((size_t)oc * op.kh + kh) * op.kw + kw) * cg + ci];
                        }
                    }
                    y[ref_at(ys, n, oh, ow, oc)] = op.act ? act_f(op.act, (float)acc) : (float)acc;
                }
}

// the 1x1 convolution into a buffer of its own, then the depthwise one: the definition
void ref_conv2d_chain_forward(Dev *d, Conv2dChain op, float *y, const float *x, const float *w1, const float *b1,
                              const float *w2, const float *b2)
{
    float *t = xmalloc(shape_numel(op.dw.x) * sizeof *t);
    ref_conv2d_forward(d, op.pw, t, x, w1, b1);
    ref_conv2d_forward(d, op.dw, y, t, w2, b2);
    free(t);
}

void ref_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, GradSet set)
{
    Shape4 ys = conv2d_out(op);
    int cg = op.x.c / op.g, og = op.oc / op.g;
    size_t wn = (size_t)op.oc * op.kh * op.kw * cg;
    // accumulate in double, add once: the oracle's sums must not depend on summation order
    double *gx = dx ? xcalloc(shape_numel(op.x), sizeof(double)) : NULL;
    double *gw = dw ? xcalloc(wn, sizeof(double)) : NULL;
    double *gb = db ? xcalloc((size_t)op.oc, sizeof(double)) : NULL;
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++)
                for (int oc = 0; oc < op.oc; oc++) {
                    int g = oc / og;
                    double g_out = dy[ref_at(ys, n, oh, ow, oc)];
                    if (gb) gb[oc] += g_out;
                    for (int kh = 0; kh < op.kh; kh++) {
                        int ih = tap(oh, kh, op.sh, op.ph, op.dh, op.x.h);
                        if (ih < 0) continue;
                        for (int kw = 0; kw < op.kw; kw++) {
                            int iw = tap(ow, kw, op.sw, op.pw, op.dw, op.x.w);
                            if (iw < 0) continue;
                            for (int ci = 0; ci < cg; ci++) {
                                size_t xi = ref_at(op.x, n, ih, iw, g * cg + ci);
                                size_t wi = (((size_t)oc * op.kh + kh) * op.kw + kw) * cg + ci;
                                if (gx) gx[xi] += g_out * w[wi];
                                if (gw) gw[wi] += g_out * x[xi];
                            }
                        }
                    }
                }
    for (size_t i = 0; gx && i < shape_numel(op.x); i++) dx[i] += (float)gx[i];
    for (size_t i = 0; gw && i < wn; i++) dw[i] += (float)gw[i];
    for (int i = 0; gb && i < op.oc; i++) db[i] += (float)gb[i];
    free(gx);
    free(gw);
    free(gb);
}
