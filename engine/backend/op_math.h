/* engine/backend/op_math.h — the per-element math of the ops, once, for every backend.
 *
 * HD (core.h): the same code runs in the ref and cpu backends and inside the CUDA kernels, so the
 * CPU op test (against PyTorch fixtures and finite differences) checks the formulas the GPU runs:
 * activations and their derivatives, the pooling window rule, the taps of resize (bilinear and
 * nearest, from core/resample.h), and the rows of the losses. Derivatives follow PyTorch's backward formulas, including
 * their choices at the kinks (relu'(0) = 0, hardswish'(3) = 1.5, hardsigmoid'(+-3) = 0).
 */
#ifndef OP_MATH_H
#define OP_MATH_H

#include <math.h> // expf, erff, fminf, fmaxf, exp, log

#include "../core/resample.h" // resize_taps, nearest_src: the rule the data pipeline uses too
#include "ops.h"

HD float act_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

HD float act_f(ActKind k, float x)
{
    switch (k) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case ACT_SILU: return x * act_sigmoidf(x);
    case ACT_HSWISH: return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
    case ACT_HSIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
    case ACT_SIGMOID: return act_sigmoidf(x);
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); // exact (erf) GELU
    default: return x;
    }
}

// f'(x), to be multiplied by the incoming gradient
HD float act_df(ActKind k, float x)
{
    switch (k) {
    case ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case ACT_RELU6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    case ACT_SILU: {
        float s = act_sigmoidf(x);
        return s * (1.0f + x * (1.0f - s));
    }
    case ACT_HSWISH: return x < -3.0f ? 0.0f : (x <= 3.0f ? x * (1.0f / 3.0f) + 0.5f : 1.0f);
    case ACT_HSIGMOID: return (x > -3.0f && x < 3.0f) ? (1.0f / 6.0f) : 0.0f;
    case ACT_SIGMOID: {
        float s = act_sigmoidf(x);
        return s * (1.0f - s);
    }
    case ACT_GELU:
        return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) +
               x * 0.39894228040143268f * expf(-0.5f * x * x); // 1/sqrt(2 pi)
    default: return 1.0f;
    }
}

// ---------------------------------------------------------------------------------------------
// pooling: the window of output (oh, ow), clipped to the input, and PyTorch's divisor: the window
// clipped to the padded input (count_include_pad) or its part inside the input

typedef struct { int h0, h1, w0, w1, div; } PoolWindow;

HD PoolWindow pool_window(Pool2d o, int oh, int ow)
{
    int h0 = oh * o.sh - o.ph, w0 = ow * o.sw - o.pw;
    int h1 = MIN(h0 + o.kh, o.x.h + o.ph), w1 = MIN(w0 + o.kw, o.x.w + o.pw);
    PoolWindow win = {MAX(h0, 0), MIN(h1, o.x.h), MAX(w0, 0), MIN(w1, o.x.w), 0};
    win.div = o.count_include_pad ? (h1 - h0) * (w1 - w0) : (win.h1 - win.h0) * (win.w1 - win.w0);
    return win;
}

// the first largest element of the window of (n, oh, ow, c) in NHWC x (PyTorch's tie rule);
// padding never wins
HD size_t pool_argmax(Pool2d o, const float *x, int n, int oh, int ow, int c)
{
    PoolWindow win = pool_window(o, oh, ow);
    size_t best = (((size_t)n * o.x.h + win.h0) * o.x.w + win.w0) * o.x.c + c;
    float v = -INFINITY;
    for (int h = win.h0; h < win.h1; h++)
        for (int w = win.w0; w < win.w1; w++) {
            size_t j = (((size_t)n * o.x.h + h) * o.x.w + w) * o.x.c + c;
            if (x[j] > v) { v = x[j]; best = j; }
        }
    return best;
}

// ---------------------------------------------------------------------------------------------
// resize: the taps of core/resample.h (bilinear, nearest), shared with data augmentation

// the taps of either mode: nearest puts the whole weight on its source row (i1 = i0, l1 = 0)
HD ResizeTaps resize_taps_mode(ResizeMode mode, int o, int in, int out)
{
    if (mode == RESIZE_BILINEAR) return resize_taps(o, in, out);
    ResizeTaps t;
    t.i0 = t.i1 = nearest_src(o, in, out);
    t.l0 = 1.0f;
    t.l1 = 0.0f;
    return t;
}

