/* engine/backend/cpu/eltwise.c — activations (oneDNN eltwise forward; fused accumulating
 * backward), add, the elementwise product, the SE channel gate, dropout and drop-path, channel
 * zero-padding (the option-A ResNet shortcut), in OpenMP loops.
 *
 * Activation backward is an own loop on purpose: oneDNN's eltwise backward overwrites, so it
 * would cost a scratch write plus an accumulate pass; dx += dy * f'(x) is one pass, with f' from
 * op_math.h (the oracle's own formula). Hard-sigmoid has no oneDNN 2.6 eltwise: own loop.
 * Dropout and drop-path draw from rng.h exactly as ref does (one Philox block = 4 draws).
 */
#include <string.h> // memcpy

#include "../../core/rng.h"
#include "vmath.h" // act_v, act_dv: the activations in vectors

#define PAR_N 32768 // below this many elements, threads cost more than they give

bool cpu_act_alg(ActKind k, dnnl_alg_kind_t *alg, float *alpha, float *beta)
{
    *alpha = 0;
    *beta = 0;
    switch (k) {
    case ACT_RELU: *alg = dnnl_eltwise_relu; return true;
    case ACT_RELU6: *alg = dnnl_eltwise_clip_v2; *beta = 6; return true;
    case ACT_SILU: *alg = dnnl_eltwise_swish; *alpha = 1; return true;
    case ACT_SIGMOID: *alg = dnnl_eltwise_logistic; return true;
    case ACT_GELU: *alg = dnnl_eltwise_gelu_erf; return true;
    case ACT_HSWISH: *alg = dnnl_eltwise_hardswish; return true;
    default: return false;
    }
}

void cpu_act_forward(Dev *d, Act op, float *y, const float *x)
{
    dnnl_alg_kind_t alg;
    float alpha, beta;
    if (!cpu_act_alg(op.act, &alg, &alpha, &beta)) { // hard-sigmoid
        size_t nv = op.n / 16;
#pragma omp parallel for schedule(static) if (op.n > PAR_N)
        for (size_t v = 0; v < nv; v++) *(v16 *)(y + 16 * v) = act_v(op.act, *(const v16 *)(x + 16 * v));
        for (size_t i = 16 * nv; i < op.n; i++) y[i] = act_f(op.act, x[i]);
        return;
    }
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_ACT_FWD, act_key(op), &fresh);
    if (fresh) {
        dnnl_eltwise_desc_t ed;
        dnnl_memory_desc_t md;
        dnnl_dims_t dims = {(dnnl_dim_t)op.n};
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
        DNNL_CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, alg, &md, alpha, beta));
        cpu_prim_create(d, p, 0, &ed, NULL);
        cpu_mem(d, p, 0, &md, false);
        cpu_mem(d, p, 1, &md, false);
    }
    cpu_bind(p, 0, x);
    cpu_bind(p, 1, y);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[0]}, {DNNL_ARG_DST, p->mem[1]}};
    cpu_exec(d, p, 0, 2, a);
}

// dx (+)= dy * f'(x) in vectors (vmath.h's act_dv), the kind a constant in each copy; the last
// n mod 16 values with op_math.h's act_df. w: dx written (set bit), not read
static inline __attribute__((always_inline)) void act_backward_t(size_t n, float *dx, const float *dy,
                                                                const float *x, bool w, const ActKind act)
{
    size_t nv = n / 16;
#pragma omp parallel for schedule(static) if (n > PAR_N)
    for (size_t v = 0; v < nv; v++) {
        size_t i = 16 * v;
        v16 g = *(const v16 *)(dy + i) * act_dv(act, *(const v16 *)(x + i));
        if (!w) g += *(const v16 *)(dx + i);
        *(v16 *)(dx + i) = g;
    }
    for (size_t i = 16 * nv; i < n; i++) dx[i] = (w ? 0.0f : dx[i]) + dy[i] * act_df(act, x[i]);
}

void cpu_act_backward(Dev *d, Act op, float *dx, const float *dy, const float *x, GradSet set)
{
    bool w = set & SET_0;
    switch (op.act) {
    case ACT_RELU: act_backward_t(op.n, dx, dy, x, w, ACT_RELU); break;
    case ACT_RELU6: act_backward_t(op.n, dx, dy, x, w, ACT_RELU6); break;
    case ACT_SILU: act_backward_t(op.n, dx, dy, x, w, ACT_SILU); break;
    case ACT_HSWISH: act_backward_t(op.n, dx, dy, x, w, ACT_HSWISH); break;
    case ACT_HSIGMOID: act_backward_t(op.n, dx, dy, x, w, ACT_HSIGMOID); break;
    case ACT_SIGMOID: act_backward_t(op.n, dx, dy, x, w, ACT_SIGMOID); break;
    case ACT_GELU: act_backward_t(op.n, dx, dy, x, w, ACT_GELU); break;
    default: CHECK(0, "act_backward on cpu: activation %d", (int)op.act);
    }
}

