/* engine/train/schedule.h — learning-rate schedules: the rate at a fractional epoch.
 *
 * One function of (schedule, epoch) serves per-step and per-epoch stepping alike: the trainer
 * passes epoch + step / steps_per_epoch, and a per-epoch schedule floors it (timm steps per epoch
 * unless --sched-on-updates; the TF recipes are functions of the global step). Phases, in order:
 *   warm-up    epoch < warmup_epochs: linear from warmup_lr to lr_peak (timm's warmup_lr_init;
 *              the TF recipes start at 0)
 *   cool-down  epoch >= epochs - cooldown_epochs: lr_final (timm's cooldown_epochs at min_lr)
 *   decay      cosine  lr_final + (lr_peak - lr_final)(1 + cos(pi x))/2, x running 0 -> 1 over the
 *                      epochs between warm-up and cool-down (timm's CosineLRScheduler with
 *                      warmup_prefix=True, t_initial = those epochs, lr_min = lr_final)
 *              step    lr_peak * gamma^(milestones passed) (torch's MultiStepLR)
 *              exp_staircase  lr_peak * gamma^floor(epoch / decay_epochs), counted from epoch 0,
 *                      warm-up included (EfficientNetV2's WarmupLearningRateSchedule: TF's
 *                      ExponentialDecay(staircase=True) at the global step; timm's StepLRScheduler
 *                      with its default warmup_prefix=False)
 *              constant  lr_peak
 *              step and exp_staircase never go below lr_final (EfficientNetV2's minimal_lr).
 * Learning rates may be given for a batch of lr_batch images (ResNet-RS: 0.1 per 256; EfficientNetV2:
 * 0.016 per 256; timm's lr_base at lr_base_size): sched_for_batch scales every rate of the schedule
 * by batch / lr_batch (linear scaling, as all three do), or with lr_sqrt by sqrt(batch / lr_batch):
 * timm's train.py rule when --lr is not given and --lr-base-scale is empty, for every optimizer
 * whose name holds "ada" or "lamb" (`batch_ratio ** 0.5`), which the MobileNetV4 / ra4 recipes
 * (AdamW, lr_base 0.002 at lr_base_size 4096) rely on.
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include <stdbool.h>

typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_STEP, SCHED_EXP_STAIRCASE } SchedKind;

typedef struct {
    SchedKind kind;
    float     lr_peak, lr_final;     // cosine ends at lr_final; step and exp_staircase stop there
    float     warmup_lr;             // linear warm-up starts here ...
    double    warmup_epochs;         // ... and reaches lr_peak after this many epochs
    double    cooldown_epochs;       // the last epochs, held at lr_final
    double    epochs;                // the schedule's length
    double    milestones[8];         // step: lr *= gamma at each of these epochs
    int       n_milestones;
    float     gamma;                 // step, exp_staircase: the factor at each decay
    double    decay_epochs;          // exp_staircase: epochs between decays (2.4 in EfficientNetV2)
    int       lr_batch;              // 0: rates as given; else they are for a batch of this size
    bool      lr_sqrt;               // ... scaled by sqrt(batch / lr_batch) instead (timm, Adam/LAMB)
    bool      per_step;              // sample at fractional epochs (true) or at epoch starts
} Schedule;

// learning rate at `epoch` (fractional: epoch + step / steps_per_epoch)
float    sched_lr(const Schedule *s, double epoch);
// the schedule with every rate scaled by batch / s->lr_batch, or its square root with lr_sqrt
// (unchanged when lr_batch is 0)
Schedule sched_for_batch(const Schedule *s, int batch);

#endif
