/* engine/train/optim.c — the optimizers, L2 weight decay, gradient norm and clipping, the EMA
 * (optim.h).
 *
 * Arithmetic follows the references' order in float32 (their tensors' type), scalars that Python
 * computes (bias corrections, 1 - lr*wd) in double, so a step agrees with torch/timm to float
 * rounding. The per-element work is ops (backend/ops.h: optim_update, axpy, scale, lerp, sumsq)
 * on the device that holds the table: on cuda the optimizer, clipping and EMA never copy the
 * table to the host. On the host backends the norms LAMB and clipping need are summed serially in
 * double, so a step is the same bits every run (resume is bitwise exact).
 */
#include "optim.h"

#include <math.h>   // sqrt, pow
#include <string.h> // strcmp, memcpy

#include "../backend/ops.h" // optim_update, axpy, scale, lerp, sumsq: the work, on the table's device
static const double LAMB_MAX_GRAD_NORM = 1.0; // timm's Lamb default (max_grad_norm), always on

// ---------------------------------------------------------------------------------------------
// the kinds: names, slots, defaults

static const char *const kind_names[] = {"sgd", "adamw", "rmsprop_tf", "lamb"};

const char *optim_name(OptimKind kind)
{
    CHECK((int)kind >= 0 && (int)kind < LEN(kind_names), "optim_name: kind %d", (int)kind);
    return kind_names[kind];
}

void optim_defaults(Optim *o)
{
    bool rms = o->kind == OPTIM_RMSPROP_TF;
    if (o->beta2 == 0) o->beta2 = rms ? 0.9f : 0.999f;
    if (o->eps == 0) o->eps = rms ? 1e-10f : o->kind == OPTIM_LAMB ? 1e-6f : 1e-8f;
}

int optim_slots(const Optim *o)
{
    switch (o->kind) {
    case OPTIM_ADAMW:
    case OPTIM_LAMB: return 2;
    case OPTIM_RMSPROP_TF: return o->momentum > 0 ? 2 : 1;
    default: return o->momentum != 0 ? 1 : 0;
    }
}

const char *optim_slot_name(OptimKind kind, int slot)
{
    CHECK(slot >= 0 && slot < 2, "optim_slot_name: slot %d", slot);
    switch (kind) {
    case OPTIM_ADAMW:
    case OPTIM_LAMB: return slot ? "exp_avg_sq" : "exp_avg";
    case OPTIM_RMSPROP_TF: return slot ? "momentum" : "square_avg";
    default: return "momentum"; // sgd has one slot
    }
}

void optim_init(Params *p, const Optim *o)
{
    CHECK(p->n_slots >= optim_slots(o), "optim_init: %s needs %d optimizer slots, the table has %d",
          optim_name(o->kind), optim_slots(o), p->n_slots);
    if (o->kind != OPTIM_RMSPROP_TF) return;
    float *s = params_pull(p, ROLE_SLOT0); // TF starts the square average at 1 (PyTorch: 0)
    for (size_t j = 0; j < p->total; j++) s[j] = 1.0f;
    params_push(p, ROLE_SLOT0);
}

void optim_l2(Params *p, const Optim *o)
{
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (pi->buffer || !(pi->decay || o->decay_all)) continue;
        axpy(p->dev, (Vec){pi->numel, o->l2}, params_at(p, ROLE_GRAD, i), params_at(p, ROLE_W, i));
    }
}

// ---------------------------------------------------------------------------------------------
// the update: an op per entry (backend/ops.h's optim_update, op_math.h's formulas), on the
// device that holds the table, so nothing comes to the host

// the kinds' values are the op's
_Static_assert((int)OPTIM_SGD == (int)OPU_SGD && (int)OPTIM_ADAMW == (int)OPU_ADAMW &&
                   (int)OPTIM_RMSPROP_TF == (int)OPU_RMSPROP_TF && (int)OPTIM_LAMB == (int)OPU_LAMB,
               "optim.h's OptimKind and ops.h's OPU_* must agree");

