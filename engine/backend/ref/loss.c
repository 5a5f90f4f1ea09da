/* engine/backend/ref/loss.c — the oracle losses: softmax cross-entropy (hard labels with
 * smoothing, or probability targets), softmax at a temperature, and KL distillation.
 * Every row is shifted by its maximum before exp (no overflow); sums in double.
 */
#include <math.h> // exp, log

#include "ref.h"

// p = softmax(x / t) of one row of k values
static void softmax_row(float *p, const float *x, int k, float t)
{
    double mx = x[0] / t, s = 0;
    for (int j = 1; j < k; j++) mx = MAX(mx, x[j] / t);
    for (int j = 0; j < k; j++) s += exp(x[j] / t - mx);
    for (int j = 0; j < k; j++) p[j] = (float)(exp(x[j] / t - mx) / s);
}

// target probability of class j for row i: a smoothed one-hot label, or the given row
static double target(Xent op, const int *labels, const float *targets, int i, int j)
{
    if (targets) return targets[(size_t)i * op.k + j];
    CHECK(labels[i] >= 0 && labels[i] < op.k, "xent on ref: label %d of sample %d outside [0,%d)",
          labels[i], i, op.k);
    return (1.0 - op.smoothing) * (labels[i] == j) + op.smoothing / op.k;
}

void ref_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                      const int *labels, const float *targets)
{
    for (int i = 0; i < op.n; i++) {
        const float *z = logits + (size_t)i * op.k;
        double mx = z[0], s = 0, l = 0;
        for (int j = 1; j < op.k; j++) mx = MAX(mx, z[j]);
        for (int j = 0; j < op.k; j++) s += exp(z[j] - mx);
        double lse = mx + log(s);
        for (int j = 0; j < op.k; j++) l -= target(op, labels, targets, i, j) * (z[j] - lse);
        loss[i] = (float)l;
        for (int j = 0; j < op.k; j++) prob[(size_t)i * op.k + j] = (float)exp(z[j] - lse);
    }
}

void ref_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss, const float *prob,
                       const int *labels, const float *targets)
{
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            dlogits[a] += (float)(dloss[i] * (prob[a] - target(op, labels, targets, i, j)));
        }
}

void ref_softmax_forward(Dev *d, Softmax op, float *y, const float *x)
{
    for (int i = 0; i < op.n; i++) softmax_row(y + (size_t)i * op.k, x + (size_t)i * op.k, op.k, op.t);
}

void ref_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s, const float *q)
{
    for (int i = 0; i < op.n; i++) {
        const float *z = s + (size_t)i * op.k, *qi = q + (size_t)i * op.k;
        double mx = z[0] / op.t, sum = 0, l = 0;
        for (int j = 1; j < op.k; j++) mx = MAX(mx, z[j] / op.t);
        for (int j = 0; j < op.k; j++) sum += exp(z[j] / op.t - mx);
        double lse = mx + log(sum);
        for (int j = 0; j < op.k; j++) {
            double logp = z[j] / op.t - lse;
            if (qi[j] > 0) l += qi[j] * (log(qi[j]) - logp); // 0 log 0 = 0
            p[(size_t)i * op.k + j] = (float)exp(logp);
        }
        loss[i] = (float)(l * op.t * op.t);
    }
}

void ref_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                        const float *q)
{
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            ds[a] += (float)((double)dloss[i] * op.t * ((double)p[a] - q[a]));
        }
}
