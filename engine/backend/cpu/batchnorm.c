/* engine/backend/cpu/batchnorm.c — batch norm over (N,H,W) per channel of NHWC.
 *
 * Versions (Dev.variant selects; the op test runs both as rows "cpu" and "cpu-alt"):
 *   0 (default) own OpenMP loops, vector code (v16) for any channel count and every fused
 *     activation (vmath.h). NHWC data is one flat array whose channel pattern repeats every
 *     P = lcm(C, 16) floats, so every pass runs whole vectors against per-vector copies of the
 *     channel parameters (scale, shift, mean...) repeated to P floats; a tail shorter than P at the
 *     very end is plain code. Training statistics: the rows are cut into fixed chunks of
 *     CHUNK_ROWS rows (never by thread: the sums are the same bits at any thread count); a chunk
 *     sums blocks of 32 rows in float, in vectors, and adds each block into its own double sums;
 *     the chunks' sums are added in chunk order. Forward takes mean and variance in one pass
 *     (sums shifted by the first row, so no cancellation) and normalizes in a second, applying the
 *     fused activation; backward takes its two sums in one pass (through the activation's
 *     derivative) and fuses the accumulation into dx (+=) in its second. The double sums keep
 *     dgamma within 1e-5 of the oracle where cancellation leaves a small total (one channel,
 *     M = 216: oneDNN's float sums miss by 1.1e-5 relative).
 *     Measured (bench_train --profile, MobileNetV2 at 56 px, batch 64, 2 threads): a 4x4x576 BN +
 *     ReLU6 took 1.56 ms forward and 4.7 ms backward in the previous version's scalar loops
 *     (vectors only for 16..64 channels and ReLU); see the commit that made this version.
 *   1 oneDNN batch normalization: computes and consumes (mean, biased variance), so forward
 *     converts rstd = 1/sqrt(var + eps) and backward converts back var = 1/rstd^2 - eps; its
 *     gradients land in scratch and are added.
 *     A fused activation runs after it: in place forward, and backward first forms
 *     dz = dy*act'(z) in scratch.
 * Both: running statistics take the unbiased variance (PyTorch's convention); eval-mode backward
 * (statistics held constant) is an own loop.
 */
#include <math.h> // sqrt, sqrtf
#include <omp.h>  // omp_get_max_threads, omp_get_thread_num

#include "vmath.h"

static const unsigned FLAGS = dnnl_use_scale | dnnl_use_shift;

// ---------------------------------------------------------------------------------------------
// version 0: own loops over the flat array, whole vectors

enum {
    SUM_BLOCK = 32,  // rows summed in float before a block's sum joins the double totals
    CHUNK_ROWS = 256 // rows of one chunk of the statistics (a multiple of 16 and of SUM_BLOCK)
};

#define LD(p) (*(const v16 *)(p))
#define ST(p, v) (*(v16 *)(p) = (v))

// the channel pattern of C channels: it repeats every p = lcm(C, 16) floats, nv vectors
typedef struct { int c, p, nv; } Period;

static Period period_of(int c)
{
    int g = 16;
    while (c % g) g /= 2; // gcd(c, 16)
    return (Period){c, 16 * c / g, c / g};
}

// vals (C) repeated to pd.p floats into out
static void repeat(float *out, const float *vals, Period pd)
{
    for (int i = 0; i < pd.p; i++) out[i] = vals[i % pd.c];
}

// per-element arguments of the passes, each repeated to a period (NULL: unused)
typedef struct { const float *shift, *center, *scale, *bias; } Pattern;

