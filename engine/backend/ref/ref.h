/* engine/backend/ref/ref.h — the plain-C oracle backend: one function per OpTable entry.
 *
 * Plain loops written to be obviously right, in the order of the math, with double accumulators
 * where a sum runs long. Nothing clever: every other backend is tested against these.
 */
#ifndef REF_H
#define REF_H

#include "../ops.h"

// NHWC index
static inline size_t ref_at(Shape4 s, int n, int h, int w, int c)
{
    return (((size_t)n * s.h + h) * s.w + w) * s.c + c;
}

void ref_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w, const float *b);
void ref_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w);
void ref_batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd,
                           float *run_mean, float *run_var, const float *x, const float *gamma,
                           const float *beta);
void ref_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma,
                            const float *mean, const float *rstd);
void ref_act_forward(Dev *d, Act op, float *y, const float *x);
void ref_act_backward(Dev *d, Act op, float *dx, const float *dy, const float *x);
void ref_add_forward(Dev *d, Add op, float *y, const float *a, const float *b);
void ref_add_backward(Dev *d, Add op, float *da, float *db, const float *dy);
void ref_chanmul_forward(Dev *d, ChanMul op, float *y, const float *x, const float *s);
void ref_chanmul_backward(Dev *d, ChanMul op, float *dx, float *ds, const float *dy,
                          const float *x, const float *s);
void ref_maxpool_forward(Dev *d, Pool2d op, float *y, const float *x);
void ref_maxpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, const float *x);
void ref_avgpool_forward(Dev *d, Pool2d op, float *y, const float *x);
void ref_avgpool_backward(Dev *d, Pool2d op, float *dx, const float *dy);
void ref_gap_forward(Dev *d, GlobalAvgPool op, float *y, const float *x);
void ref_gap_backward(Dev *d, GlobalAvgPool op, float *dx, const float *dy);
void ref_linear_forward(Dev *d, Linear op, float *y, const float *x, const float *w, const float *b);
void ref_linear_backward(Dev *d, Linear op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w);
void ref_dropout_forward(Dev *d, Dropout op, float *y, const float *x);
void ref_dropout_backward(Dev *d, Dropout op, float *dx, const float *dy);
void ref_droppath_forward(Dev *d, DropPath op, float *y, const float *x);
void ref_droppath_backward(Dev *d, DropPath op, float *dx, const float *dy);
void ref_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                      const int *labels, const float *targets);
void ref_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss, const float *prob,
                       const int *labels, const float *targets);
void ref_softmax_forward(Dev *d, Softmax op, float *y, const float *x);
void ref_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s, const float *q);
void ref_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                        const float *q);
void ref_resize_forward(Dev *d, Resize op, float *y, const float *x);
void ref_resize_backward(Dev *d, Resize op, float *dx, const float *dy);

#endif
