/* engine/backend/cpu/batchnorm.c — batch norm on oneDNN (training and inference forward,
 * training backward), running statistics and the frozen-statistics backward in OpenMP loops.
 *
 * oneDNN computes and consumes (mean, biased variance); our contract saves (mean, rstd), so
 * forward converts rstd = 1/sqrt(var + eps) and backward converts back var = 1/rstd^2 - eps
 * (C values each). Running statistics use the unbiased variance (PyTorch's convention).
 */
#include <math.h> // sqrtf

#include "cpu.h"

static const unsigned FLAGS = dnnl_use_scale | dnnl_use_shift;

void cpu_batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd,
                           float *run_mean, float *run_var, const float *x, const float *gamma,
                           const float *beta)
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
                            const float *x, const float *gamma, const float *mean, const float *rstd)
{
    int c = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    if (dx) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < m; i++)
            for (int k = 0; k < c; k++) dx[i * c + k] += dy[i * c + k] * gamma[k] * rstd[k];
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

void cpu_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma,
                            const float *mean, const float *rstd)
{
    if (!op.train) {
        backward_frozen(op, dx, dgamma, dbeta, dy, x, gamma, mean, rstd);
        return;
    }
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
    cpu_bind(p, 2, tdx);
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
    if (dx) cpu_accumulate(dx, tdx, n);
    for (int k = 0; k < c; k++) {
        if (dgamma) dgamma[k] += tg[k];
        if (dbeta) dbeta[k] += tb[k];
    }
}