// one block of rows [e0, e1) (elements; e0 a multiple of pd.p) of a (and b): into double sums
// s1, s2 (C each): the statistics, sum (a - shift) and sum (a - shift)^2 (b NULL), or backward's
// sum g and sum g*(b - center), g = a*act'(b*scale + bias)
// NV: the period's vectors as a constant 1..4, whose sums then live in registers (a sum kept in
// memory makes every row wait for the previous row's store: 16..64 channels ran 1.6x slower), or
// 0: pd.nv of them in f1, f2
static inline __attribute__((always_inline)) void block_sums(const float *a, const float *b, const Pattern *o,
                                                            Period pd, size_t e0, size_t e1, double *s1,
                                                            double *s2, const ActKind act, v16 *m1, v16 *m2,
                                                            const int NV)
{
    const v16 zero = V16(0.0f);
    v16 r1[4], r2[4], *f1 = NV ? r1 : m1, *f2 = NV ? r2 : m2;
    const int nv = NV ? NV : pd.nv;
    for (int j = 0; j < nv; j++) f1[j] = f2[j] = zero;
    size_t full = e0 + (e1 - e0) / pd.p * pd.p;
    for (size_t i = e0; i < full; i += pd.p)
        for (int j = 0; j < nv; j++) {
            v16 av = LD(a + i + 16 * j);
            if (!b) {
                v16 v = av - LD(o->shift + 16 * j);
                f1[j] += v;
                f2[j] += v * v;
            } else {
                v16 bv = LD(b + i + 16 * j), g = av;
                if (act == ACT_RELU) // a select: the data decide no branch
                    g = v16_sel(bv * LD(o->scale + 16 * j) + LD(o->bias + 16 * j) > zero, av, zero);
                else if (act != ACT_NONE)
                    g = av * act_dv(act, bv * LD(o->scale + 16 * j) + LD(o->bias + 16 * j));
                f1[j] += g;
                f2[j] += g * (bv - LD(o->center + 16 * j));
            }
        }
    for (int j = 0; j < nv; j++) // lane l of vector j is channel (16j + l) mod C
        for (int l = 0; l < 16; l++) {
            int k = (16 * j + l) % pd.c;
            s1[k] += f1[j][l];
            s2[k] += f2[j][l];
        }
    for (size_t i = full; i < e1; i++) { // the data's last, partial period: as the lanes do it
        int q = (int)((i - e0) % pd.p), k = q % pd.c;
        float av = a[i], g1, g2;
        if (!b) {
            float v = av - o->shift[q];
            g1 = v, g2 = v * v;
        } else {
            float z = b[i] * o->scale[q] + o->bias[q], g = av;
            if (act == ACT_RELU) g = z > 0.0f ? av : 0.0f;
            else if (act != ACT_NONE) g = av * act_df(act, z);
            g1 = g, g2 = g * (b[i] - o->center[q]);
        }
        s1[k] += g1;
        s2[k] += g2;
    }
}

// the sums of chunk [e0, e1) into its own s1, s2 (zeroed here), block by block
static inline __attribute__((always_inline)) void chunk_sums(const float *a, const float *b, const Pattern *o,
                                                            Period pd, size_t e0, size_t e1, double *s1,
                                                            double *s2, const ActKind act)
{
    v16 f[2 * 160], *f1 = f, *f2 = f + 160, *big = NULL; // 160 vectors: C up to 2560 stays on the stack
    if (pd.nv > 160) big = xmalloc((size_t)2 * pd.nv * sizeof *big), f1 = big, f2 = big + pd.nv;
    for (int k = 0; k < pd.c; k++) s1[k] = s2[k] = 0;
    size_t block = (size_t)SUM_BLOCK * pd.c; // a multiple of pd.p: SUM_BLOCK is one of 16
    for (size_t i = e0; i < e1; i += block)
        switch (pd.nv) {
        case 1: block_sums(a, b, o, pd, i, MIN(i + block, e1), s1, s2, act, f1, f2, 1); break;
        case 2: block_sums(a, b, o, pd, i, MIN(i + block, e1), s1, s2, act, f1, f2, 2); break;
        case 3: block_sums(a, b, o, pd, i, MIN(i + block, e1), s1, s2, act, f1, f2, 3); break;
        case 4: block_sums(a, b, o, pd, i, MIN(i + block, e1), s1, s2, act, f1, f2, 4); break;
        default: block_sums(a, b, o, pd, i, MIN(i + block, e1), s1, s2, act, f1, f2, 0);
        }
    free(big);
}