// relu and relu6 as comparisons, so the loops vectorize (fmaxf is a libm call without
// -ffinite-math-only); op_math.h's act_f is the definition (the op test holds them to it)
static inline float add_act(ActKind k, float z)
{
    float r = z > 0.0f ? z : 0.0f;
    return k == ACT_RELU ? r : k == ACT_RELU6 ? (r < 6.0f ? r : 6.0f) : z;
}

void cpu_add_forward(Dev *d, Add op, float *y, const float *a, const float *b)
{
    ActKind k = op.act;
#pragma omp parallel for simd schedule(static) if (op.n > PAR_N)
    for (size_t i = 0; i < op.n; i++) y[i] = add_act(k, a[i] + b[i]);
}

// the gradient rows of add: v = dy, or dy where the output is strictly inside the activation's
// linear range (a select: the mask is data, and a branch on it mispredicts half the time); each
// output written (w) or added into. One loop per combination of the flags: GCC's own unswitching
// of them left a scalar loop for the writes (GhostNetV3's step: 14% of its cycles)
#define ADD_GRAD_LOOP(V, O1, O2)                                                    \
    _Pragma("omp parallel for simd schedule(static) if (n > PAR_N)")               \
    for (size_t i = 0; i < n; i++) {                                               \
        float v = V;                                                               \
        O1;                                                                        \
        O2;                                                                        \
    }
#define ADD_GRAD_OUTS(V)                                                            \
    if (!o2) {                                                                     \
        if (w1) ADD_GRAD_LOOP(V, o1[i] = v, (void)0)                               \
        else ADD_GRAD_LOOP(V, o1[i] += v, (void)0)                                 \
    } else if (w1 && w2) ADD_GRAD_LOOP(V, o1[i] = v, o2[i] = v)                    \
    else if (w1) ADD_GRAD_LOOP(V, o1[i] = v, o2[i] += v)                           \
    else if (w2) ADD_GRAD_LOOP(V, o1[i] += v, o2[i] = v)                           \
    else ADD_GRAD_LOOP(V, o1[i] += v, o2[i] += v)

static void add_grad(size_t n, float *restrict o1, bool w1, float *restrict o2, bool w2, const float *restrict g,
                     const float *restrict out, bool masked, float hi)
{
    if (!masked) { ADD_GRAD_OUTS(g[i]) }
    else { ADD_GRAD_OUTS(out[i] > 0.0f ? (out[i] < hi ? g[i] : 0.0f) : 0.0f) }
}
#undef ADD_GRAD_OUTS
#undef ADD_GRAD_LOOP

void cpu_add_backward(Dev *d, Add op, float *da, float *db, const float *dy, const float *y, GradSet set)
{
    float *o1 = da, *o2 = db;
    bool w1 = set & SET_0, w2 = set & SET_1;
    if (!o1) { o1 = o2; w1 = w2; o2 = NULL; }
    if (!o1) return;
    if (o1 == o2) { // add(x, x): both gradients are one buffer (add_grad's restrict): dy twice into it
        if (w1 || w2) memset(o1, 0, op.n * sizeof *o1);
        add_grad(op.n, o1, false, NULL, false, dy, op.act ? y : NULL, op.act != ACT_NONE,
                 op.act == ACT_RELU6 ? 6.0f : INFINITY);
        w1 = false, o2 = NULL;
    }
    if (op.act == ACT_NONE) add_grad(op.n, o1, w1, o2, w2, dy, NULL, false, 0);
    else add_grad(op.n, o1, w1, o2, w2, dy, y, true, op.act == ACT_RELU6 ? 6.0f : INFINITY);
}

// ---------------------------------------------------------------------------------------------
// elementwise product: y = a * b; backward writes (set bits) or adds each gradient in one pass

void cpu_mul_forward(Dev *d, Mul op, float *y, const float *a, const float *b)
{
#pragma omp parallel for simd schedule(static) if (op.n > PAR_N)
    for (size_t i = 0; i < op.n; i++) y[i] = a[i] * b[i];
}

void cpu_mul_backward(Dev *d, Mul op, float *da, float *db, const float *dy, const float *a,
                      const float *b, GradSet set)
{
    bool wa = set & SET_0, wb = set & SET_1;
    if (da)
#pragma omp parallel for simd schedule(static) if (op.n > PAR_N)
        for (size_t i = 0; i < op.n; i++) da[i] = (wa ? 0.0f : da[i]) + dy[i] * b[i];
    if (db)
#pragma omp parallel for simd schedule(static) if (op.n > PAR_N)
        for (size_t i = 0; i < op.n; i++) db[i] = (wb ? 0.0f : db[i]) + dy[i] * a[i];
}

// ---------------------------------------------------------------------------------------------
// SE gate: y = x * s[n, c]

void cpu_chanmul_forward(Dev *d, ChanMul op, float *y, const float *x, const float *s)
{
    int c = op.x.c;
    size_t hw = (size_t)op.x.h * op.x.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < op.x.n; n++)
        for (size_t i = 0; i < hw; i++) {
            size_t at = ((size_t)n * hw + i) * c;
            const float *sn = s + (size_t)n * c;
#pragma omp simd
            for (int k = 0; k < c; k++) y[at + k] = x[at + k] * sn[k];
        }
}