void optim_step(Params *p, const Optim *o, long t)
{
    CHECK(p->n_slots >= optim_slots(o), "optim_step: %s needs %d optimizer slots, the table has %d "
          "(params_alloc with optim_slots)", optim_name(o->kind), optim_slots(o), p->n_slots);
    CHECK(t >= 1, "optim_step: update number %ld (1 at the first)", t);
    double bc1 = 1 - pow(o->beta1, (double)t), bc2 = 1 - pow(o->beta2, (double)t);
    bool decoupled = o->decoupled || o->kind == OPTIM_ADAMW;
    OptimUpd u = {.kind = o->kind, .lr = o->lr, .momentum = o->momentum, .beta1 = o->beta1, .beta2 = o->beta2,
                  .eps = o->eps, .step = (float)(o->lr / bc1), .bc1 = (float)bc1, .bc2s = (float)sqrt(bc2),
                  .clip = 1, .nesterov = o->nesterov};
    float *scratch = NULL; // LAMB's update u, as large as the largest entry, on the device
    if (o->kind == OPTIM_LAMB) {
        u.clip = (float)fmax(grad_norm(p) / LAMB_MAX_GRAD_NORM, 1.0);
        size_t most = 0;
        for (int i = 0; i < p->count; i++) most = p->info[i].numel > most ? p->info[i].numel : most;
        scratch = dev_alloc(p->dev, (most ? most : 1) * sizeof(float));
    }
    int slots = optim_slots(o);
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (pi->buffer) continue;
        float *w = params_at(p, ROLE_W, i), *g = params_at(p, ROLE_GRAD, i);
        float *s0 = slots > 0 ? params_at(p, ROLE_SLOT0, i) : NULL;
        float *s1 = slots > 1 ? params_at(p, ROLE_SLOT0 + 1, i) : NULL;
        float wd = pi->decay || o->decay_all ? o->weight_decay : 0.0f;
        u.n = pi->numel;
        u.kind = o->kind;
        u.wd = decoupled ? 0.0f : wd;
        u.keep = decoupled ? (float)(1.0 - (double)o->lr * wd) : 1.0f;
        optim_update(p->dev, u, w, g, s0, o->kind == OPTIM_RMSPROP_TF && o->momentum <= 0 ? NULL : s1, scratch);
        if (o->kind != OPTIM_LAMB) continue;
        // the trust ratio |w| / |u| where weight decay applies (or always_adapt), then the step
        u.ratio = 1;
        if (wd != 0 || o->always_adapt) {
            double ww = 0, uu = 0;
            sumsq(p->dev, (Vec){pi->numel, 0}, w, &ww);
            sumsq(p->dev, (Vec){pi->numel, 0}, scratch, &uu);
            if (ww > 0 && uu > 0) u.ratio = (float)(sqrt(ww) / sqrt(uu));
        }
        u.kind = OPU_LAMB_APPLY;
        optim_update(p->dev, u, w, NULL, NULL, NULL, scratch);
    }
    if (scratch) dev_free(p->dev, scratch);
}

void sgd_step(Params *p, Sgd s)
{
    Optim o = {.kind = OPTIM_SGD, .lr = s.lr, .momentum = s.momentum, .nesterov = s.nesterov,
               .weight_decay = s.weight_decay, .decay_all = s.decay_all};
    optim_step(p, &o, 1);
}

// ---------------------------------------------------------------------------------------------
// gradient norm and clipping

double grad_norm(Params *p)
{
    double s = 0; // one sum over every entry in order (on host backends: the same bits every run)
    for (int i = 0; i < p->count; i++)
        if (!p->info[i].buffer) sumsq(p->dev, (Vec){p->info[i].numel, 0}, params_at(p, ROLE_GRAD, i), &s);
    return sqrt(s);
}

void grad_clip(Params *p, double max_norm)
{
    double n = grad_norm(p);
    if (n <= max_norm || n == 0) return;
    float k = (float)(max_norm / (n + 1e-6)); // torch.nn.utils.clip_grad_norm_'s 1e-6
    for (int i = 0; i < p->count; i++)
        if (!p->info[i].buffer) scale(p->dev, (Vec){p->info[i].numel, k}, params_at(p, ROLE_GRAD, i));
}

// ---------------------------------------------------------------------------------------------
// the EMA

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
    dev_upload(p->dev, p->buf[ROLE_EMA], params_pull(p, ROLE_W), p->total * sizeof(float));
}

void ema_update(Params *p, double decay)
{
    CHECK(p->has_ema, "ema_update: the table has no EMA buffer (params_alloc with ema = true)");
    // one pass over the whole buffer on its device (padding included: it stays 0 in both)
    lerp(p->dev, (Vec){p->total, (float)(1.0 - decay)}, p->buf[ROLE_EMA], p->buf[ROLE_W]);
}

void ema_swap(Params *p)
{
    CHECK(p->has_ema, "ema_swap: the table has no EMA buffer");
    float *t = p->buf[ROLE_W];
    p->buf[ROLE_W] = p->buf[ROLE_EMA];
    p->buf[ROLE_EMA] = t;
    t = p->host[ROLE_W]; // the host copies travel with their buffers
    p->host[ROLE_W] = p->host[ROLE_EMA];
    p->host[ROLE_EMA] = t;
}
