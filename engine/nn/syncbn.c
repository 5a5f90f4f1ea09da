/* engine/nn/syncbn.c — SyncBN on host memory (syncbn.h). */
#include "syncbn.h"

#include <math.h> // sqrt
#include <omp.h>  // omp_get_thread_num: channel blocks

#include "../backend/op_math.h" // act_f, act_df: the fused activation

// the calling thread's block of the c channels
static void channel_block(int c, int *c0, int *c1)
{
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    *c0 = (int)((long)c * id / nt);
    *c1 = (int)((long)c * (id + 1) / nt);
}

static void reduce(const BnSync *s, double *buf, size_t n)
{
    int rc = s->allreduce(s->user, buf, n);
    CHECK(rc == 0, "syncbn: the all-reduce of batch-norm statistics failed (%d)", rc);
}

void syncbn_forward(const BnSync *s, BatchNorm op, float *y, float *mean, float *rstd, float *run_mean,
                    float *run_var, const float *x, const float *gamma, const float *beta)
{
    CHECK(op.train, "syncbn_forward: training only (evaluation uses the running statistics)");
    int C = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    double *sum = xcalloc(2 * (size_t)C + 1, sizeof *sum), *sq = sum + C + 1; // sum[C]: the count
#pragma omp parallel
    {
        int c0, c1;
        channel_block(C, &c0, &c1);
        for (size_t i = 0; i < m; i++)
            for (int c = c0; c < c1; c++) sum[c] += x[i * C + c];
    }
    sum[C] = (double)m;
    reduce(s, sum, (size_t)C + 1);
    double count = sum[C];
    CHECK(count > 1, "syncbn_forward: %.0f value per channel over all ranks: training batch norm needs more "
          "(PyTorch refuses it too)", count);
    for (int c = 0; c < C; c++) sum[c] /= count; // the mean
#pragma omp parallel
    {
        int c0, c1;
        channel_block(C, &c0, &c1);
        for (size_t i = 0; i < m; i++)
            for (int c = c0; c < c1; c++) {
                double t = x[i * C + c] - sum[c];
                sq[c] += t * t;
            }
    }
    reduce(s, sq, (size_t)C);
    for (int c = 0; c < C; c++) {
        double mu = sum[c], r = 1.0 / sqrt(sq[c] / count + op.eps);
        if (run_mean) run_mean[c] = (float)((1.0 - op.momentum) * run_mean[c] + op.momentum * mu);
        if (run_var) run_var[c] = (float)((1.0 - op.momentum) * run_var[c] + op.momentum * (sq[c] / (count - 1)));
        mean[c] = (float)mu;
        rstd[c] = (float)r;
    }
    // z from the float statistics, as backward recomputes it: the activation's mask in forward and
    // backward come from the same z, and the ranks' double sums, which differ from one process's
    // in their last bits, almost never reach the float statistics
#pragma omp parallel
    {
        int c0, c1;
        channel_block(C, &c0, &c1);
        for (size_t i = 0; i < m; i++)
            for (int c = c0; c < c1; c++)
                y[i * C + c] = act_f(op.act, (float)((x[i * C + c] - (double)mean[c]) * rstd[c] * gamma[c] + beta[c]));
    }
    free(sum);
}

// the gradient reaching z = xhat*gamma + beta (the oracle's dz_at)
static inline double dz_at(BatchNorm op, float dy, float x, float gamma, float beta, float mean, float rstd)
{
    if (op.act == ACT_NONE) return dy;
    float z = (float)((x - (double)mean) * rstd * gamma + beta);
    return (double)dy * act_df(op.act, z);
}

typedef struct {
    BatchNorm op;
    const float *dy, *x, *gamma, *beta, *mean, *rstd;
    double *sdy, *sdyx; // per channel: sum dz, sum dz*xhat (the rank's, then the ranks')
    double count;       // the rows of every rank
} Back;

// one pass over the rows: dx NULL sums dz and dz*xhat into b->sdy, b->sdyx; else dx from the
// ranks' sums (written where set has SET_0, added otherwise)
static void back_pass(const Back *b, float *dx, GradSet set)
{
    int C = b->op.x.c;
    size_t m = (size_t)b->op.x.n * b->op.x.h * b->op.x.w;
#pragma omp parallel
    {
        int c0, c1;
        channel_block(C, &c0, &c1);
        for (size_t i = 0; i < m; i++)
            for (int c = c0; c < c1; c++) {
                size_t j = i * C + c;
                double xhat = (b->x[j] - (double)b->mean[c]) * b->rstd[c];
                double g = dz_at(b->op, b->dy[j], b->x[j], b->gamma[c], b->beta[c], b->mean[c], b->rstd[c]);
                if (!dx) {
                    b->sdy[c] += g;
                    b->sdyx[c] += g * xhat;
                    continue;
                }
                float v = (float)((double)b->gamma[c] * b->rstd[c] *
                                  (g - b->sdy[c] / b->count - xhat * b->sdyx[c] / b->count));
                dx[j] = (set & SET_0) ? v : dx[j] + v;
            }
    }
}

void syncbn_backward(const BnSync *s, BatchNorm op, float *dx, float *dgamma, float *dbeta, const float *dy,
                     const float *x, const float *gamma, const float *beta, const float *mean, const float *rstd,
                     GradSet set)
{
    CHECK(op.train, "syncbn_backward: training only");
    int C = op.x.c;
    double *sums = xcalloc(2 * (size_t)C + 1, sizeof *sums); // sum dz, sum dz*xhat, the count
    Back b = {op, dy, x, gamma, beta, mean, rstd, sums, sums + C, 0};
    back_pass(&b, NULL, 0);
    for (int c = 0; c < C; c++) { // the rank's own: the gradient all-reduce sums them over the ranks
        if (dgamma) dgamma[c] += (float)b.sdyx[c];
        if (dbeta) dbeta[c] += (float)b.sdy[c];
    }
    sums[2 * C] = (double)op.x.n * op.x.h * op.x.w;
    reduce(s, sums, 2 * (size_t)C + 1);
    b.count = sums[2 * C];
    if (dx) back_pass(&b, dx, set);
    free(sums);
}
