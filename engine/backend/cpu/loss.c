/* engine/backend/cpu/loss.c — softmax cross-entropy, softmax at a temperature and KL
 * distillation: one row per iteration, rows in parallel, stable (shifted by the row maximum),
 * row sums in double as in ref.
 */
#include <math.h> // exp, log

#include "cpu.h"

// log-sum-exp of row z/t (k values), and p = softmax(z/t) when p is not NULL
static double row_lse(const float *z, int k, float t, float *p)
{
    double mx = z[0] / t, s = 0;
    for (int j = 1; j < k; j++) mx = MAX(mx, z[j] / t);
    for (int j = 0; j < k; j++) s += exp(z[j] / t - mx);
    double lse = mx + log(s);
    if (p)
        for (int j = 0; j < k; j++) p[j] = (float)exp(z[j] / t - lse);
    return lse;
}

static double target(Xent op, const int *labels, const float *targets, int i, int j)
{
    if (targets) return targets[(size_t)i * op.k + j];
    return (1.0 - op.smoothing) * (labels[i] == j) + op.smoothing / op.k;
}

void cpu_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                      const int *labels, const float *targets)
{
    for (int i = 0; labels && i < op.n; i++)
        CHECK(labels[i] >= 0 && labels[i] < op.k, "xent_forward on cpu: label %d of sample %d "
              "outside [0,%d)", labels[i], i, op.k);
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++) {
        const float *z = logits + (size_t)i * op.k;
        double lse = row_lse(z, op.k, 1.0f, prob + (size_t)i * op.k), l = 0;
        for (int j = 0; j < op.k; j++) l -= target(op, labels, targets, i, j) * (z[j] - lse);
        loss[i] = (float)l;
    }
}

void cpu_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss, const float *prob,
                       const int *labels, const float *targets)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            dlogits[a] += (float)(dloss[i] * (prob[a] - target(op, labels, targets, i, j)));
        }
}

void cpu_softmax_forward(Dev *d, Softmax op, float *y, const float *x)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++) row_lse(x + (size_t)i * op.k, op.k, op.t, y + (size_t)i * op.k);
}

void cpu_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s, const float *q)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++) {
        const float *z = s + (size_t)i * op.k, *qi = q + (size_t)i * op.k;
        double lse = row_lse(z, op.k, op.t, p + (size_t)i * op.k), l = 0;
        for (int j = 0; j < op.k; j++)
            if (qi[j] > 0) l += qi[j] * (log(qi[j]) - (z[j] / op.t - lse)); // 0 log 0 = 0
        loss[i] = (float)(l * op.t * op.t);
    }
}

void cpu_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                        const float *q)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            ds[a] += (float)((double)dloss[i] * op.t * ((double)p[a] - q[a]));
        }
}
