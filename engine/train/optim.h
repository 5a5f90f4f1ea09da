/* engine/train/optim.h — optimizers and learning-rate schedules, as loops over the parameter
 * table (never over layers).
 *
 * SGD follows torch.optim.SGD exactly: d = g + wd*w (weight decay only on entries with decay
 * set: BN and biases are excluded, as the recipes do), buf = momentum*buf + d (buf starts at 0,
 * which equals PyTorch's first-step copy), step = nesterov ? d + momentum*buf : buf, w -= lr*step.
 * The momentum buffer is the table's optimizer slot 0. Schedules return the learning rate at a
 * fractional epoch, so per-step and per-epoch stepping are the same function sampled differently.
 */
#ifndef OPTIM_H
#define OPTIM_H

#include "../core/params.h"

typedef struct {
    float lr, momentum, weight_decay;
    bool  nesterov;
    bool  decay_all; // weight decay on every entry, BN and biases too (torch.optim.SGD over
                     // model.parameters(), as the Random Erasing code does)
} Sgd;

// one SGD step over every trainable entry; params on host memory (ref, cpu backends)
void sgd_step(Params *p, Sgd o);
// global L2 norm of the gradients (trainable entries), and scaling them to max_norm when above
double grad_norm(const Params *p);
void   grad_clip(Params *p, double max_norm);

// ---- EMA of the weights ------------------------------------------------------------------------
// After every optimizer step, ema = d*ema + (1-d)*w over every entry of the table, BN running
// statistics included (timm's ModelEmaV3 averages parameters and buffers; TF's
// ExponentialMovingAverage in ResNet-RS and EfficientNetV2 covers BN's moving mean/var). The
// average starts as a copy of the initial weights. Decay warm-up, t = the update's number
// (1 at the first update after the first optimizer step):
//   EMA_WARMUP_NONE  d = decay
//   EMA_WARMUP_TIMM  d = clamp(1 - (1 + (t-1))^(-2/3), 0, decay), 0 at t = 1 (ModelEmaV3
//                    use_warmup, warmup_gamma 1, warmup_power 2/3, as timm's train.py calls it)
//   EMA_WARMUP_TF    d = min(decay, (1 + t) / (10 + t))  (num_updates = global_step)
typedef enum { EMA_WARMUP_NONE, EMA_WARMUP_TIMM, EMA_WARMUP_TF } EmaWarmup;
typedef struct { float decay; EmaWarmup warmup; } Ema; // decay 0: no EMA

double ema_decay(Ema e, long t);
void   ema_init(Params *p);                 // ema = w (params_alloc with ema = true)
void   ema_update(Params *p, double decay);
void   ema_swap(Params *p);                 // exchange the weights and their average (evaluate it)

typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_STEP } SchedKind;

typedef struct {
    SchedKind kind;
    float     lr_peak, lr_final;     // cosine ends at lr_final
    float     warmup_lr;             // linear warm-up starts here ...
    double    warmup_epochs;         // ... and reaches lr_peak after this many epochs
    double    epochs;                // the schedule's length
    double    milestones[8];         // step: lr *= gamma at each of these epochs
    int       n_milestones;
    float     gamma;
    bool      per_step;              // sample at fractional epochs (true) or at epoch starts
} Schedule;

// learning rate at `epoch` (fractional: epoch + step / steps_per_epoch). Warm-up comes first;
// cosine then runs from lr_peak to lr_final over the epochs after the warm-up (timm's
// warmup_prefix=True form); step multiplies lr_peak by gamma at every milestone passed.
float sched_lr(const Schedule *s, double epoch);

#endif