// ---------------------------------------------------------------------------------------------
// loss rows: log-sum-exp of z/t (and p = softmax(z/t) when p is not NULL), in double after the
// shift by the row maximum; the cross-entropy target of class j; the KL row of distillation

HD double loss_row_lse(const float *z, int k, float t, float *p)
{
    double mx = z[0] / t, s = 0;
    for (int j = 1; j < k; j++) mx = MAX(mx, (double)(z[j] / t));
    for (int j = 0; j < k; j++) s += exp(z[j] / t - mx);
    double lse = mx + log(s);
    if (p)
        for (int j = 0; j < k; j++) p[j] = (float)exp(z[j] / t - lse);
    return lse;
}

// (1-smoothing)*onehot + smoothing/K for a label, or the given probability row
HD double xent_target(Xent op, const int *labels, const float *targets, int i, int j)
{
    if (targets) return targets[(size_t)i * op.k + j];
    return (1.0 - op.smoothing) * (labels[i] == j) + (double)op.smoothing / op.k;
}

// loss of row i: -sum_j target_j * log softmax(z)_j; writes prob
HD double xent_row(Xent op, const float *logits, const int *labels, const float *targets, float *prob, int i)
{
    const float *z = logits + (size_t)i * op.k;
    double lse = loss_row_lse(z, op.k, 1.0f, prob + (size_t)i * op.k), l = 0;
    for (int j = 0; j < op.k; j++) l -= xent_target(op, labels, targets, i, j) * (z[j] - lse);
    return l;
}

// t^2 * KL(q || softmax(s/t)) of row i, with 0 log 0 = 0; writes p = softmax(s/t)
HD double kldiv_row(KlDiv op, const float *s, const float *q, float *p, int i)
{
    const float *z = s + (size_t)i * op.k, *qi = q + (size_t)i * op.k;
    double lse = loss_row_lse(z, op.k, op.t, p + (size_t)i * op.k), l = 0;
    for (int j = 0; j < op.k; j++)
        if (qi[j] > 0) l += qi[j] * (log((double)qi[j]) - (z[j] / op.t - lse));
    return l * op.t * op.t;
}

// ---- the optimizer's update of element j of an entry (ops.h's OptimUpd; train/optim.h's
// formulas, in the float order the CPU loops have always used)
HD void optim_elem(const OptimUpd *o, float *w, float g, float *s0, float *s1, float *u)
{
    switch (o->kind) {
    case OPU_ADAMW:
        *w *= o->keep;
        *s0 = *s0 * o->beta1 + g * (1 - o->beta1);
        *s1 = *s1 * o->beta2 + g * g * (1 - o->beta2);
        *w -= o->step * *s0 / (sqrtf(*s1) / o->bc2s + o->eps);
        break;
    case OPU_RMSPROP_TF: {
        *w *= o->keep;
        float d = g + o->wd * *w;
        *s0 += (d * d - *s0) * (1 - o->beta2);
        float r = sqrtf(*s0 + o->eps);
        if (s1) {
            *s1 = *s1 * o->momentum + o->lr * d / r;
            *w -= *s1;
        } else {
            *w -= o->lr * d / r;
        }
        break;
    }
    case OPU_LAMB: {
        float d = g / o->clip;
        *s0 += (d - *s0) * (1 - o->beta1); // torch.lerp_, as timm's grad averaging
        *s1 = *s1 * o->beta2 + d * d * (1 - o->beta2);
        *w *= o->keep;
        *u = *s0 / o->bc1 / (sqrtf(*s1) / o->bc2s + o->eps) + o->wd * *w;
        break;
    }
    case OPU_LAMB_APPLY: *w -= o->lr * (*u * o->ratio); break;
    default: { // sgd
        float d = g + o->wd * *w;
        if (s0) {
            *s0 = o->momentum * *s0 + d;
            d = o->nesterov ? d + o->momentum * *s0 : *s0;
        }
        *w = *w * o->keep - o->lr * d;
    }
    }
}

#endif