// per-channel sums over the M rows of NHWC a (and b) into s1, s2 (C each, written): fixed chunks
// of CHUNK_ROWS rows, each summed apart (any thread), added in chunk order
static void channel_sums(Dev *d, const float *a, const float *b, const Pattern *o, Period pd, size_t m, ActKind act,
                         double *s1, double *s2)
{
    size_t n_chunks = (m + CHUNK_ROWS - 1) / CHUNK_ROWS, c = (size_t)pd.c;
    double *part = (double *)cpu_scratch(d, 4, 2 * (2 * c * n_chunks)); // two floats a double
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (size_t ch = 0; ch < n_chunks; ch++) {
        size_t e0 = ch * CHUNK_ROWS * c, e1 = MIN(ch + 1, n_chunks) == n_chunks ? m * c : e0 + CHUNK_ROWS * c;
        double *p1 = part + 2 * c * ch, *p2 = p1 + c;
        switch (act) { // the activation a compile-time constant in each copy
        case ACT_NONE: chunk_sums(a, b, o, pd, e0, e1, p1, p2, ACT_NONE); break;
        case ACT_RELU: chunk_sums(a, b, o, pd, e0, e1, p1, p2, ACT_RELU); break;
        case ACT_RELU6: chunk_sums(a, b, o, pd, e0, e1, p1, p2, ACT_RELU6); break;
        case ACT_SILU: chunk_sums(a, b, o, pd, e0, e1, p1, p2, ACT_SILU); break;
        case ACT_HSWISH: chunk_sums(a, b, o, pd, e0, e1, p1, p2, ACT_HSWISH); break;
        default: chunk_sums(a, b, o, pd, e0, e1, p1, p2, act);
        }
    }
    for (size_t k = 0; k < c; k++) s1[k] = s2[k] = 0;
    for (size_t ch = 0; ch < n_chunks; ch++) // chunk order: the same sums for any thread count
        for (size_t k = 0; k < c; k++) {
            s1[k] += part[2 * c * ch + k];
            s2[k] += part[2 * c * ch + c + k];
        }
}

// y = act(x*scale + shift) over n elements, scale and shift repeated to pd.p
static inline __attribute__((always_inline)) void normalize_t(float *y, const float *x, const float *sc,
                                                             const float *sh, Period pd, size_t n, const ActKind act)
{
    size_t periods = n / pd.p;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t r = 0; r < periods; r++)
        for (int j = 0; j < pd.nv; j++) {
            size_t i = r * pd.p + 16 * (size_t)j;
            ST(y + i, act_v(act, LD(x + i) * LD(sc + 16 * j) + LD(sh + 16 * j)));
        }
    for (size_t i = periods * pd.p; i < n; i++) {
        size_t q = i % pd.p;
        y[i] = act_f(act, x[i] * sc[q] + sh[q]);
    }
}

static void normalize(float *y, const float *x, const float *sc, const float *sh, Period pd, size_t n, ActKind act)
{
    switch (act) {
    case ACT_NONE: normalize_t(y, x, sc, sh, pd, n, ACT_NONE); break;
    case ACT_RELU: normalize_t(y, x, sc, sh, pd, n, ACT_RELU); break;
    case ACT_RELU6: normalize_t(y, x, sc, sh, pd, n, ACT_RELU6); break;
    case ACT_SILU: normalize_t(y, x, sc, sh, pd, n, ACT_SILU); break;
    case ACT_HSWISH: normalize_t(y, x, sc, sh, pd, n, ACT_HSWISH); break;
    default: normalize_t(y, x, sc, sh, pd, n, act);
    }
}

