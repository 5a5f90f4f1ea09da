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

typedef struct { float lr, momentum, weight_decay; bool nesterov; } Sgd;

// one SGD step over every trainable entry; params on host memory (ref, cpu backends)
void sgd_step(Params *p, Sgd o);
// global L2 norm of the gradients (trainable entries), and scaling them to max_norm when above
double grad_norm(const Params *p);
void   grad_clip(Params *p, double max_norm);

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
