/* engine/nn/syncbn.h — training batch norm whose statistics span every rank's batch (SyncBN).
 *
 * Data-parallel training splits each batch over ranks (train/train.h); per-rank batch norm sees
 * only its share. SyncBN normalizes with the statistics of the whole batch, as PyTorch's
 * SyncBatchNorm: forward sums each channel over the rank's rows and all-reduces the sums through
 * the caller's function twice (sum and count -> the global mean; then the squared deviations from
 * it -> the biased variance: exact where a sum of squares cancels), normalizes with them, applies
 * the fused activation, and moves the running statistics by momentum toward the global mean and
 * the UNBIASED global variance. Backward all-reduces the per-channel sums of dz and dz*xhat for
 * dx; dgamma and dbeta take the rank's own sums, which the gradient all-reduce then adds up over
 * the ranks (PyTorch does the same). The formulas, the float/double points and the activation are
 * those of the oracle (backend/ref/batchnorm.c), so one rank's SyncBN equals the oracle's batch
 * norm; every rank gets the same sums (the all-reduce's bits) and hence the same statistics.
 * Host memory only (ref and cpu backends): the cuda backend's SyncBN is GPU-resident training's.
 * Threads take blocks of channels, each summed in row order: the same bits at any thread count.
 */
#ifndef SYNCBN_H
#define SYNCBN_H

#include "../backend/ops.h" // BatchNorm, GradSet

typedef struct {
    // buf[0..n) = its sum over the ranks, in place; 0 or an error (the step cannot go on)
    int  (*allreduce)(void *user, double *buf, size_t n);
    void *user;
} BnSync;

void syncbn_forward(const BnSync *s, BatchNorm op, float *y, float *mean, float *rstd, float *run_mean,
                    float *run_var, const float *x, const float *gamma, const float *beta);
void syncbn_backward(const BnSync *s, BatchNorm op, float *dx, float *dgamma, float *dbeta, const float *dy,
                     const float *x, const float *gamma, const float *beta, const float *mean, const float *rstd,
                     GradSet set);

#endif