static void forward_own(Dev *d, BatchNorm op, float *y, float *mean, float *rstd, float *run_mean,
                        float *run_var, const float *x, const float *gamma, const float *beta)
{
    int c = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    Period pd = period_of(c);
    float *scale = cpu_scratch(d, 3, (size_t)2 * c + 2 * (size_t)pd.p), *shift = scale + c;
    float *sc = shift + c, *sh = sc + pd.p;
    if (op.train) {
        // one pass: sums shifted by the first row (close to the mean: no cancellation to speak of)
        double *s = xcalloc((size_t)2 * c, sizeof(double)), *ss = s + c;
        repeat(sc, x, pd); // the first row, repeated
        channel_sums(d, x, NULL, &(Pattern){.shift = sc}, pd, m, ACT_NONE, s, ss);
        for (int k = 0; k < c; k++) {
            double dm = s[k] / m, var = ss[k] / m - dm * dm; // biased: normalizes
            if (var < 0) var = 0;
            mean[k] = (float)(x[k] + dm);
            rstd[k] = (float)(1.0 / sqrt(var + op.eps));
            if (run_mean) run_mean[k] = (1.0f - op.momentum) * run_mean[k] + op.momentum * mean[k];
            if (run_var) run_var[k] = (float)((1.0 - op.momentum) * run_var[k] + op.momentum * var * m / (m - 1));
        }
        free(s);
    } else {
        for (int k = 0; k < c; k++) {
            mean[k] = run_mean[k];
            rstd[k] = 1.0f / sqrtf(run_var[k] + op.eps);
        }
    }
    for (int k = 0; k < c; k++) {
        scale[k] = gamma[k] * rstd[k];
        shift[k] = beta[k] - mean[k] * scale[k];
    }
    repeat(sc, scale, pd);
    repeat(sh, shift, pd);
    normalize(y, x, sc, sh, pd, m * c, op.act);
}

// dx (+)= a*(dz - b - (x - mean)*e), dz = dy*act'(x*sc + sh): every argument repeated to pd.p
typedef struct { const float *a, *b, *e, *mean, *sc, *sh; } DxPattern;

static inline __attribute__((always_inline)) void dx_pass_t(float *dx, const float *dy, const float *x,
                                                           const DxPattern *o, Period pd, size_t n, bool w,
                                                           const ActKind act)
{
    size_t periods = n / pd.p;
    const v16 zero = V16(0.0f);
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t r = 0; r < periods; r++)
        for (int j = 0; j < pd.nv; j++) {
            size_t i = r * pd.p + 16 * (size_t)j;
            v16 xv = LD(x + i), g = LD(dy + i);
            if (act == ACT_RELU) g = v16_sel(xv * LD(o->sc + 16 * j) + LD(o->sh + 16 * j) > zero, g, zero);
            else if (act != ACT_NONE) g *= act_dv(act, xv * LD(o->sc + 16 * j) + LD(o->sh + 16 * j));
            v16 v = LD(o->a + 16 * j) * (g - LD(o->b + 16 * j) - (xv - LD(o->mean + 16 * j)) * LD(o->e + 16 * j));
            if (w) ST(dx + i, v);
            else ST(dx + i, LD(dx + i) + v);
        }
    for (size_t i = periods * pd.p; i < n; i++) {
        size_t q = i % pd.p;
        float z = x[i] * o->sc[q] + o->sh[q], g = dy[i];
        if (act == ACT_RELU) g = z > 0.0f ? g : 0.0f;
        else if (act != ACT_NONE) g *= act_df(act, z);
        float v = o->a[q] * (g - o->b[q] - (x[i] - o->mean[q]) * o->e[q]);
        dx[i] = w ? v : dx[i] + v;
    }
}

