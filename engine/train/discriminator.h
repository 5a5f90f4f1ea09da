/* engine/train/discriminator.h — MEAL V2's discriminator on the logits, and its loss.
 *
 * As szq0214/MEAL-V2 builds it (models/discriminator.py, Discriminator(outputs_size=1000, K=8)
 * in train.py): three 1x1 convolutions with bias on the logit vector seen as a 1x1 image — that
 * is, linear layers — K -> K/R -> K/R^2 -> 2 (R = distill.disc_reduction, 8 there: 1000 -> 125 ->
 * 15 -> 2), a ReLU after EACH, the last included, and the two outputs read as logits by
 * BCEWithLogitsLoss (loss.py, discriminatorLoss): the student's logits z_S (target [1, 0]) and the
 * teachers' mean logits zbar_T (target [0, 1]) stacked along the batch,
 *   L_D = mean over the 2n rows and 2 outputs of BCE(relu(D(x))_j, target_j).
 * L_D is added to the student's KD loss and minimized by ONE backward and one SGD step over the
 * student and the discriminator alike (train.py; no min-max alternation, no gradient reversal:
 * MEAL-V2 issue #6): its gradient reaches the student through z_S, zbar_T has none.
 * Ops: linear and act (ReLU) forward/backward per layer, and BCE-with-logits as the softmax
 * cross-entropy of two classes: BCE(x, y) = xent([x, 0], [y, 1 - y]), since sigmoid(x) =
 * softmax([x, 0])_0. Each output becomes a row [x, 0] (chanpad adds the zero), so no new op.
 * The two halves run one after the other through the same buffers: a linear layer treats rows
 * independently, so this is the stacked batch's computation, and its parameter gradients add up.
 * Initialization: PyTorch's default for Conv2d, U(+-1/sqrt(fan_in)) for weights and biases
 * (graph.h's rule for linear layers), from the run seed under its own key.
 * Parameters live in a table of their own, "distill.disc.conv{1,2,3}.{weight,bias}" (weights
 * (OUT, IN)), which checkpoints save beside the model's (train/checkpoint.h).
 */
#ifndef DISCRIMINATOR_H
#define DISCRIMINATOR_H

#include "../core/params.h"

typedef struct {
    Params p;            // 6 entries: conv{1,2,3}.weight (OUT, IN) and .bias (OUT)
    int    w[4];         // widths: K, K/R, K/R^2, 2
    int    rows;         // the most rows a half may have (the training batch)
    int    par[3][2];    // table indices of each layer's weight and bias
    float *pre[3], *post[3], *dpre[3], *dpost[3]; // (rows, w[l+1]) device: per layer
    float *pad, *prob, *dpad, *bce, *dl;          // (2 rows, 2), (2 rows, 2), (2 rows, 2), (2 rows) x2
    float *target[2];    // (2 rows, 2): the BCE targets as two-class rows, student / teacher half
    float *host;         // (2 rows) host staging
} Disc;

// declares, allocates (n_slots optimizer slots) and initializes a discriminator for `classes`
// logits with reduction r (classes / r^2 >= 1, checked by distill_check) for halves of up to
// `rows` samples; 0 or ERR_NOMEM
int    disc_init(Disc *D, Dev *d, int classes, int r, int rows, int n_slots, uint64_t seed);
void   disc_free(Disc *D);
// L_D for the student's logits zs (n, K) and the teachers' mean logits zt (n, K), both device.
// Adds (+=) the gradients of L_D into the table's ROLE_GRAD (zero it before) and, when dzs is
// not NULL, into dzs (n, K). Returns L_D
double disc_loss(Disc *D, int n, const float *zs, const float *zt, float *dzs);

#endif
