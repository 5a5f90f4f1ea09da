/* engine/backend/ref/batchnorm.c — the oracle batch norm over (N,H,W) per channel, in double.
 *
 * train: mean and biased variance of the batch normalize; the running stats move by momentum
 *        toward the batch mean and the UNBIASED batch variance (PyTorch and cuDNN convention).
 * eval:  the running stats normalize. Either way forward saves what it used as (mean, rstd).
 * backward, train: the full gradient through the batch statistics,
 *   dx = gamma*rstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)),  M = N*H*W
 * backward, eval: the statistics are constants: dx = dy*gamma*rstd.
 */
#include <math.h> // sqrt

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
            y[i * c_n + c] = (float)((x[i * c_n + c] - mu) * r * gamma[c] + beta[c]);
    }
}

void ref_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma,
                            const float *mean, const float *rstd)
{
    int c_n = op.x.c;
    size_t m = (size_t)op.x.n * op.x.h * op.x.w;
    for (int c = 0; c < c_n; c++) {
        double sdy = 0, sdyx = 0; // sum dy, sum dy*xhat
        for (size_t i = 0; i < m; i++) {
            double xhat = (x[i * c_n + c] - (double)mean[c]) * rstd[c];
            sdy += dy[i * c_n + c];
            sdyx += dy[i * c_n + c] * xhat;
        }
        if (dgamma) dgamma[c] += (float)sdyx;
        if (dbeta) dbeta[c] += (float)sdy;
        if (!dx) continue;
        double k = (double)gamma[c] * rstd[c];
        for (size_t i = 0; i < m; i++) {
            double g = dy[i * c_n + c];
            if (op.train) {
                double xhat = (x[i * c_n + c] - (double)mean[c]) * rstd[c];
                g = g - sdy / m - xhat * sdyx / m;
            }
            dx[i * c_n + c] += (float)(k * g);
        }
    }
}