static void dx_pass(float *dx, const float *dy, const float *x, const DxPattern *o, Period pd, size_t n, bool w,
                    ActKind act)
{
    switch (act) {
    case ACT_NONE: dx_pass_t(dx, dy, x, o, pd, n, w, ACT_NONE); break;
    case ACT_RELU: dx_pass_t(dx, dy, x, o, pd, n, w, ACT_RELU); break;
    case ACT_RELU6: dx_pass_t(dx, dy, x, o, pd, n, w, ACT_RELU6); break;
    case ACT_SILU: dx_pass_t(dx, dy, x, o, pd, n, w, ACT_SILU); break;
    case ACT_HSWISH: dx_pass_t(dx, dy, x, o, pd, n, w, ACT_HSWISH); break;
    default: dx_pass_t(dx, dy, x, o, pd, n, w, act);
    }
}

// z = x*scale + shift as forward computed it: the fused activation's input
static void backward_own(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                         const float *dy, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *rstd, bool w)
{
    int c = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    Period pd = period_of(c);
    float *a = cpu_scratch(d, 3, (size_t)5 * c + 6 * (size_t)pd.p), *b = a + c, *e = a + 2 * c, *sc = a + 3 * c,
          *sh = a + 4 * c, *pat = a + 5 * c;
    for (int k = 0; k < c; k++) {
        sc[k] = gamma[k] * rstd[k];
        sh[k] = op.act ? beta[k] - mean[k] * sc[k] : 0;
    }
    DxPattern o = {pat, pat + pd.p, pat + 2 * pd.p, pat + 3 * pd.p, pat + 4 * pd.p, pat + 5 * pd.p};
    repeat((float *)o.mean, mean, pd);
    repeat((float *)o.sc, sc, pd);
    repeat((float *)o.sh, sh, pd);
    double *sdy = xcalloc((size_t)2 * c, sizeof(double)), *sdyx = sdy + c; // sum dz, sum dz*(x-mean)
    channel_sums(d, dy, x, &(Pattern){.center = o.mean, .scale = o.sc, .bias = o.sh}, pd, m, op.act, sdy, sdyx);
    for (int k = 0; k < c; k++) {
        if (dgamma) dgamma[k] += (float)(sdyx[k] * rstd[k]);
        if (dbeta) dbeta[k] += (float)sdy[k];
        // dx = gamma*rstd * (dz - sum(dz)/M - (x - mean) * rstd^2 * sum(dz*(x-mean))/M)
        a[k] = gamma[k] * rstd[k];
        b[k] = (float)(sdy[k] / m);
        e[k] = (float)(sdyx[k] / m * rstd[k] * rstd[k]);
    }
    free(sdy);
    if (!dx) return;
    repeat((float *)o.a, a, pd);
    repeat((float *)o.b, b, pd);
    repeat((float *)o.e, e, pd);
    dx_pass(dx, dy, x, &o, pd, m * c, w, op.act);
}

// ---------------------------------------------------------------------------------------------
// version 1: oneDNN

static void forward_dnnl(Dev *d, BatchNorm op, float *y, float *mean, float *rstd, float *run_mean,
                         float *run_var, const float *x, const float *gamma, const float *beta)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_BN_FWD, batchnorm_key(op), &fresh);
    if (fresh) {
        dnnl_batch_normalization_desc_t bd;
        dnnl_memory_desc_t xm = cpu_md_nhwc(op.x), cm = cpu_md_1d(op.x.c);
        DNNL_CHECK(dnnl_batch_normalization_forward_desc_init(&bd,
            op.train ? dnnl_forward_training : dnnl_forward_inference, &xm, op.eps,
            op.train ? FLAGS : FLAGS | dnnl_use_global_stats));
        cpu_prim_create(d, p, 0, &bd, NULL);
        cpu_mem(d, p, 0, &xm, false);
        cpu_mem(d, p, 1, &xm, false);
        for (int j = 2; j < 6; j++) cpu_mem(d, p, j, &cm, false);
    }
    int c = op.x.c;
    float *var = cpu_scratch(d, 3, (size_t)c);
    cpu_bind(p, 0, x);
    cpu_bind(p, 1, y);
    cpu_bind(p, 2, gamma);
    cpu_bind(p, 3, beta);
    cpu_bind(p, 4, op.train ? mean : run_mean);
    cpu_bind(p, 5, op.train ? var : run_var);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[0]},  {DNNL_ARG_DST, p->mem[1]},
                           {DNNL_ARG_SCALE, p->mem[2]}, {DNNL_ARG_SHIFT, p->mem[3]},
                           {DNNL_ARG_MEAN, p->mem[4]},  {DNNL_ARG_VARIANCE, p->mem[5]}};
    cpu_exec(d, p, 0, LEN(a), a);
    double m = (double)op.x.n * op.x.h * op.x.w, unbias = m / (m - 1);
    for (int k = 0; k < c; k++) {
        if (!op.train) {
            mean[k] = run_mean[k];
            rstd[k] = 1.0f / sqrtf(run_var[k] + op.eps);
            continue;
        }
        rstd[k] = 1.0f / sqrtf(var[k] + op.eps);
        if (run_mean) run_mean[k] = (1.0f - op.momentum) * run_mean[k] + op.momentum * mean[k];
        if (run_var)
            run_var[k] = (float)((1.0 - op.momentum) * run_var[k] + op.momentum * var[k] * unbias);
    }
}

