/* engine/train/optim.c — SGD, gradient norm and clipping, schedules (optim.h). */
#include "optim.h"

#include <math.h>   // cos, sqrt, floor, M_PI
#include <string.h> // strcmp

void sgd_step(Params *p, Sgd o)
{
    CHECK(p->buf[ROLE_SLOT0] || o.momentum == 0, "sgd_step: momentum %g needs optimizer slot 0 "
          "(params_alloc with n_slots >= 1)", o.momentum);
    CHECK(!p->dev || strcmp(p->dev->name, "cuda") != 0, "sgd_step: the table lives on cuda; the "
          "optimizer loop runs on host memory (ref, cpu) only so far");
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (pi->buffer) continue;
        float *w = params_at(p, ROLE_W, i), *g = params_at(p, ROLE_GRAD, i);
        float *buf = o.momentum != 0 ? params_at(p, ROLE_SLOT0, i) : NULL;
        float wd = pi->decay ? o.weight_decay : 0.0f;
#pragma omp parallel for simd schedule(static) if (pi->numel > 65536)
        for (size_t j = 0; j < pi->numel; j++) {
            float d = g[j] + wd * w[j];
            if (buf) {
                buf[j] = o.momentum * buf[j] + d;
                d = o.nesterov ? d + o.momentum * buf[j] : buf[j];
            }
            w[j] -= o.lr * d;
        }
    }
}

double grad_norm(const Params *p)
{
    double s = 0;
    for (int i = 0; i < p->count; i++) {
        if (p->info[i].buffer) continue;
        const float *g = params_at(p, ROLE_GRAD, i);
        for (size_t j = 0; j < p->info[i].numel; j++) s += (double)g[j] * g[j];
    }
    return sqrt(s);
}

void grad_clip(Params *p, double max_norm)
{
    double n = grad_norm(p);
    if (n <= max_norm || n == 0) return;
    float k = (float)(max_norm / (n + 1e-6)); // torch.nn.utils.clip_grad_norm_'s 1e-6
    for (int i = 0; i < p->count; i++) {
        if (p->info[i].buffer) continue;
        float *g = params_at(p, ROLE_GRAD, i);
        for (size_t j = 0; j < p->info[i].numel; j++) g[j] *= k;
    }
}

float sched_lr(const Schedule *s, double epoch)
{
    if (!s->per_step) epoch = floor(epoch);
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        return (float)(s->warmup_lr + (s->lr_peak - s->warmup_lr) * epoch / s->warmup_epochs);
    switch (s->kind) {
    case SCHED_COSINE: {
        double span = s->epochs - s->warmup_epochs, t = (epoch - s->warmup_epochs) / (span > 0 ? span : 1);
        if (t > 1) t = 1;
        return (float)(s->lr_final + 0.5 * (s->lr_peak - s->lr_final) * (1 + cos(M_PI * t)));
    }
    case SCHED_STEP: {
        double lr = s->lr_peak;
        for (int i = 0; i < s->n_milestones; i++)
            if (epoch >= s->milestones[i]) lr *= s->gamma;
        return (float)lr;
    }
    default: return s->lr_peak;
    }
}
