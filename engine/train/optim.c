/* engine/train/optim.c — the optimizers, L2 weight decay, gradient norm and clipping, the EMA
 * (optim.h).
 *
 * Arithmetic follows the references' order in float32 (their tensors' type), scalars that Python
 * computes (bias corrections, 1 - lr*wd) in double, so a step agrees with torch/timm to float
 * rounding. Per-entry loops run in parallel (OpenMP) on large entries; the norms LAMB needs are
 * summed serially in double, so a step is the same bits every run (resume is bitwise exact).
 */
#include "optim.h"

#include <math.h>   // sqrt, sqrtf, pow
#include <string.h> // strcmp, memcpy

enum { PAR_MIN = 65536 }; // entries larger than this are split over threads
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
    params_pull(p, ROLE_GRAD);
    params_pull(p, ROLE_W);
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (pi->buffer || !(pi->decay || o->decay_all)) continue;
        float *g = params_host(p, ROLE_GRAD, i);
        const float *w = params_host(p, ROLE_W, i);
#pragma omp parallel for simd schedule(static) if (pi->numel > PAR_MIN)
        for (size_t j = 0; j < pi->numel; j++) g[j] += o->l2 * w[j];
    }
    params_push(p, ROLE_GRAD);
}

// ---------------------------------------------------------------------------------------------
// one entry's update per kind: w, d (its gradient), s0 and s1 (its slots), n elements

typedef struct {
    const Optim *o;
    bool   decays;     // weight decay applies to this entry
    float  wd;         // coupled form: the decay added to the gradient (lamb: to the update), else 0
    float  keep;       // decoupled form: w *= keep = 1 - lr*wd first, else 1
    double bc1, bc2;   // Adam-type bias corrections 1 - b^t
    double clip;       // lamb: the gradients are divided by this (>= 1)
} Entry;

static void sgd_entry(const Entry *e, float *w, const float *g, float *buf, size_t n)
{
    const Optim *o = e->o;
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (size_t j = 0; j < n; j++) {
        float d = g[j] + e->wd * w[j];
        if (buf) {
            buf[j] = o->momentum * buf[j] + d;
            d = o->nesterov ? d + o->momentum * buf[j] : buf[j];
        }
        w[j] = w[j] * e->keep - o->lr * d;
    }
}

static void adamw_entry(const Entry *e, float *w, const float *g, float *m, float *v, size_t n)
{
    const Optim *o = e->o;
    float b1 = o->beta1, b2 = o->beta2, step = (float)(o->lr / e->bc1), bc2s = (float)sqrt(e->bc2);
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (size_t j = 0; j < n; j++) {
        w[j] *= e->keep;
        m[j] = m[j] * b1 + g[j] * (1 - b1);
        v[j] = v[j] * b2 + g[j] * g[j] * (1 - b2);
        w[j] -= step * m[j] / (sqrtf(v[j]) / bc2s + o->eps);
    }
}

static void rmsprop_entry(const Entry *e, float *w, const float *g, float *sq, float *buf, size_t n)
{
    const Optim *o = e->o;
    float a = 1 - o->beta2;
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (size_t j = 0; j < n; j++) {
        w[j] *= e->keep;
        float d = g[j] + e->wd * w[j];
        sq[j] += (d * d - sq[j]) * a;
        float r = sqrtf(sq[j] + o->eps);
        if (buf) {
            buf[j] = buf[j] * o->momentum + o->lr * d / r;
            w[j] -= buf[j];
        } else {
            w[j] -= o->lr * d / r;
        }
    }
}

// u (the update) is scratch of n floats
static void lamb_entry(const Entry *e, float *w, const float *g, float *m, float *v, float *u, size_t n)
{
    const Optim *o = e->o;
    float b1 = o->beta1, b2 = o->beta2, bc1 = (float)e->bc1, bc2s = (float)sqrt(e->bc2);
    float clip = (float)e->clip;
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (size_t j = 0; j < n; j++) {
        float d = g[j] / clip;
        m[j] += (d - m[j]) * (1 - b1); // torch.lerp_, as timm's grad averaging
        v[j] = v[j] * b2 + d * d * (1 - b2);
        w[j] *= e->keep;
        u[j] = m[j] / bc1 / (sqrtf(v[j]) / bc2s + o->eps) + e->wd * w[j];
    }
    float ratio = 1;
    if (e->decays || o->always_adapt) {
        double ww = 0, uu = 0; // serial: the same sum every run
        for (size_t j = 0; j < n; j++) ww += (double)w[j] * w[j], uu += (double)u[j] * u[j];
        if (ww > 0 && uu > 0) ratio = (float)(sqrt(ww) / sqrt(uu));
    }
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (size_t j = 0; j < n; j++) w[j] -= o->lr * (u[j] * ratio);
}

