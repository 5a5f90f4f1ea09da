/* engine/train/optim.h — optimizers, gradient clipping, L2 weight decay and the EMA of the
 * weights, as loops over the parameter table (never over layers); learning-rate schedules are in
 * schedule.h.
 *
 * Each optimizer matches its reference step for step (tests/test_train.c, fixtures from
 * tests/ref/gen_train_fixtures.py); d is the gradient, wd the entry's weight decay (optim.weight_decay
 * on entries with decay set — BN and biases are excluded, as the recipes do — or on all with
 * decay_all), t the update's number (1 at the first):
 *   OPTIM_SGD         torch.optim.SGD: d += wd*w, buf = momentum*buf + d (buf starts at 0, which
 *                     equals PyTorch's first-step copy), step = nesterov ? d + momentum*buf : buf,
 *                     w -= lr*step. decoupled: timm's SGDW, w *= 1 - lr*wd instead of d += wd*w.
 *   OPTIM_ADAMW       torch.optim.AdamW: w *= 1 - lr*wd, m = b1*m + (1-b1)*d, v = b2*v + (1-b2)*d^2,
 *                     w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). Always decoupled (torch's
 *                     Adam with coupled decay is adamw with weight_decay 0 and l2 set).
 *   OPTIM_RMSPROP_TF  timm's RMSpropTF (TensorFlow's RMSProp): d += wd*w (decoupled: w *= 1 - lr*wd),
 *                     s += (1-b2)*(d^2 - s) with s starting at ONE, a = sqrt(s + eps) (eps inside the
 *                     root), momentum > 0: buf = momentum*buf + lr*d/a, w -= buf (the rate is folded
 *                     into the buffer, so a changing rate acts on new steps only); else w -= lr*d/a.
 *   OPTIM_LAMB        timm's Lamb (NVIDIA's FusedLAMB): every gradient divided by max(1, |g|/1.0)
 *                     first (|g| the global norm: the built-in max_grad_norm 1.0), Adam moments with
 *                     bias correction, u = m/(1-b1^t) / (sqrt(v)/sqrt(1-b2^t) + eps), then u += wd*w
 *                     (decoupled: w -= lr*wd*w first, timm's lambw), and where wd != 0 or
 *                     always_adapt, u *= |w|/|u| (1 where either norm is 0), w -= lr*u.
 * Slots (the table's optimizer slots, saved in checkpoints under optimizer.<slot name>.<entry>):
 * sgd: momentum (when momentum != 0); adamw, lamb: exp_avg, exp_avg_sq; rmsprop_tf: square_avg,
 * momentum (when momentum > 0). Adam-type bias corrections need t: the trainer's step count, which
 * checkpoints keep, so a resumed run continues exactly.
 * L2 in the loss (ResNet-RS, EfficientNetV2: loss += l2 * sum(w^2)/2 over decayed entries, TF's
 * l2_weight_decay) adds l2*w to the gradients before clipping, whatever the optimizer — the coupled
 * form, beside (or instead of) the optimizer's own weight_decay.
 */
#ifndef OPTIM_H
#define OPTIM_H

#include "../core/params.h"
#include "schedule.h"

typedef enum { OPTIM_SGD, OPTIM_ADAMW, OPTIM_RMSPROP_TF, OPTIM_LAMB } OptimKind;

typedef struct {
    OptimKind kind;
    float lr;            // set from the schedule at every step
    float momentum;      // sgd, rmsprop_tf
    bool  nesterov;      // sgd
    float beta1, beta2;  // adamw, lamb: the moments' decays; rmsprop_tf: beta2 is the square
                         // average's decay (TF's decay, timm's alpha)
    float eps;           // adamw, lamb: added to the root; rmsprop_tf: inside it
    float weight_decay;  // the optimizer's own, on entries with decay set (all with decay_all)
    bool  decoupled;     // sgd, rmsprop_tf, lamb: w *= 1 - lr*wd (timm's sgdw, rmsproptfw, lambw)
                         // instead of the coupled form; adamw is decoupled whatever this says
    bool  decay_all;     // weight decay (and l2) on every entry, BN and biases too (torch.optim.SGD
                         // over model.parameters(), as the Random Erasing code does)
    bool  always_adapt;  // lamb: the trust ratio on entries without weight decay too
    float l2;            // L2 in the loss (optim_l2), 0 = none
} Optim;

// the kind's defaults where a recipe leaves beta2 or eps at 0: adamw 0.999, 1e-8 (torch); lamb
// 0.999, 1e-6 (timm); rmsprop_tf 0.9, 1e-10 (timm's factory, TF)
void        optim_defaults(Optim *o);
int         optim_slots(const Optim *o);                 // slots the kind needs (params_alloc)
const char *optim_slot_name(OptimKind kind, int slot);   // checkpoint names, as above
const char *optim_name(OptimKind kind);                  // "sgd", "adamw", "rmsprop_tf", "lamb"
// the slots' starting values (rmsprop_tf: square_avg 1; the rest stays 0 from params_alloc)
void        optim_init(Params *p, const Optim *o);
// one update over every trainable entry at o->lr; t = the update's number, 1 at the first. Host
// memory only (ref, cpu backends)
void        optim_step(Params *p, const Optim *o, long t);
// d += l2 * w on the entries weight decay applies to (o->l2, o->decay_all)
void        optim_l2(Params *p, const Optim *o);

// plain SGD (tests and studies that step a model by hand): optim_step with kind sgd
typedef struct {
    float lr, momentum, weight_decay;
    bool  nesterov;
    bool  decay_all;
} Sgd;
void sgd_step(Params *p, Sgd o);

// global L2 norm of the gradients (trainable entries), and scaling them to max_norm when above
double grad_norm(Params *p);
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
// ResNet-RS pairs TF's BN momentum 0 (running statistics = the last batch's: model.bn_momentum_tf)
// with this EMA, which then is the only average of the statistics the evaluation uses.
typedef enum { EMA_WARMUP_NONE, EMA_WARMUP_TIMM, EMA_WARMUP_TF } EmaWarmup;
typedef struct { float decay; EmaWarmup warmup; } Ema; // decay 0: no EMA

double ema_decay(Ema e, long t);
void   ema_init(Params *p);                 // ema = w (params_alloc with ema = true)
void   ema_update(Params *p, double decay);
void   ema_swap(Params *p);                 // exchange the weights and their average (evaluate it)

#endif
