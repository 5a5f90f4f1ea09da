/* engine/backend/cpu/batchnorm.c — batch norm over (N,H,W) per channel of NHWC.
 *
 * Versions (Dev.variant selects; the op test runs both as rows "cpu" and "cpu-alt"):
 *   0 (default) own OpenMP loops: per-thread sums over rows, vectorized across channels, in
 *     float over blocks of 32 rows and in double across blocks, reduced in thread order; forward takes mean and variance in one pass (sums shifted by the
 *     first row, so no cancellation) and normalizes in a second, applying the fused activation;
 *     backward takes its two sums in one pass (through the activation's derivative) and fuses
 *     the accumulation into dx (+=) in its second. Measured on the ResNet-20 shapes (bench_ops)
 *     it is faster than version 1, and its double sums keep dgamma within 1e-5 of the oracle
 *     where cancellation leaves a small total (one channel, M = 216: oneDNN's float sums miss by
 *     1.1e-5 relative).
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

#include "../op_math.h"
#include "cpu.h"

static const unsigned FLAGS = dnnl_use_scale | dnnl_use_shift;

// ---------------------------------------------------------------------------------------------
// version 0: own loops

// per-channel sums over the M rows of NHWC a: sum (a - shift) and sum (a - shift)^2 (b NULL), or
// sum g and sum g*(b - center) with g = a, or g = a*act'(b*scale + bias) when act is set (the
// gradient through a fused activation). Thread-private doubles, reduced in thread order.
typedef struct { const float *shift, *center, *scale, *bias; ActKind act; } SumArgs;

enum { SUM_BLOCK = 32 }; // rows summed in float before a block's sum joins the double totals

// channel_sums for C = 16*NV (NV <= 4): the block's float sums live in registers (v16), one
// vector per 16 channels, instead of in memory rows the loop reloads for every row. The same
// operations in the same order as the generic loop (sums_rows), so the same sums to the bit.
static inline __attribute__((always_inline)) void sums_v16(const float *a, const float *b, SumArgs o, size_t lo,
                                                          size_t hi, double *p1, double *p2, const int nv)
{
    const int c = 16 * nv;
    v16 sh[4], ce[4], sc[4], bi[4];
    for (int q = 0; q < nv; q++) {
        if (!b) sh[q] = *(const v16 *)(o.shift + 16 * q);
        else {
            ce[q] = *(const v16 *)(o.center + 16 * q);
            if (o.act == ACT_RELU) sc[q] = *(const v16 *)(o.scale + 16 * q), bi[q] = *(const v16 *)(o.bias + 16 * q);
        }
    }
    const v16 zero = {0};
    for (size_t i0 = lo; i0 < hi; i0 += SUM_BLOCK) {
        size_t i1 = i0 + SUM_BLOCK < hi ? i0 + SUM_BLOCK : hi;
        v16 f1[4] = {zero, zero, zero, zero}, f2[4] = {zero, zero, zero, zero};
        for (size_t i = i0; i < i1; i++)
            for (int q = 0; q < nv; q++) {
                v16 av = *(const v16 *)(a + i * c + 16 * q);
                if (!b) {
                    v16 v = av - sh[q];
                    f1[q] += v;
                    f2[q] += v * v;
                } else {
                    v16 bv = *(const v16 *)(b + i * c + 16 * q), g = av;
                    if (o.act == ACT_RELU) g = (v16)((v16i)av & (bv * sc[q] + bi[q] > zero)); // a select
                    f1[q] += g;
                    f2[q] += g * (bv - ce[q]);
                }
            }
        for (int q = 0; q < nv; q++)
            for (int k = 0; k < 16; k++) {
                p1[16 * q + k] += f1[q][k];
                p2[16 * q + k] += f2[q][k];
            }
    }
}

// the generic rows of one thread: per block, float sums (a quarter of the double work; 32 terms
// lose < 2e-6 relative) in memory rows, and the row's dz when there is an activation
static void sums_rows(const float *a, const float *b, SumArgs o, size_t lo, size_t hi, int c, double *p1,
                      double *p2)
{
    const float *restrict shift = o.shift, *restrict center = o.center, *restrict sc = o.scale,
                *restrict bias = o.bias;
    float *restrict f1 = xmalloc((size_t)3 * c * sizeof(float)), *restrict f2 = f1 + c, *restrict gb = f2 + c;
    for (size_t i0 = lo; i0 < hi; i0 += SUM_BLOCK) {
        size_t i1 = i0 + SUM_BLOCK < hi ? i0 + SUM_BLOCK : hi;
        for (int k = 0; k < c; k++) f1[k] = f2[k] = 0;
        for (size_t i = i0; i < i1; i++) {
            const float *restrict ar = a + i * c, *restrict br = b ? b + i * c : NULL;
            if (!br) {
#pragma omp simd
                for (int k = 0; k < c; k++) {
                    float v = ar[k] - shift[k];
                    f1[k] += v;
                    f2[k] += v * v;
                }
                continue;
            }
            const float *g = ar;
            if (o.act == ACT_RELU) { // a select, which vectorizes where a branch on the data would not
#pragma omp simd
                for (int k = 0; k < c; k++) gb[k] = br[k] * sc[k] + bias[k] > 0.0f ? ar[k] : 0.0f;
                g = gb;
            } else if (o.act != ACT_NONE) {
                for (int k = 0; k < c; k++) gb[k] = ar[k] * act_df(o.act, br[k] * sc[k] + bias[k]);
                g = gb;
            }
#pragma omp simd
            for (int k = 0; k < c; k++) {
                f1[k] += g[k];
                f2[k] += g[k] * (br[k] - center[k]);
            }
        }
#pragma omp simd
        for (int k = 0; k < c; k++) {
            p1[k] += f1[k];
            p2[k] += f2[k];
        }
    }
    free(f1);
}

static void channel_sums(const float *a, const float *b, SumArgs o, size_t m, int c, double *s1, double *s2)
{
    for (int k = 0; k < c; k++) s1[k] = s2[k] = 0;
    int nt = omp_get_max_threads();
    double *part = xcalloc((size_t)2 * c * nt, sizeof(double));
    // the register version: 16..64 channels, and no activation or ReLU in the gradient
    int nv = c % 16 == 0 && c <= 64 && (!b || o.act == ACT_NONE || o.act == ACT_RELU) ? c / 16 : 0;
#pragma omp parallel
    {
        int t = omp_get_thread_num(), n_t = omp_get_num_threads();
        size_t lo = m * t / n_t, hi = m * (t + 1) / n_t; // this thread's rows: fixed by the count
        double *restrict p1 = part + (size_t)2 * c * t, *restrict p2 = p1 + c;
        switch (nv) {
        case 1: sums_v16(a, b, o, lo, hi, p1, p2, 1); break;
        case 2: sums_v16(a, b, o, lo, hi, p1, p2, 2); break;
        case 3: sums_v16(a, b, o, lo, hi, p1, p2, 3); break;
        case 4: sums_v16(a, b, o, lo, hi, p1, p2, 4); break;
        default: sums_rows(a, b, o, lo, hi, c, p1, p2);
        }
    }
    for (int t = 0; t < nt; t++) // a fixed order: the same sums for the same thread count
        for (int k = 0; k < c; k++) {
            s1[k] += part[(size_t)2 * c * t + k];
            s2[k] += part[(size_t)2 * c * t + c + k];
        }
    free(part);
}

static void forward_own(Dev *d, BatchNorm op, float *y, float *mean, float *rstd, float *run_mean,
                        float *run_var, const float *x, const float *gamma, const float *beta)
{
    int c = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    float *scale = cpu_scratch(d, 3, (size_t)2 * c), *shift = scale + c;
    if (op.train) {
        // one pass: sums shifted by the first row (close to the mean: no cancellation to speak of)
        double *s = xcalloc((size_t)2 * c, sizeof(double)), *ss = s + c;
        channel_sums(x, NULL, (SumArgs){.shift = x}, m, c, s, ss);
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
    ActKind act = op.act;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m; i++) {
        if (act == ACT_NONE)
#pragma omp simd
            for (int k = 0; k < c; k++) y[i * c + k] = x[i * c + k] * scale[k] + shift[k];
        else if (act == ACT_RELU)
#pragma omp simd
            for (int k = 0; k < c; k++) {
                float z = x[i * c + k] * scale[k] + shift[k];
                y[i * c + k] = z > 0.0f ? z : 0.0f; // fmaxf would be a libm call: no vectors
            }
        else
            for (int k = 0; k < c; k++) y[i * c + k] = act_f(act, x[i * c + k] * scale[k] + shift[k]);
    }
}

// z = x*scale + shift as forward computed it: the fused activation's input
static void backward_own(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                         const float *dy, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *rstd, bool w)
{
    int c = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    float *a = cpu_scratch(d, 3, (size_t)5 * c), *b = a + c, *e = a + 2 * c, *sc = a + 3 * c, *sh = a + 4 * c;
    for (int k = 0; k < c; k++) {
        sc[k] = gamma[k] * rstd[k];
        sh[k] = op.act ? beta[k] - mean[k] * sc[k] : 0;
    }
    double *sdy = xcalloc((size_t)2 * c, sizeof(double)), *sdyx = sdy + c; // sum dz, sum dz*(x-mean)
    channel_sums(dy, x, (SumArgs){.center = mean, .scale = sc, .bias = sh, .act = op.act}, m, c, sdy, sdyx);
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
    ActKind act = op.act;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m; i++) {
        const float *xr = x + i * c, *dr = dy + i * c;
        float *o = dx + i * c;
        if (act == ACT_NONE)
#pragma omp simd
            for (int k = 0; k < c; k++) o[k] = (w ? 0.0f : o[k]) + a[k] * (dr[k] - b[k] - (xr[k] - mean[k]) * e[k]);
        else if (act == ACT_RELU)
#pragma omp simd
            for (int k = 0; k < c; k++) {
                float g = xr[k] * sc[k] + sh[k] > 0.0f ? dr[k] : 0.0f;
                o[k] = (w ? 0.0f : o[k]) + a[k] * (g - b[k] - (xr[k] - mean[k]) * e[k]);
            }
        else
            for (int k = 0; k < c; k++) {
                float g = dr[k] * act_df(act, xr[k] * sc[k] + sh[k]);
                o[k] = (w ? 0.0f : o[k]) + a[k] * (g - b[k] - (xr[k] - mean[k]) * e[k]);
            }
    }
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
static void backward_frozen(BatchNorm op, float *dx, float *dgamma, float *dbeta, const float *dy,
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
    for (int k = 0; k < c; k++) {
        double sg = 0, sb = 0;
#pragma omp parallel for reduction(+ : sg, sb) schedule(static)
        for (size_t i = 0; i < m; i++) {
            sg += (double)dy[i * c + k] * (x[i * c + k] - mean[k]) * rstd[k];
            sb += dy[i * c + k];
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
    if (!op.train) backward_frozen(op, dx, dgamma, dbeta, dz, x, gamma, mean, rstd, w);
    else backward_dnnl(d, op, dx, dgamma, dbeta, dz, x, gamma, mean, rstd, w);
}