// one pass over an image: per pixel and 16-channel block, dx (+)= dy*s and the block's
// sum(dy*x) in a row of the image's sums; set bits: dx or ds written, not read
void cpu_chanmul_backward(Dev *d, ChanMul op, float *dx, float *ds, const float *dy,
                          const float *x, const float *s, GradSet set)
{
    int c = op.x.c;
    size_t hw = (size_t)op.x.h * op.x.w;
    bool wx = set & SET_0, wsum = set & SET_1;
    float *acc = ds ? cpu_scratch(d, 0, (size_t)op.x.n * c) : NULL;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < op.x.n; n++) {
        const float *sn = s + (size_t)n * c;
        float *an = acc ? acc + (size_t)n * c : NULL;
        if (an) memset(an, 0, (size_t)c * sizeof *an);
        for (size_t i = 0; i < hw; i++) {
            size_t at = ((size_t)n * hw + i) * c;
            for (int k0 = 0; k0 < c; k0 += 16) {
                int nl = MIN(16, c - k0);
                v16 g = ldn(dy + at + k0, nl);
                if (dx) {
                    v16 v = g * ldn(sn + k0, nl);
                    if (!wx) v += ldn(dx + at + k0, nl);
                    stn(dx + at + k0, v, nl);
                }
                if (an) stn(an + k0, ldn(an + k0, nl) + g * ldn(x + at + k0, nl), nl);
            }
        }
        if (an)
            for (int k = 0; k < c; k++) ds[(size_t)n * c + k] = (wsum ? 0.0f : ds[(size_t)n * c + k]) + an[k];
    }
}

// ---------------------------------------------------------------------------------------------
// channel zero-padding: per pixel, `before` zeros, the C channels of x, `after` zeros (a slice:
// x's channels alone)

void cpu_chanpad_forward(Dev *d, ChanPad op, float *y, const float *x)
{
    size_t pix = (size_t)op.x.n * op.x.h * op.x.w;
    int c = op.x.c, oc = c + op.before + op.after;
#pragma omp parallel for schedule(static) if (pix * oc > PAR_N)
    for (size_t p = 0; p < pix; p++) {
        float *yp = y + p * oc;
        memcpy(yp + op.before, x + p * c, (size_t)c * sizeof(float));
        if (op.slice) continue; // the other channels are another node's
        for (int k = 0; k < op.before; k++) yp[k] = 0.0f;
        for (int k = op.before + c; k < oc; k++) yp[k] = 0.0f;
    }
}

void cpu_chanpad_backward(Dev *d, ChanPad op, float *dx, const float *dy, GradSet set)
{
    if (!dx) return;
    size_t pix = (size_t)op.x.n * op.x.h * op.x.w;
    int c = op.x.c, oc = c + op.before + op.after;
    bool w = set & SET_0;
#pragma omp parallel for schedule(static) if (pix * c > PAR_N)
    for (size_t p = 0; p < pix; p++) {
        float *dxp = dx + p * c;
        const float *dyp = dy + p * oc + op.before;
#pragma omp simd
        for (int k = 0; k < c; k++) dxp[k] = (w ? 0.0f : dxp[k]) + dyp[k];
    }
}

// ---------------------------------------------------------------------------------------------
// dropout: element j of sample i kept when rng_uniform(key, sample0 + i, j) >= p

static void dropout_apply(Drop op, float *out, const float *in, bool accumulate)
{
    float scale = 1.0f / (1.0f - op.p);
    size_t per = op.per_sample;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < op.n; i++)
        for (size_t j0 = 0; j0 < per; j0 += 4) {
            Philox4 b = rng_block(op.key, op.sample0 + i, j0 >> 2);
            for (size_t k = 0; k < 4 && j0 + k < per; k++) {
                size_t at = (size_t)i * per + j0 + k;
                float v = rng_u01(b.v[k]) >= op.p ? in[at] * scale : 0.0f;
                if (accumulate) out[at] += v;
                else out[at] = v;
            }
        }
}

void cpu_dropout_forward(Dev *d, Drop op, float *y, const float *x) { dropout_apply(op, y, x, false); }
void cpu_dropout_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    dropout_apply(op, dx, dy, true);
}

// drop-path: one draw per sample, rng_uniform(key, 0, sample0 + i)
static void droppath_apply(Drop op, float *out, const float *in, bool accumulate)
{
    float scale = 1.0f / (1.0f - op.p);
    size_t per = op.per_sample;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < op.n; i++) {
        float m = rng_uniform(op.key, 0, op.sample0 + i) >= op.p ? scale : 0.0f;
        float *o = out + (size_t)i * per;
        const float *v = in + (size_t)i * per;
        if (accumulate && m != 0)
            for (size_t j = 0; j < per; j++) o[j] += v[j] * m;
        else if (!accumulate) // a dropped sample is 0 even where x is not finite, as in ref
            for (size_t j = 0; j < per; j++) o[j] = m != 0 ? v[j] * m : 0.0f;
    }
}

void cpu_droppath_forward(Dev *d, Drop op, float *y, const float *x) { droppath_apply(op, y, x, false); }
void cpu_droppath_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    droppath_apply(op, dx, dy, true);
}
