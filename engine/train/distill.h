/* engine/train/distill.h — knowledge distillation: frozen teachers, their soft targets, the loss.
 *
 * Three ways a student learns, chosen by the recipe's [distill] keys (run/recipe.c):
 *   hard labels only   no teachers, no soft labels: the trainer's cross-entropy (train.c)
 *   KD                 teachers (or their stored logits); per sample
 *                        loss = ce_weight * CE_smooth(z, y) + kd_weight * tau^2 KL(q || softmax(z/tau))
 *                        q = mean over teachers t of softmax(z_t / tau)   (the ensemble target)
 *                      Hinton et al. 2015 weigh (1 - alpha) CE + alpha tau^2 KL: ce_weight = 1 - alpha,
 *                      kd_weight = alpha (timm's LogitDistillationTask "complementary mode" too).
 *                      GhostNetV3's train.py (huawei-noah/Efficient-AI-Backbones) adds them with
 *                      weights 1 and 1 at tau = 1 (--ori-loss-weight, --kd-loss-weight; its
 *                      --temperature is parsed but unused), the CE with timm's label smoothing 0.1.
 *   MEAL V2            (szq0214/MEAL-V2) kd_weight 1, ce_weight 0 (no hard labels at all), tau 1,
 *                      q = the mean of the teachers' softmax (teacher_wrapper.py, combine=True),
 *                      plus the discriminator of discriminator.h on the logits: loss += L_D, one
 *                      backward into the student and the discriminator, one SGD step over both.
 * KL against CE: MEAL V2 and GhostNetV3 write the soft term as -sum q log softmax(z) (kd_loss.py's
 * KLLoss); that is tau^2 KL at tau = 1 plus the entropy of q, a constant of the teachers: the
 * gradients are the same, the logged loss is lower by H(q).
 * Teachers: any registered model (models.h) with the student's classes and input channels, its
 * weights from a safetensors file (a timm state dict or one of our checkpoints: io/weights.h), run
 * in eval mode (BN on running statistics, no dropout, no gradients, nothing updated) on the very
 * batch the student sees, augmentation included.
 * Stored soft labels: distill.soft_labels names a .npy float32 file of the teachers' logits per
 * training sample, (T, N, K) (or (N, K): one teacher). When it exists it replaces the teachers
 * (no teacher compute during training); when it does not and teachers are given, the trainer
 * computes it once from them on the un-augmented training images (the eval pipeline: normalized,
 * resized to model.res) and writes it. Those logits are of the plain image, not of the step's
 * augmented view (MEAL V2's FKD variant stores per-crop labels with the crop; this does not), and
 * the file is a cache keyed by its path alone: delete it when the teachers change.
 * Memory: the step's glue (averaging T rows, the loss rows) goes through host staging with
 * dev_download/dev_upload; the math (softmax at tau, KL, cross-entropy, the discriminator's
 * linear layers) is the op table's.
 */
#ifndef DISTILL_H
#define DISTILL_H

#include <stdio.h> // FILE

#include "../data/augment.h"
#include "../data/dataset.h"
#include "../data/loader.h"
#include "../models/models.h" // ModelKnobs: the teachers'
#include "optim.h"

enum { DISTILL_MAX_TEACHERS = 8 };

// the recipe's [distill] section
typedef struct {
    char  teachers[1024];   // "name:file.safetensors, name:file ..."; "" = none
    char  soft_labels[512]; // the teachers' logits per training sample (.npy); "" = teachers online
    float tau;              // temperature of the soft term (1: MEAL V2, GhostNetV3)
    float kd_weight;        // weight of tau^2 KL(q || softmax(z/tau)), > 0 when distilling
    float ce_weight;        // weight of the hard-label cross-entropy (0: no hard labels, MEAL V2)
    bool  discriminator;    // MEAL V2's discriminator on the logits (discriminator.h)
    int   disc_reduction;   // its K: hidden widths classes/K and classes/K^2 (MEAL V2: 8)
    // not recipe keys: the teachers' model knobs (width, depth, ...) as the run that trained each
    // one had them, read from its checkpoint's stored recipe before training (run/run.h); a
    // teacher without (a timm state dict) is its model as named
    ModelKnobs knobs[DISTILL_MAX_TEACHERS];
    bool       has_knobs[DISTILL_MAX_TEACHERS];
} DistillArgs;