// the statistics are constants (eval mode): dx += dy*gamma*rstd, dgamma += sum dy*xhat, dbeta += sum dy
static void backward_frozen(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *gamma, const float *mean, const float *rstd,
                            bool w)
{
    int c = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    if (dx) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < m; i++)
            for (int k = 0; k < c; k++)
                dx[i * c + k] = (w ? 0.0f : dx[i * c + k]) + dy[i * c + k] * gamma[k] * rstd[k];
    }
    if (!dgamma && !dbeta) return;
    // per fixed chunk of rows (any thread), the chunks' sums added in chunk order
    size_t n_chunks = (m + CHUNK_ROWS - 1) / CHUNK_ROWS;
    double *part = (double *)cpu_scratch(d, 4, 2 * (2 * (size_t)c * n_chunks)); // two floats a double
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (size_t ch = 0; ch < n_chunks; ch++) {
        double *pg = part + 2 * (size_t)c * ch, *pb = pg + c;
        for (int k = 0; k < c; k++) pg[k] = pb[k] = 0;
        size_t end = (ch + 1) * CHUNK_ROWS < m ? (ch + 1) * CHUNK_ROWS : m;
        for (size_t i = ch * CHUNK_ROWS; i < end; i++)
            for (int k = 0; k < c; k++) {
                pg[k] += (double)dy[i * c + k] * (x[i * c + k] - mean[k]) * rstd[k];
                pb[k] += dy[i * c + k];
            }
    }
    for (int k = 0; k < c; k++) {
        double sg = 0, sb = 0;
        for (size_t ch = 0; ch < n_chunks; ch++) {
            sg += part[2 * (size_t)c * ch + k];
            sb += part[2 * (size_t)c * ch + c + k];
        }
        if (dgamma) dgamma[k] += (float)sg;
        if (dbeta) dbeta[k] += (float)sb;
    }
}

