/* engine/backend/cpu/vmath.h — the activations of op_math.h on 16 floats at once (v16), for the
 * cpu backend's own loops (batch norm's fused activation, activation backward).
 *
 * op_math.h's act_f / act_df are the oracle's formulas, one float at a time; the compiler cannot
 * vectorize their switch, nor expf and erff without libmvec. Here the same formulas are written
 * on v16 with the same branches as selects, and exp as a polynomial: v16_exp is Cephes' expf
 * (range reduction by ln 2 in two parts, a degree-5 polynomial) with an error within 2 ulp of
 * glibc's, so ReLU, ReLU6, hard-swish and hard-sigmoid give the scalar formulas' bits and
 * sigmoid and SiLU agree to a few ulp (the op test holds them to ref). GELU (erf) has no vector
 * form here: act_v and act_dv run its scalar formula lane by lane. `act` is a compile-time
 * constant where it matters: callers dispatch once with a switch and inline these.
 */
#ifndef VMATH_H
#define VMATH_H

#include <string.h> // memcpy
#ifdef __AVX512F__
#include <immintrin.h> // masked loads and stores: a partial vector stays in a register
#endif

#include "../op_math.h"
#include "cpu.h"

#define V16(x) ((v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x})

// n (<= 16) lanes of p into a vector, the rest 0; and back
static inline v16 ldn(const float *p, int n)
{
    if (n == 16) return *(const v16 *)p;
#ifdef __AVX512F__
    return (v16)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
#else
    v16 v = V16(0.0f);
    memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
#endif
}

static inline void stn(float *p, v16 v, int n)
{
    if (n == 16) *(v16 *)p = v;
#ifdef __AVX512F__
    else _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#else
    else memcpy(p, &v, (size_t)n * sizeof(float));
#endif
}

// a select: where m (a comparison's all-ones lanes) then a else b
static inline v16 v16_sel(v16i m, v16 a, v16 b) { return (v16)((m & (v16i)a) | (~m & (v16i)b)); }
static inline v16 v16_max(v16 a, v16 b) { return v16_sel(a > b, a, b); }
static inline v16 v16_min(v16 a, v16 b) { return v16_sel(a < b, a, b); }

// e^x, Cephes' expf: x = n ln2 + r, |r| <= ln2/2, e^r by its degree-5 minimax polynomial; x is
// clamped to [-87.3, 88.4] (e^x from 1e-38 to 2.4e38, never 0 or inf), a NaN stays NaN (a diverged
// step must stay visible through sigmoid and SiLU)
static inline v16 v16_exp(v16 x)
{
    v16 in = x;
    x = v16_sel(x < V16(-87.3365447505531f), V16(-87.3365447505531f), x); // comparisons false for NaN:
    x = v16_sel(x > V16(88.3762626647949f), V16(88.3762626647949f), x);   // it passes through
    v16 n = x * V16(1.44269504088896341f) + V16(0.5f);
    v16i ni = __builtin_convertvector(n, v16i);
    ni -= (v16i)(n < __builtin_convertvector(ni, v16)) & 1; // floor
    n = __builtin_convertvector(ni, v16);
    x = x - n * V16(0.693359375f) + n * V16(2.12194440e-4f);
    v16 p = V16(1.9875691500E-4f);
    p = p * x + V16(1.3981999507E-3f);
    p = p * x + V16(8.3334519073E-3f);
    p = p * x + V16(4.1665795894E-2f);
    p = p * x + V16(1.6666665459E-1f);
    p = p * x + V16(5.0000001201E-1f);
    p = p * x * x + x + V16(1.0f);
    p = (v16)((v16i)p + ((ni + 127) << 23) - (127 << 23)); // times 2^n
    return v16_sel(in != in, in, p);                       // NaN in, NaN out
}

static inline v16 v16_sigmoid(v16 x) { return V16(1.0f) / (V16(1.0f) + v16_exp(-x)); }

// act_f lane by lane (GELU)
static inline v16 v16_scalar_f(ActKind k, v16 x)
{
    for (int i = 0; i < 16; i++) x[i] = act_f(k, x[i]);
    return x;
}

static inline v16 v16_scalar_df(ActKind k, v16 x)
{
    for (int i = 0; i < 16; i++) x[i] = act_df(k, x[i]);
    return x;
}

// act_f(k, x) of op_math.h
static inline __attribute__((always_inline)) v16 act_v(ActKind k, v16 x)
{
    const v16 zero = V16(0.0f), six = V16(6.0f), three = V16(3.0f), sixth = V16(1.0f / 6.0f);
    switch (k) {
    case ACT_RELU: return v16_sel(x > zero, x, zero);
    case ACT_RELU6: return v16_min(v16_max(x, zero), six);
    case ACT_SILU: return x * v16_sigmoid(x);
    case ACT_HSWISH: return x * v16_min(v16_max(x + three, zero), six) * sixth;
    case ACT_HSIGMOID: return v16_min(v16_max(x + three, zero), six) * sixth;
    case ACT_SIGMOID: return v16_sigmoid(x);
    case ACT_GELU: return v16_scalar_f(k, x);
    default: return x;
    }
}

// act_df(k, x) of op_math.h: f'(x), to be multiplied by the incoming gradient
static inline __attribute__((always_inline)) v16 act_dv(ActKind k, v16 x)
{
    const v16 zero = V16(0.0f), one = V16(1.0f);
    switch (k) {
    case ACT_RELU: return v16_sel(x > zero, one, zero);
    case ACT_RELU6: return v16_sel((x > zero) & (x < V16(6.0f)), one, zero);
    case ACT_SILU: {
        v16 s = v16_sigmoid(x);
        return s * (one + x * (one - s));
    }
    case ACT_HSWISH:
        return v16_sel(x < V16(-3.0f), zero, v16_sel(x <= V16(3.0f), x * V16(1.0f / 3.0f) + V16(0.5f), one));
    case ACT_HSIGMOID: return v16_sel((x > V16(-3.0f)) & (x < V16(3.0f)), V16(1.0f / 6.0f), zero);
    case ACT_SIGMOID: {
        v16 s = v16_sigmoid(x);
        return s * (one - s);
    }
    case ACT_GELU: return v16_scalar_df(k, x);
    default: return one;
    }
}

#endif
