/* engine/backend/act_math.h — the activation functions and their derivatives, once.
 *
 * HD (core.h): the same code runs in the ref and cpu backends and inside the CUDA kernels, so the
 * CPU op test checks the math the GPU runs. Derivatives follow PyTorch's backward formulas,
 * including their choices at the kinks (relu'(0) = 0, hardswish'(3) = 1.5, hardsigmoid'(+-3) = 0).
 */
#ifndef ACT_MATH_H
#define ACT_MATH_H

#include <math.h> // expf, erff, fminf, fmaxf

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

// the non-differentiable points, skipped by the finite-difference check (Caffe's "kink")
HD bool act_near_kink(ActKind k, float x, float h)
{
    switch (k) {
    case ACT_RELU: return fabsf(x) < 2 * h;
    case ACT_RELU6: return fabsf(x) < 2 * h || fabsf(x - 6.0f) < 2 * h;
    case ACT_HSWISH:
    case ACT_HSIGMOID: return fabsf(x + 3.0f) < 2 * h || fabsf(x - 3.0f) < 2 * h;
    default: return false;
    }
}

#endif
