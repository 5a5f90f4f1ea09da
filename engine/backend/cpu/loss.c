/* engine/backend/cpu/loss.c — softmax cross-entropy, softmax at a temperature and KL
 * distillation: rows in parallel, each with op_math.h's row functions (as ref and cuda).
 */
#include "../op_math.h"
#include "cpu.h"

void cpu_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                      const int *labels, const float *targets)
{
    for (int i = 0; labels && i < op.n; i++)
        CHECK(labels[i] >= 0 && labels[i] < op.k, "xent_forward on cpu: label %d of sample %d "
              "outside [0,%d)", labels[i], i, op.k);
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++) {
        loss[i] = (float)xent_row(op, logits, labels, targets, prob, i);
    }
}

void cpu_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss, const float *prob,
                       const int *labels, const float *targets, GradSet set)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            dlogits[a] += (float)(dloss[i] * (prob[a] - xent_target(op, labels, targets, i, j)));
        }
}

void cpu_softmax_forward(Dev *d, Softmax op, float *y, const float *x)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++) loss_row_lse(x + (size_t)i * op.k, op.k, op.t, y + (size_t)i * op.k);
}

void cpu_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s, const float *q)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++) loss[i] = (float)kldiv_row(op, s, q, p, i);
}

void cpu_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                        const float *q, GradSet set)
{
#pragma omp parallel for schedule(static) if (op.n > 256)
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            ds[a] += (float)((double)dloss[i] * op.t * ((double)p[a] - q[a]));
        }
}