void optim_step(Params *p, const Optim *o, long t)
{
    CHECK(p->n_slots >= optim_slots(o), "optim_step: %s needs %d optimizer slots, the table has %d "
          "(params_alloc with optim_slots)", optim_name(o->kind), optim_slots(o), p->n_slots);
    CHECK(t >= 1, "optim_step: update number %ld (1 at the first)", t);
    Entry e = {.o = o, .bc1 = 1 - pow(o->beta1, (double)t), .bc2 = 1 - pow(o->beta2, (double)t), .clip = 1};
    bool decoupled = o->decoupled || o->kind == OPTIM_ADAMW;
    float *u = NULL;
    // on a device that is not host memory the update runs on host copies, pulled here and pushed
    // back below (params.h): correct everywhere, and on cuda a copy of every role each step
    int n_roles = ROLE_SLOT0 + optim_slots(o);
    for (int r = 0; r < n_roles; r++)
        if (r != ROLE_EMA) params_pull(p, (ParamRole)r);
    if (o->kind == OPTIM_LAMB) {
        e.clip = fmax(grad_norm(p) / LAMB_MAX_GRAD_NORM, 1.0);
        size_t most = 0;
        for (int i = 0; i < p->count; i++) most = p->info[i].numel > most ? p->info[i].numel : most;
        u = xcalloc(most ? most : 1, sizeof *u);
    }
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (pi->buffer) continue;
        float *w = params_host(p, ROLE_W, i), *g = params_host(p, ROLE_GRAD, i);
        float *s0 = optim_slots(o) > 0 ? params_host(p, ROLE_SLOT0, i) : NULL;
        float *s1 = optim_slots(o) > 1 ? params_host(p, ROLE_SLOT0 + 1, i) : NULL;
        float wd = pi->decay || o->decay_all ? o->weight_decay : 0.0f;
        e.decays = wd != 0;
        e.wd = decoupled ? 0.0f : wd;
        e.keep = decoupled ? (float)(1.0 - (double)o->lr * wd) : 1.0f;
        switch (o->kind) {
        case OPTIM_ADAMW: adamw_entry(&e, w, g, s0, s1, pi->numel); break;
        case OPTIM_RMSPROP_TF: rmsprop_entry(&e, w, g, s0, o->momentum > 0 ? s1 : NULL, pi->numel); break;
        case OPTIM_LAMB: lamb_entry(&e, w, g, s0, s1, u, pi->numel); break;
        default: sgd_entry(&e, w, g, o->momentum != 0 ? s0 : NULL, pi->numel); break;
        }
    }
    free(u);
    for (int r = 0; r < n_roles; r++)
        if (r != ROLE_EMA && r != ROLE_GRAD) params_push(p, (ParamRole)r);
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
    double s = 0;
    params_pull(p, ROLE_GRAD);
    for (int i = 0; i < p->count; i++) {
        if (p->info[i].buffer) continue;
        const float *g = params_host(p, ROLE_GRAD, i);
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
        float *g = params_host(p, ROLE_GRAD, i); // pulled by grad_norm
        for (size_t j = 0; j < p->info[i].numel; j++) g[j] *= k;
    }
    params_push(p, ROLE_GRAD);
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
    float *e = params_pull(p, ROLE_EMA), k = (float)(1.0 - decay);
    const float *w = params_pull(p, ROLE_W);
    // one pass over the whole buffer (padding included: it stays 0 in both)
#pragma omp parallel for simd schedule(static) if (p->total > PAR_MIN)
    for (size_t j = 0; j < p->total; j++) e[j] += k * (w[j] - e[j]);
    params_push(p, ROLE_EMA);
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