static void backward_dnnl(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                          const float *dy, const float *x, const float *gamma, const float *mean,
                          const float *rstd, bool w)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_BN_BWD, batchnorm_key(op), &fresh);
    if (fresh) {
        dnnl_batch_normalization_desc_t fd, bd;
        dnnl_memory_desc_t xm = cpu_md_nhwc(op.x), cm = cpu_md_1d(op.x.c);
        DNNL_CHECK(dnnl_batch_normalization_forward_desc_init(&fd, dnnl_forward_training, &xm,
                                                              op.eps, FLAGS));
        DNNL_CHECK(dnnl_primitive_desc_create(&p->pd[1], &fd, NULL, cpu_ctx(d)->eng, NULL));
        DNNL_CHECK(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &xm, &xm,
                                                               op.eps, FLAGS));
        cpu_prim_create(d, p, 0, &bd, p->pd[1]);
        for (int j = 0; j < 3; j++) cpu_mem(d, p, j, &xm, false);
        for (int j = 3; j < 9; j++) cpu_mem(d, p, j, &cm, false);
    }
    int c = op.x.c;
    size_t n = shape_numel(op.x);
    float *tdx = cpu_scratch(d, 0, n), *var = cpu_scratch(d, 3, (size_t)4 * c);
    float *tg = var + c, *tb = var + 2 * c, *shift = var + 3 * c;
    for (int k = 0; k < c; k++) {
        var[k] = 1.0f / (rstd[k] * rstd[k]) - op.eps;
        shift[k] = 0; // oneDNN 2.6 asks for the shift in backward though the gradient ignores it
    }
    cpu_bind(p, 0, x);
    cpu_bind(p, 1, dy);
    cpu_bind(p, 2, w && dx ? dx : tdx); // a written dx takes oneDNN's result directly
    cpu_bind(p, 3, gamma);
    cpu_bind(p, 4, mean);
    cpu_bind(p, 5, var);
    cpu_bind(p, 6, tg);
    cpu_bind(p, 7, tb);
    cpu_bind(p, 8, shift);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[0]},        {DNNL_ARG_DIFF_DST, p->mem[1]},
                           {DNNL_ARG_DIFF_SRC, p->mem[2]},   {DNNL_ARG_SCALE, p->mem[3]},
                           {DNNL_ARG_MEAN, p->mem[4]},       {DNNL_ARG_VARIANCE, p->mem[5]},
                           {DNNL_ARG_DIFF_SCALE, p->mem[6]}, {DNNL_ARG_DIFF_SHIFT, p->mem[7]},
                           {DNNL_ARG_SHIFT, p->mem[8]}};
    cpu_exec(d, p, 0, LEN(a), a);
    if (dx && !w) cpu_accumulate(dx, tdx, n);
    for (int k = 0; k < c; k++) {
        if (dgamma) dgamma[k] += tg[k];
        if (dbeta) dbeta[k] += tb[k];
    }
}

// ---------------------------------------------------------------------------------------------

// dy through the fused activation: dz = dy*act'(z), z = (x - mean)*rstd*gamma + beta, in scratch
static const float *through_act(Dev *d, BatchNorm op, const float *dy, const float *x,
                                const float *gamma, const float *beta, const float *mean, const float *rstd)
{
    if (op.act == ACT_NONE) return dy;
    int c = op.x.c;
    size_t n = shape_numel(op.x);
    float *dz = cpu_scratch(d, 1, n);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % c);
        float sc = gamma[k] * rstd[k];
        dz[i] = dy[i] * act_df(op.act, x[i] * sc + (beta[k] - mean[k] * sc));
    }
    return dz;
}

void cpu_batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd,
                           float *run_mean, float *run_var, const float *x, const float *gamma,
                           const float *beta)
{
    if (d->variant != 1) {
        forward_own(d, op, y, mean, rstd, run_mean, run_var, x, gamma, beta);
        return;
    }
    forward_dnnl(d, op, y, mean, rstd, run_mean, run_var, x, gamma, beta);
    if (op.act) cpu_act_forward(d, (Act){shape_numel(op.x), op.act}, y, y);
}

void cpu_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma, const float *beta,
                            const float *mean, const float *rstd, GradSet set)
{
    bool w = set & SET_0; // dx written, not added into
    if (op.train && d->variant != 1) {
        backward_own(d, op, dx, dgamma, dbeta, dy, x, gamma, beta, mean, rstd, w);
        return;
    }
    const float *dz = through_act(d, op, dy, x, gamma, beta, mean, rstd);
    if (!op.train) backward_frozen(d, op, dx, dgamma, dbeta, dz, x, gamma, mean, rstd, w);
    else backward_dnnl(d, op, dx, dgamma, dbeta, dz, x, gamma, mean, rstd, w);
}
