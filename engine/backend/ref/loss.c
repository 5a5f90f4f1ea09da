/* engine/backend/ref/loss.c — the oracle losses: softmax cross-entropy (hard labels with
 * smoothing, or probability targets), softmax at a temperature, and KL distillation.
 * The row math (log-sum-exp shifted by the row maximum, targets, KL rows) is op_math.h's,
 * shared with every backend; here it runs row after row.
 */
#include "../op_math.h"
#include "ref.h"

// labels are checked here, on the host, with a message; the math is op_math.h's
static void check_labels(Xent op, const int *labels)
{
    for (int i = 0; labels && i < op.n; i++)
        CHECK(labels[i] >= 0 && labels[i] < op.k, "xent on ref: label %d of sample %d outside [0,%d)",
              labels[i], i, op.k);
}

void ref_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                      const int *labels, const float *targets)
{
    check_labels(op, labels);
    for (int i = 0; i < op.n; i++) loss[i] = (float)xent_row(op, logits, labels, targets, prob, i);
}

void ref_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss, const float *prob,
                       const int *labels, const float *targets, GradSet set)
{
    check_labels(op, labels);
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            dlogits[a] += (float)(dloss[i] * (prob[a] - xent_target(op, labels, targets, i, j)));
        }
}

void ref_softmax_forward(Dev *d, Softmax op, float *y, const float *x)
{
    for (int i = 0; i < op.n; i++) loss_row_lse(x + (size_t)i * op.k, op.k, op.t, y + (size_t)i * op.k);
}

void ref_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s, const float *q)
{
    for (int i = 0; i < op.n; i++) loss[i] = (float)kldiv_row(op, s, q, p, i);
}

void ref_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                        const float *q, GradSet set)
{
    for (int i = 0; i < op.n; i++)
        for (int j = 0; j < op.k; j++) {
            size_t a = (size_t)i * op.k + j;
            ds[a] += (float)((double)dloss[i] * op.t * ((double)p[a] - q[a]));
        }
}
