/* engine/train/schedule.c — learning-rate schedules (schedule.h). */
#include "schedule.h"

#include <math.h> // cos, floor, pow, sqrt, M_PI

// the decay phase: lr at `epoch`, past the warm-up and before the cool-down
static double decayed(const Schedule *s, double epoch)
{
    switch (s->kind) {
    case SCHED_COSINE: {
        double span = s->epochs - s->warmup_epochs - s->cooldown_epochs;
        double x = (epoch - s->warmup_epochs) / (span > 0 ? span : 1);
        if (x > 1) x = 1;
        return s->lr_final + 0.5 * (s->lr_peak - s->lr_final) * (1 + cos(M_PI * x));
    }
    case SCHED_STEP: {
        double lr = s->lr_peak;
        for (int i = 0; i < s->n_milestones; i++)
            if (epoch >= s->milestones[i]) lr *= s->gamma;
        return fmax(lr, s->lr_final);
    }
    case SCHED_EXP_STAIRCASE: {
        // + 1e-9: epoch + step/steps_per_epoch lands a rounding below a decay boundary that the
        // global step reaches exactly (TF and timm divide the step count)
        double k = floor(epoch / s->decay_epochs + 1e-9);
        return fmax(s->lr_peak * pow(s->gamma, k), s->lr_final);
    }
    default: return s->lr_peak;
    }
}

float sched_lr(const Schedule *s, double epoch)
{
    if (!s->per_step) epoch = floor(epoch);
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        return (float)(s->warmup_lr + (s->lr_peak - s->warmup_lr) * epoch / s->warmup_epochs);
    if (s->cooldown_epochs > 0 && epoch >= s->epochs - s->cooldown_epochs) return s->lr_final;
    return (float)decayed(s, epoch);
}

Schedule sched_for_batch(const Schedule *s, int batch)
{
    Schedule r = *s;
    if (s->lr_batch > 0) {
        double k = (double)batch / s->lr_batch;
        if (s->lr_sqrt) k = sqrt(k); // timm train.py: batch_ratio ** 0.5
        r.lr_peak = (float)(s->lr_peak * k);
        r.lr_final = (float)(s->lr_final * k);
        r.warmup_lr = (float)(s->warmup_lr * k);
        r.lr_batch = 0;
    }
    return r;
}
