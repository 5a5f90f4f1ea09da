/* engine/train/optim.c — SGD, gradient norm and clipping, schedules (optim.h). */
#include "optim.h"

#include <math.h>   // cos, sqrt, floor, pow, M_PI
#include <string.h> // strcmp, memcpy

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
        float wd = pi->decay || o.decay_all ? o.weight_decay : 0.0f;
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

double ema_decay(Ema e, long t)
{
    switch (e.warmup) {
    case EMA_WARMUP_TIMM: {
        long k = t - 1; // timm: step = max(0, num_updates - update_after_step - 1)
        if (k <= 0) return 0.0;
        double d = 1.0 - pow(1.0 + k, -2.0 / 3.0);
        return d < e.decay ? d : e.decay;
    }
    case EMA_WARMUP_TF: {
        double d = (1.0 + t) / (10.0 + t);
        return d < e.decay ? d : e.decay;
    }
    default: return e.decay;
    }
}

void ema_init(Params *p)
{
    CHECK(p->has_ema, "ema_init: the table has no EMA buffer (params_alloc with ema = true)");
    memcpy(p->buf[ROLE_EMA], p->buf[ROLE_W], p->total * sizeof(float));
}

void ema_update(Params *p, double decay)
{
    CHECK(p->has_ema, "ema_update: the table has no EMA buffer (params_alloc with ema = true)");
    float *e = p->buf[ROLE_EMA], k = (float)(1.0 - decay);
    const float *w = p->buf[ROLE_W];
    // one pass over the whole buffer (padding included: it stays 0 in both)
#pragma omp parallel for simd schedule(static) if (p->total > 65536)
    for (size_t j = 0; j < p->total; j++) e[j] += k * (w[j] - e[j]);
}

void ema_swap(Params *p)
{
    CHECK(p->has_ema, "ema_swap: the table has no EMA buffer");
    float *t = p->buf[ROLE_W];
    p->buf[ROLE_W] = p->buf[ROLE_EMA];
    p->buf[ROLE_EMA] = t;
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
