/* engine/backend/ref/batchnorm.c — the oracle batch norm over (N,H,W) per channel, in double.
 *
 * train: mean and biased variance of the batch normalize; the running stats move by momentum
 *        toward the batch mean and the UNBIASED batch variance (PyTorch and cuDNN convention).
 * eval:  the running stats normalize. Either way forward saves what it used as (mean, rstd).
 * backward, train: the full gradient through the batch statistics,
 *   dx = gamma*rstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)),  M = N*H*W
 * backward, eval: the statistics are constants: dx = dy*gamma*rstd.
 * With an activation (op.act), forward applies it to z = xhat*gamma + beta, and backward first
 * turns dy into dz = dy*act'(z), z recomputed from x; then the formulas above with dz.
 */
#include <math.h> // sqrt

#include "../op_math.h"
#include "ref.h"

void ref_batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd,
                           float *run_mean, float *run_var, const float *x, const float *gamma,
                           const float *beta)
{
    int c_n = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w; // values per channel
    for (int c = 0; c < c_n; c++) {
        double mu, var;
        if (op.train) {
            double s = 0, ss = 0;
            for (size_t i = 0; i < m; i++) s += x[i * c_n + c];
            mu = s / m;
            for (size_t i = 0; i < m; i++) {
                double t = x[i * c_n + c] - mu;
                ss += t * t;
            }
            var = ss / m;
            if (run_mean) run_mean[c] = (float)((1.0 - op.momentum) * run_mean[c] + op.momentum * mu);
            if (run_var)
                run_var[c] = (float)((1.0 - op.momentum) * run_var[c] +
                                     op.momentum * (ss / (double)(m - 1)));
        } else {
            mu = run_mean[c];
            var = run_var[c];
        }
        double r = 1.0 / sqrt(var + op.eps);
        if (mean) mean[c] = (float)mu;
        if (rstd) rstd[c] = (float)r;
        for (size_t i = 0; i < m; i++)
            y[i * c_n + c] = act_f(op.act, (float)((x[i * c_n + c] - mu) * r * gamma[c] + beta[c]));
    }
}

// the gradient reaching z: dy, or dy * act'(z) with z as forward computed it (float)
static double dz_at(BatchNorm op, const float *dy, const float *x, const float *gamma, const float *beta,
                    const float *mean, const float *rstd, size_t i, int c)
{
    size_t j = i * op.x.c + c;
    if (op.act == ACT_NONE) return dy[j];
    float z = (float)((x[j] - (double)mean[c]) * rstd[c] * gamma[c] + beta[c]);
    return (double)dy[j] * act_df(op.act, z);
}

void ref_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma, const float *beta,
                            const float *mean, const float *rstd, GradSet set)
{
    int c_n = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    for (int c = 0; c < c_n; c++) {
        double sdy = 0, sdyx = 0; // sum dz, sum dz*xhat
        for (size_t i = 0; i < m; i++) {
            double xhat = (x[i * c_n + c] - (double)mean[c]) * rstd[c];
            double g = dz_at(op, dy, x, gamma, beta, mean, rstd, i, c);
            sdy += g;
            sdyx += g * xhat;
        }
        if (dgamma) dgamma[c] += (float)sdyx;
        if (dbeta) dbeta[c] += (float)sdy;
        if (!dx) continue;
        double k = (double)gamma[c] * rstd[c];
        for (size_t i = 0; i < m; i++) {
            double g = dz_at(op, dy, x, gamma, beta, mean, rstd, i, c);
            if (op.train) {
                double xhat = (x[i * c_n + c] - (double)mean[c]) * rstd[c];
                g = g - sdy / m - xhat * sdyx / m;
            }
            dx[i * c_n + c] += (float)(k * g);
        }
    }
}