// whether the recipe distills (teachers or soft labels given)
bool distill_on(const DistillArgs *a);
// what the recipe alone can check: every teacher spec "name:file" names a registered model, the
// weights agree with distillation being on or off, the discriminator's widths are >= 1 for
// `classes`. 0, or ERR_FORMAT with one line naming the key and value. With `missing` not NULL a
// teacher that is not a registered model is no error but a line on it (`repro recipe --check`:
// a paper recipe may name teachers this build does not have yet, e.g. MEAL V2's senet154)
int  distill_check(const DistillArgs *a, int classes, FILE *missing);

// the teachers' model names of distill.teachers (and their files, when files is not NULL), in
// order (at most max); their count, or ERR_FORMAT (said) when the spec is malformed
int  distill_teacher_names(const DistillArgs *a, char (*names)[64], char (*files)[512], int max);

typedef struct Distill Distill; // teachers, stored logits, the discriminator, step buffers

// what a run gives the distiller
typedef struct {
    Dev           *dev;
    int            classes, in_chans, res; // the student's (teachers are built alike)
    int            batch;                  // the training batch (a step has at most this many)
    int            epoch_len;              // samples per epoch (the loader's: repeated augmentation
                                           // makes it differ from train->n), for the last batch
    const Dataset *train;                  // the training split (its n: stored-logit rows)
    const AugArgs *aug;                    // normalization for computing stored logits
    uint64_t       seed;                   // the run's: the epoch order, the discriminator's init
    int            n_slots;                // optimizer slots of the discriminator's table
} DistillEnv;

// builds and loads the teachers (or reads the stored logits, computing and writing them first
// when the file is absent), and the discriminator when asked for; prints one summary line.
// 0, or ERR_* with one line naming the key, file or value
int     distill_open(Distill **out, const DistillArgs *a, const DistillEnv *env);
// one training step's loss on batch b (b->n samples of step b->step of epoch b->epoch, images
// b->x on the host): the teachers' logits of the batch (online, or the stored rows of its sample
// indices), the loss above, and its gradient: dz (b->n, K) is WRITTEN with d(mean loss)/dz,
// the discriminator's gradients replace its table's. z: the student's logits (b->n, K).
// Returns the summed per-sample loss, the discriminator's L_D counted once per sample, so that
// sum / n is the batch's objective
double  distill_step(Distill *ds, const Batch *b, const float *z, const int *labels, float smoothing,
                     float *dz);
// the discriminator's optimizer step (the student's hyper-parameters and learning rate, as MEAL
// V2's train.py ends up using: its _set_learning_rate overwrites --d_lr in every param group)
void    distill_optim_step(Distill *ds, const Optim *o, long t);
// the table a checkpoint saves beside the model's (the discriminator's, entries named
// "distill.disc.*"), or NULL; ds may be NULL
Params *distill_aux_params(Distill *ds);
void    distill_close(Distill *ds);

// ---- the losses alone, on device buffers (distill_step's parts; tests/test_distill.c) ---------
// the ensemble target of T teachers' logits zt (T, n, K) (host memory): q (n, K) = mean_t
// softmax(zt_t / tau) and, when zbar is not NULL, zbar (n, K) = mean_t zt_t (MEAL V2's teacher
// input to the discriminator). q, zbar, s: device buffers of n*K floats (s: scratch)
void    distill_ensemble(Dev *d, int T, int n, int k, float tau, const float *zt, float *q, float *zbar,
                         float *s);

// the KD loss's weights and buffers for batches of up to `rows` samples of K classes
typedef struct {
    float  tau, kd_weight, ce_weight, smoothing;
    int    rows, k;
    float *p_tau, *prob;  // (rows, K) device: softmax(z/tau), softmax(z) (saved for backward)
    float *kd, *ce, *dl;  // (rows) device: per-sample terms, the backward's dloss
    float *host;          // (rows) host staging
} KdLoss;
void    kd_loss_init(KdLoss *l, Dev *d, int rows, int k);
void    kd_loss_free(KdLoss *l, Dev *d);
// loss[i] = ce_weight CE_smooth(z_i, y_i) + kd_weight tau^2 KL(q_i || softmax(z_i / tau)) for
// z (n, K), labels (n) (device; unread when ce_weight is 0), q (n, K); dz (n, K) is WRITTEN with
// d(mean_i loss[i])/dz. Returns sum_i loss[i]
double  kd_loss(KdLoss *l, Dev *d, int n, const float *z, const int *labels, const float *q, float *dz);

#endif
