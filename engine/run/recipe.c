/* engine/run/recipe.c — the recipe key table, parsing, formatting and the run id (recipe.h). */
#include "recipe.h"

#include "../data/dataset.h" // dataset_known, dataset_names
#include "../backend/ops.h"   // dev_known, dev_names

#include <errno.h>  // errno
#include <math.h>   // isfinite
#include <stddef.h> // offsetof
#include <float.h>  // FLT_MAX, FLT_MIN: a float key's representable values
#include <ini.h>    // ini_parse
#include <stdio.h>  // snprintf, open_memstream
#include <stdlib.h> // free
#include <string.h> // strcmp

// K_SCHED .. K_PROG_RULE: C enums, written by name (enum_types below)
typedef enum {
    K_INT, K_U64, K_FLOAT, K_DOUBLE, K_BOOL, K_STR, K_FLOATS,
    K_SCHED, K_ERASE, K_EMAW, K_OPTIM, K_INTERP, K_ERASE_STYLE, K_MIX_MODE, K_PROG_RULE
} KeyType;

typedef struct {
    const char *section, *key;
    KeyType     type;
    size_t      offset, bytes; // the field in TrainConfig: where, and how large
    double      lo, hi;        // numbers: the valid range, both ends included (lo = hi = 0: any)
    const char *help;
    const char *(*names)(void); // K_STR keys that take a registered name: the valid names
    // the run id (recipe_run_id). NULL: the key is of the first schema (every key up to the
    // revision that made this rule, 2026-12) and always part of the id. A key added since names
    // the value text that means "as before the key existed" (its default, frozen here even if the
    // default changes later): while a run's value formats to it, the key is left out of the id,
    // so adding a key changes no stored run's id (tests/test_run.c checks every committed one)
    const char *id_neutral;
} RecipeKey;

// each key records its field's offset and size; key_capacity checks the size against the type
#define F(field) offsetof(TrainConfig, field), sizeof(((TrainConfig *)0)->field)
#define BIG 1e9
static const RecipeKey keys[] = {
    {"model", "name", K_STR, F(model), 0, 0, "a registered model (bin/repro model --list)", NULL, NULL},
    {"model", "width", K_FLOAT, F(net.width), 1e-3, 64, "width multiplier on the named model", NULL, NULL},
    {"model", "depth", K_FLOAT, F(net.depth), 1e-3, 64, "depth multiplier (EfficientNet-style families)", NULL, NULL},
    {"model", "drop_path", K_FLOAT, F(net.drop_path), 0, 0.99, "stochastic depth: drop probability at the last block", NULL, NULL},
    {"model", "dropout", K_FLOAT, F(net.dropout), 0, 0.99, "dropout probability before the classifier", NULL, NULL},
    {"model", "se_ratio", K_FLOAT, F(net.se_ratio), 0, 1, "squeeze-excitation ratio, 0 = the model's own", NULL, NULL},
    {"model", "fused_stages", K_INT, F(net.fused_stages), -1, 16, "EfficientNet: the first N stages "
     "Fused-MBConv, -1 = the model's own", NULL, NULL},
    {"model", "in_chans", K_INT, F(net.in_chans), 1, 4, "input channels", NULL, NULL},
    {"model", "classes", K_INT, F(net.num_classes), 2, 100000, "classes", NULL, NULL},
    {"model", "res", K_INT, F(res), 8, 4096, "train and eval resolution, pixels (the data is resized to it)", NULL, NULL},
    {"model", "weights", K_STR, F(weights), 0, 0, "start from a .safetensors file (timm state dict or "
     "checkpoint); empty = init from the seed", NULL, NULL},
    {"model", "branches", K_INT, F(net.branches), 0, 16, "GhostNetV3: parallel conv-BN branches of each "
     "re-parameterizable conv (the paper's ablation; another count than 3 has no timm state dict); 0 = the "
     "model's own (timm's 3)", NULL, "0"},
    {"model", "no_bn", K_BOOL, F(net.no_bn), 0, 0, "leave every batch norm out (ResNets; tests of data "
     "parallelism)", NULL, "false"},
    {"model", "bn_eps", K_FLOAT, F(net.bn_eps), 0, 0.1, "batch norm epsilon (EfficientNetV2: 1e-3); 0 = the "
     "model's own (PyTorch's 1e-5)", NULL, NULL},
    {"model", "bn_momentum", K_FLOAT, F(net.bn_momentum), 0, 1, "batch norm running-statistics momentum, "
     "PyTorch's convention (0.1) unless bn_momentum_tf; 0 = the model's own (PyTorch 0.1)", NULL, NULL},
    {"model", "bn_momentum_tf", K_BOOL, F(net.bn_momentum_tf), 0, 0, "bn_momentum is TF's: running = m*running "
     "+ (1-m)*batch, = PyTorch 1-m (EfficientNetV2 0.9; ResNet-RS 0 = the last batch's statistics)", NULL, NULL},
    {"data", "dataset", K_STR, F(dataset), 0, 0, "the data set (data/dataset.h)", dataset_names_all, NULL},
    {"data", "dir", K_STR, F(data_dir), 0, 0, "data folder (empty: the dataset's default)", NULL, NULL},
    {"data", "train_limit", K_INT, F(train_limit), 0, BIG, "use the first N training samples (0 = all)", NULL, NULL},
    {"data", "eval_limit", K_INT, F(eval_limit), 0, BIG, "use the first N test samples (0 = all)", NULL, NULL},
    {"data", "drop_last", K_BOOL, F(drop_last), 0, 0, "drop each epoch's last partial batch", NULL, NULL},
    {"data", "pad", K_INT, F(aug.pad), 0, 64, "random crop padding, pixels (0 = no crop)", NULL, NULL},
    {"data", "rrc", K_BOOL, F(aug.rrc), 0, 0, "RandomResizedCrop to model.res (timm's training crop)", NULL, NULL},
    {"data", "rrc_scale", K_FLOATS, F(aug.rrc_scale), 1e-4, 1, "RandomResizedCrop area fraction: min, max", NULL, NULL},
    {"data", "rrc_ratio", K_FLOATS, F(aug.rrc_ratio), 1e-2, 100, "RandomResizedCrop aspect w/h: min, max", NULL, NULL},
    {"data", "interpolation", K_INTERP, F(aug.interpolation), 0, 0, "bilinear | bicubic | random (per sample; "
     "RRC, RandAugment; the eval resize takes bilinear for random)", NULL, NULL},
    {"data", "flip", K_BOOL, F(aug.flip), 0, 0, "random horizontal flip", NULL, NULL},
    {"data", "randaug", K_STR, F(aug.randaug), 0, 0, "RandAugment: empty = off, timm's rand-m9-mstd0.5-inc1, "
     "TensorFlow's tf-n2-m15", NULL, NULL},
    {"data", "color_jitter", K_FLOATS, F(aug.color_jitter), 0, 10, "ColorJitter brightness, contrast, "
     "saturation[, hue <= 0.5]; one value x: x, x, x (timm)", NULL, NULL},
    {"data", "color_jitter_p", K_FLOAT, F(aug.color_jitter_p), 0, 1, "probability of the color jitter", NULL, NULL},
    {"data", "grayscale_p", K_FLOAT, F(aug.grayscale_p), 0, 1, "RandomGrayscale probability", NULL, NULL},
    {"data", "blur_p", K_FLOAT, F(aug.blur_p), 0, 1, "GaussianBlur(kernel 23 px, sigma 0.1 .. 2 px) probability", NULL, NULL},
    {"data", "mean", K_FLOATS, F(aug.mean), -10, 10, "normalization mean per channel, on [0,1] pixels", NULL, NULL},
    {"data", "std", K_FLOATS, F(aug.std), 1e-6, 10, "normalization std per channel", NULL, NULL},
    {"data", "erase_p", K_FLOAT, F(aug.erase_p), 0, 1, "random erasing probability", NULL, NULL},
    {"data", "erase_style", K_ERASE_STYLE, F(aug.erase_style), 0, 0, "zhong (one box, aspect uniform) | timm "
     "(log-uniform aspect, up to erase_count boxes)", NULL, NULL},
    {"data", "erase_count", K_INT, F(aug.erase_count), 1, 16, "timm style: boxes per image, uniform in 1 .. this", NULL, NULL},
    {"data", "erase_area", K_FLOATS, F(aug.erase_area), 1e-6, 1, "erased area, fraction of the image: min, max", NULL, NULL},
    {"data", "erase_aspect", K_FLOAT, F(aug.erase_aspect), 1e-3, 1, "aspect ratio range [r, 1/r]", NULL, NULL},
    {"data", "erase_mode", K_ERASE, F(aug.erase_mode), 0, 0, "const | uniform | pixel (N(0,1) per value) | "
     "rand (N(0,1) per channel)", NULL, NULL},
    {"data", "erase_value", K_FLOATS, F(aug.erase_value), -100, 100, "const mode: value per channel", NULL, NULL},
    {"data", "crop_pct", K_FLOAT, F(aug.crop_pct), 0, 1, "eval: resize the shorter side to res / crop_pct, "
     "centre crop (0 = plain resize to res)", NULL, NULL},
    {"data", "mixup_alpha", K_FLOAT, F(aug.mix.mixup_alpha), 0, 100, "Mixup lambda ~ Beta(alpha, alpha), 0 = off", NULL, NULL},
    {"data", "cutmix_alpha", K_FLOAT, F(aug.mix.cutmix_alpha), 0, 100, "CutMix lambda ~ Beta(alpha, alpha), 0 = off", NULL, NULL},
    {"data", "cutmix_minmax", K_FLOATS, F(aug.mix.cutmix_minmax), 0, 1, "CutMix box sides as fractions min, max "
     "instead of alpha's (0, 0 = off)", NULL, NULL},
    {"data", "mixup_prob", K_FLOAT, F(aug.mix.prob), 0, 1, "probability of mixing a batch, pair or sample", NULL, NULL},
    {"data", "mixup_switch_prob", K_FLOAT, F(aug.mix.switch_prob), 0, 1, "CutMix's share when both are on", NULL, NULL},
    {"data", "mixup_mode", K_MIX_MODE, F(aug.mix.mode), 0, 0, "batch | pair | elem (one lambda per ...)", NULL, NULL},
    {"data", "mixup_off_epoch", K_INT, F(aug.mix.off_epoch), 0, BIG, "no mixing from this epoch on (0 = never)", NULL, NULL},
    {"data", "cutmix_correct_lam", K_BOOL, F(aug.mix.correct_lam), 0, 0, "lambda from the clipped box's area", NULL, NULL},
    {"data", "repeated_aug", K_FLOAT, F(aug.repeated_aug), 0, 64, "RepeatAugSampler repeats (timm's "
     "--aug-repeats), 0 = off", NULL, NULL},
    {"train", "epochs", K_INT, F(epochs), 1, 100000, "epochs (passes over the training split)", NULL, NULL},
    {"train", "batch", K_INT, F(batch), 2, 1 << 20, "training batch, images per optimizer step", NULL, NULL},
    {"train", "eval_batch", K_INT, F(eval_batch), 1, 1 << 20, "evaluation batch, images", NULL, NULL},
    {"train", "seed", K_U64, F(seed), 0, 0, "run seed: order, augmentation, init, dropout", NULL, NULL},
    {"train", "backend", K_STR, F(backend), 0, 0, "the backend that trains (backend/ops.h)", dev_names, NULL},
    {"train", "bf16", K_BOOL, F(bf16), 0, 0, "cuda: convolutions in bfloat16 with float32 accumulation and "
     "float32 master weights (autocast-style mixed precision)", NULL, "false"},
    {"train", "label_smoothing", K_FLOAT, F(label_smoothing), 0, 0.99, "label smoothing", NULL, NULL},
    {"train", "clip_grad", K_FLOAT, F(clip_grad), 0, BIG, "gradient clipping: the largest global L2 norm, 0 = off", NULL, NULL},
    {"train", "sync_bn", K_BOOL, F(sync_bn), 0, 0, "data-parallel runs: batch norm statistics over all ranks' "
     "batches (SyncBN); false = per rank, running statistics averaged at each epoch end", NULL, "false"},
    {"train", "ema_decay", K_FLOAT, F(ema.decay), 0, 0.999999, "EMA of the weights, 0 = off", NULL, NULL},
    {"train", "ema_warmup", K_EMAW, F(ema.warmup), 0, 0, "none | timm | tf (decay warm-up)", NULL, NULL},
    {"train", "max_steps", K_INT, F(max_steps), 0, BIG, "stop after this many optimizer steps (smoke runs), 0 = all", NULL, NULL},
    {"train", "eval_every", K_INT, F(eval_every), 1, BIG, "evaluate on the test split after every Nth epoch and "
     "after the first and the last (long runs on small sets: the other epochs' rows hold no eval numbers)", NULL, "1"},
    {"optim", "kind", K_OPTIM, F(optim.kind), 0, 0, "the optimizer: torch SGD, torch AdamW, timm "
     "RMSpropTF (TensorFlow's RMSProp), timm Lamb (engine/train/optim.h)", NULL, NULL},
    {"optim", "momentum", K_FLOAT, F(optim.momentum), 0, 0.9999, "sgd, rmsprop_tf: momentum", NULL, NULL},
    {"optim", "nesterov", K_BOOL, F(optim.nesterov), 0, 0, "sgd: Nesterov momentum", NULL, NULL},
    {"optim", "beta1", K_FLOAT, F(optim.beta1), 0, 0.9999999, "adamw, lamb: first-moment decay "
     "(MobileNetV4 ra4: 0.6)", NULL, NULL},
    {"optim", "beta2", K_FLOAT, F(optim.beta2), 0, 0.9999999, "adamw, lamb: second-moment decay; rmsprop_tf: "
     "the square average's decay (TF's decay); 0 = the kind's own (0.999; rmsprop_tf 0.9)", NULL, NULL},
    {"optim", "eps", K_FLOAT, F(optim.eps), 0, 1, "adamw, lamb: added to the root; rmsprop_tf: inside it "
     "(EfficientNetV2 1e-3); 0 = the kind's own (adamw 1e-8, lamb 1e-6, rmsprop_tf 1e-10)", NULL, NULL},
    {"optim", "weight_decay", K_FLOAT, F(optim.weight_decay), 0, 1, "the optimizer's weight decay (not on "
     "BN, biases): coupled (sgd, rmsprop_tf), decoupled (adamw), added to the update (lamb)", NULL, NULL},
    {"optim", "decoupled", K_BOOL, F(optim.decoupled), 0, 0, "sgd, rmsprop_tf, lamb: weight_decay as "
     "w *= 1 - lr*wd (timm's sgdw, rmsproptfw, lambw); adamw always is", NULL, NULL},
    {"optim", "decay_all", K_BOOL, F(optim.decay_all), 0, 0, "weight decay (both kinds) on BN and biases too", NULL, NULL},
    {"optim", "l2_weight_decay", K_FLOAT, F(optim.l2), 0, 1, "L2 in the loss: gradient += l2*w before "
     "clipping, any optimizer (TF recipes: ResNet-RS 4e-5, EfficientNetV2 1e-5)", NULL, NULL},
    {"optim", "always_adapt", K_BOOL, F(optim.always_adapt), 0, 0, "lamb: the trust ratio on entries "
     "without weight decay too", NULL, NULL},
    {"schedule", "kind", K_SCHED, F(sched.kind), 0, 0, "the decay after warm-up (engine/train/schedule.h)", NULL, NULL},
    {"schedule", "lr_peak", K_FLOAT, F(sched.lr_peak), 0, 100, "peak learning rate (per lr_batch images when that is set)", NULL, NULL},
    {"schedule", "lr_final", K_FLOAT, F(sched.lr_final), 0, 100, "the minimum: where cosine ends (timm's "
     "min_lr), the floor of step and exp_staircase, the cool-down's rate", NULL, NULL},
    {"schedule", "lr_batch", K_INT, F(sched.lr_batch), 0, 1 << 20, "the rates are per this many images, "
     "scaled by train.batch / lr_batch (ResNet-RS, EfficientNetV2: 256); 0 = as written", NULL, NULL},
    {"schedule", "lr_sqrt", K_BOOL, F(sched.lr_sqrt), 0, 0, "scale by sqrt(train.batch / lr_batch) "
     "instead (timm's rule for AdamW and LAMB: MobileNetV4 ra4, 0.002 per 4096 images)", NULL, NULL},
    {"schedule", "warmup_epochs", K_DOUBLE, F(sched.warmup_epochs), 0, 100000, "linear warm-up length, epochs (fractions allowed)", NULL, NULL},
    {"schedule", "warmup_lr", K_FLOAT, F(sched.warmup_lr), 0, 100, "warm-up start, learning rate", NULL, NULL},
    {"schedule", "cooldown_epochs", K_DOUBLE, F(sched.cooldown_epochs), 0, 100000, "the last epochs at "
     "lr_final (timm's cooldown_epochs)", NULL, NULL},
    {"schedule", "milestones", K_FLOATS, F(sched.milestones), 0, 100000, "step: epochs where lr *= gamma", NULL, NULL},
    {"schedule", "gamma", K_FLOAT, F(sched.gamma), 0, 10, "step, exp_staircase: the factor at each decay "
     "(EfficientNetV2 0.97)", NULL, NULL},
    {"schedule", "decay_epochs", K_DOUBLE, F(sched.decay_epochs), 0, 100000, "exp_staircase: epochs "
     "between decays, counted from epoch 0 (EfficientNetV2 2.4)", NULL, NULL},
    {"schedule", "per_step", K_BOOL, F(sched.per_step), 0, 0, "update every step (else per epoch)", NULL, NULL},
    {"distill", "teachers", K_STR, F(distill.teachers), 0, 0, "frozen teachers, name:file.safetensors, "
     "comma separated (train/distill.h); empty = no distillation", NULL, NULL},
    {"distill", "soft_labels", K_STR, F(distill.soft_labels), 0, 0, "the teachers' logits per training "
     "sample (.npy (T, N, K)): read when present, else computed once from the teachers and written", NULL, NULL},
    {"distill", "tau", K_FLOAT, F(distill.tau), 0.01, 100, "temperature of the soft term (MEAL V2, "
     "GhostNetV3: 1)", NULL, NULL},
    {"distill", "kd_weight", K_FLOAT, F(distill.kd_weight), 0, 100, "weight of tau^2 KL(teachers || student) "
     "(Hinton's alpha)", NULL, NULL},
    {"distill", "ce_weight", K_FLOAT, F(distill.ce_weight), 0, 100, "weight of the hard-label cross-entropy "
     "(Hinton: 1 - alpha; GhostNetV3: 1; MEAL V2: 0)", NULL, NULL},
    {"distill", "discriminator", K_BOOL, F(distill.discriminator), 0, 0, "MEAL V2's discriminator on the "
     "logits, its BCE loss added", NULL, NULL},
    {"distill", "disc_reduction", K_INT, F(distill.disc_reduction), 1, 1000, "discriminator widths classes/R, "
     "classes/R^2 (MEAL V2: 8)", NULL, NULL},
    {"progressive", "stages", K_INT, F(prog.stages), 0, 64, "progressive learning's stages (train/progressive.h), "
     "0 = off (EfficientNetV2: 4)", NULL, NULL},
    {"progressive", "rule", K_PROG_RULE, F(prog.rule), 0, 0, "paper: each range linear min -> max over the stages "
     "(Table 6); code: automl main.py's sizes int(res_min + (res_max - res_min)(i+1)/S), dropout not scheduled", NULL, NULL},
    {"progressive", "res_min", K_INT, F(prog.res_min), 0, 4096, "paper: the first stage's training size; code: "
     "ibase (automl 128), below the first stage's; 0 = model.res", NULL, NULL},
    {"progressive", "res_max", K_INT, F(prog.res_max), 0, 4096, "last training size (EfficientNetV2-S: 300; "
     "model.res is the eval size); 0 = model.res", NULL, NULL},
    {"progressive", "randaug_min", K_FLOAT, F(prog.randaug_min), 0, 100, "RandAugment magnitude of data.randaug in "
     "the first stage (EfficientNetV2: 5); min = max = 0: not scheduled", NULL, NULL},
    {"progressive", "randaug_max", K_FLOAT, F(prog.randaug_max), 0, 100, "... in the last (V2-S code 10, paper 15)", NULL, NULL},
    {"progressive", "mixup_min", K_FLOAT, F(prog.mixup_min), 0, 100, "Mixup (and CutMix, when data.cutmix_alpha > "
     "0) alpha in the first stage; 0 there = no mixing; min = max = 0: not scheduled", NULL, NULL},
    {"progressive", "mixup_max", K_FLOAT, F(prog.mixup_max), 0, 100, "... in the last (V2-M code 0.2, L 0.5)", NULL, NULL},
    {"progressive", "dropout_min", K_FLOAT, F(prog.dropout_min), 0, 0.99, "rule paper: dropout in the first stage "
     "(Table 6: 0.1); min = max = 0: model.dropout", NULL, NULL},
    {"progressive", "dropout_max", K_FLOAT, F(prog.dropout_max), 0, 0.99, "... in the last (Table 6: S 0.3, M 0.4, "
     "L 0.5)", NULL, NULL},
};
#undef BIG
#undef F

// the enum-valued key types: their values' names, in the enum's order
static const char *const sched_names[] = {"constant", "cosine", "step", "exp_staircase"};
static const char *const erase_names[] = {"const", "uniform", "pixel", "rand"};
static const char *const emaw_names[] = {"none", "timm", "tf"};
static const char *const optim_names[] = {"sgd", "adamw", "rmsprop_tf", "lamb"};
static const char *const interp_names[] = {"bilinear", "bicubic", "random"};
static const char *const erase_style_names[] = {"zhong", "timm"};
static const char *const mix_mode_names[] = {"batch", "pair", "elem"};
static const struct { KeyType type; const char *const *names; int n; } enum_types[] = {
    {K_SCHED, sched_names, LEN(sched_names)},
    {K_ERASE, erase_names, LEN(erase_names)},
    {K_EMAW, emaw_names, LEN(emaw_names)},
    {K_OPTIM, optim_names, LEN(optim_names)},
    {K_INTERP, interp_names, LEN(interp_names)},
    {K_ERASE_STYLE, erase_style_names, LEN(erase_style_names)},
    {K_MIX_MODE, mix_mode_names, LEN(mix_mode_names)},
    {K_PROG_RULE, prog_rule_names, LEN(prog_rule_names)},
};

// the names of an enum-valued key's values (n of them); NULL for other types
static const char *const *enum_names(KeyType type, int *n)
{
    for (int i = 0; i < LEN(enum_types); i++)
        if (enum_types[i].type == type) {
            *n = enum_types[i].n;
            return enum_types[i].names;
        }
    *n = 0;
    return NULL;
}

// how many values the field holds (strings: bytes), after checking its size against the type
static size_t key_capacity(const RecipeKey *k)
{
    size_t elem = 0;
    switch (k->type) {
    case K_INT: elem = sizeof(int); break;
    case K_U64: elem = sizeof(uint64_t); break;
    case K_FLOAT: elem = sizeof(float); break;
    case K_DOUBLE: elem = sizeof(double); break;
    case K_BOOL: elem = sizeof(bool); break;
    case K_STR: return k->bytes;
    case K_FLOATS: return k->bytes / (strcmp(k->key, "milestones") ? sizeof(float) : sizeof(double));
    default: elem = sizeof(int); break; // enums, stored as int
    }
    CHECK(k->bytes == elem, "recipe key %s.%s: field of %zu bytes for a %zu-byte type", k->section,
          k->key, k->bytes, elem);
    return 1;
}

static void defaults(TrainConfig *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->model, sizeof c->model, "resnet20");
    snprintf(c->dataset, sizeof c->dataset, "fmnist");
    snprintf(c->backend, sizeof c->backend, "cpu");
    c->res = 28;
    c->epochs = 10;
    c->eval_every = 1;
    c->batch = 128;
    c->eval_batch = 500;
    c->seed = 1;
    c->aug.mean[0] = 0.2860f; // Fashion-MNIST train-set statistics
    c->aug.std[0] = 0.3530f;
    for (int k = 1; k < 4; k++) c->aug.std[k] = 1;
    c->aug.erase_area[0] = 0.02f;
    c->aug.erase_area[1] = 0.4f;
    c->aug.erase_aspect = 0.3f;
    c->optim = (Optim){.kind = OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true,
                       .beta1 = 0.9f}; // beta2, eps: 0 = the kind's own (resolve)
    c->aug.erase_count = 1;
    c->aug.rrc_scale[0] = 0.08f; // timm's and torchvision's RandomResizedCrop defaults
    c->aug.rrc_scale[1] = 1;
    c->aug.rrc_ratio[0] = 3.0f / 4;
    c->aug.rrc_ratio[1] = 4.0f / 3;
    c->aug.interpolation = INTERP_RANDOM; // timm's --train-interpolation default
    c->aug.color_jitter_p = 1;
    c->aug.mix = (MixArgs){.prob = 1, .switch_prob = 0.5f, .correct_lam = true}; // timm's Mixup defaults
    c->sched = (Schedule){.kind = SCHED_COSINE, .lr_peak = 0.1f, .per_step = true, .gamma = 0.1f};
    c->net = model_knobs_default(); // multipliers 1: the model as named
    c->net.in_chans = 1;
    c->net.num_classes = 10;
    c->distill.tau = 1;           // MEAL V2 and GhostNetV3 distill at temperature 1
    c->distill.kd_weight = 1;
    c->distill.disc_reduction = 8; // MEAL V2's train.py: Discriminator(outputs_size=1000, K=8)
}

static const RecipeKey *find_key(const char *section, const char *key)
{
    for (int i = 0; i < LEN(keys); i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key)) return &keys[i];
    return NULL;
}

static void list_keys(const char *section, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < LEN(keys) && at < cap; i++)
        if (!section || !strcmp(keys[i].section, section))
            at += snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", keys[i].key);
}

// "model, data, ..." : the table's sections in order
static void list_sections(char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < LEN(keys) && at < cap; i++)
        if (!i || strcmp(keys[i].section, keys[i - 1].section))
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", keys[i].section);
}

static int enum_value(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

// "a | b | c" into buf; returns buf
static const char *join(const char *const *names, int n, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n && at < cap; i++)
        at += snprintf(buf + at, cap - at, "%s%s", i ? " | " : "", names[i]);
    return buf;
}

// a value too large or too small (not zero, but below the smallest normal) for the type
static const char *not_representable(const RecipeKey *k, const char *type, char *buf, size_t cap)
{
    if (k->lo == k->hi) snprintf(buf, cap, "out of range: too large or too small for %s", type);
    else snprintf(buf, cap, "out of range (too large or too small for %s): valid %.10g .. %.10g", type, k->lo, k->hi);
    return buf;
}

// NULL when x is in k's range, else "out of range" with the range written to buf
static const char *in_range(const RecipeKey *k, double x, char *buf, size_t cap)
{
    if (k->lo == k->hi || (x >= k->lo && x <= k->hi)) return NULL;
    snprintf(buf, cap, "out of range: valid %.10g .. %.10g", k->lo, k->hi);
    return buf;
}

// parses value v for key k into c; returns NULL or what is wrong (in buf or a literal)
static const char *set_value(TrainConfig *c, const RecipeKey *k, const char *v, char *buf, size_t cap)
{
    char *p = (char *)c + k->offset, *end;
    errno = 0;
    switch (k->type) {
    case K_INT: {
        long x = strtol(v, &end, 10);
        if (end == v || *end) return k->lo < 0 ? "expected an integer" : "expected a non-negative integer";
        if (errno || x < -1000000000 || x > 1000000000) { // an int holds the rest
            if (k->lo == k->hi) return "out of range: valid -1000000000 .. 1000000000";
            return in_range(k, x > 0 ? 1e300 : -1e300, buf, cap);
        }
        if (x < 0 && k->lo >= 0 && k->lo == k->hi) return "expected a non-negative integer";
        *(int *)p = (int)x;
        return in_range(k, (double)x, buf, cap);
    }
    case K_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *end || *v == '-')
            return "expected a non-negative integer (0 .. 18446744073709551615)";
        if (errno) return "out of range: valid 0 .. 18446744073709551615";
        *(uint64_t *)p = x;
        return NULL;
    }
    case K_FLOAT: {
        double x = strtod(v, &end); // then to float: a value a float cannot hold is out of range
        if (end == v || *end || isnan(x)) return "expected a number";
        if (errno || !isfinite(x) || fabs(x) > FLT_MAX || (x != 0 && fabs(x) < FLT_MIN))
            return not_representable(k, "a float", buf, cap);
        *(float *)p = (float)x;
        return in_range(k, (float)x, buf, cap);
    }
    case K_DOUBLE: {
        double x = strtod(v, &end);
        if (end == v || *end || isnan(x)) return "expected a number";
        if (errno || !isfinite(x)) return not_representable(k, "a double", buf, cap);
        *(double *)p = x;
        return in_range(k, x, buf, cap);
    }
    case K_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1")) *(bool *)p = true;
        else if (!strcmp(v, "false") || !strcmp(v, "0")) *(bool *)p = false;
        else return "expected true or false";
        return NULL;
    case K_STR:
        if (strlen(v) >= k->bytes) return "too long";
        snprintf(p, k->bytes, "%s", v);
        return NULL;
    default: { // an enum, by name
        int n = 0;
        const char *const *names = enum_names(k->type, &n);
        int e = enum_value(v, names, n);
        if (e < 0) {
            char all[80];
            snprintf(buf, cap, "expected one of %s", join(names, n, all, sizeof all));
            return buf;
        }
        *(int *)p = e;
        return NULL;
    }
    case K_FLOATS: {
        bool dbl = !strcmp(k->key, "milestones"), jitter = !strcmp(k->key, "color_jitter");
        size_t n = 0;
        const char *s = v;
        if (jitter) memset(p, 0, k->bytes); // unset strengths are off
        while (*s) {
            errno = 0;
            double x = strtod(s, &end);
            if (end == s || isnan(x)) return "expected numbers separated by commas";
            if (errno || !isfinite(x) || (!dbl && (fabs(x) > FLT_MAX || (x != 0 && fabs(x) < FLT_MIN))))
                return not_representable(k, dbl ? "a double" : "a float", buf, cap);
            if (n == key_capacity(k)) return "too many values";
            const char *bad = in_range(k, x, buf, cap);
            if (bad) return bad;
            if (dbl) ((double *)p)[n++] = x;
            else ((float *)p)[n++] = (float)x;
            s = end;
            while (*s == ' ' || *s == ',') s++;
        }
        if (dbl) c->sched.n_milestones = (int)n;
        const char *per_channel[] = {"mean", "std", "erase_value"}; // checked against the channels
        for (int j = 0; j < 3; j++)
            if (!strcmp(k->key, per_channel[j])) c->aug.n_given[j] = (int)n;
        if (jitter && n == 1) ((float *)p)[1] = ((float *)p)[2] = ((float *)p)[0]; // timm's scalar form
        if (jitter && n == 2) return "expected 1, 3 or 4 values";
        if (!dbl && key_capacity(k) == 2 && n != 2) return "expected two values: min, max";
        return NULL;
    }
    }
}

typedef struct { FILE *f; int line; } Stream;
typedef struct {
    TrainConfig *c;
    const char  *path;
    int          err;
    Stream      *in;
    char         bad_section[64]; // the unknown section reported last: its other keys say nothing
    int          entries;         // key = value lines read
} Ctx;

// inih's line reader, counting lines so messages can name them
static char *read_line(char *str, int num, void *stream)
{
    Stream *s = stream;
    char *r = fgets(str, num, s->f);
    if (r) s->line++;
    return r;
}

static int on_entry(void *user, const char *section, const char *key, const char *raw, int line)
{
    Ctx *x = user;
    x->entries++;
    char value[1024]; // the value without a trailing "# comment" (recipes cite paper and section)
    snprintf(value, sizeof value, "%s", raw);
    for (char *h = strchr(value, '#'); h; h = strchr(h + 1, '#'))
        if (h == value || h[-1] == ' ' || h[-1] == '\t') { *h = 0; break; }
    for (size_t n = strlen(value); n && (value[n - 1] == ' ' || value[n - 1] == '\t'); n--) value[n - 1] = 0;
    char valid[1024], at[600];
    if (line > 0) snprintf(at, sizeof at, "%s:%d", x->path, line);
    else snprintf(at, sizeof at, "%s", x->path); // an override with no position (an option's value)
    const RecipeKey *k = find_key(section, key);
    if (!k) {
        bool known = false;
        for (int i = 0; i < LEN(keys) && !known; i++) known = !strcmp(keys[i].section, section);
        if (!known && !strcmp(x->bad_section, section)) return 1; // said once per section
        if (!known) snprintf(x->bad_section, sizeof x->bad_section, "%s", section);
        if (known) list_keys(section, valid, sizeof valid);
        else list_sections(valid, sizeof valid);
        log_error("%s: unknown %s '%s%s%s' (valid %s%s)", at, known ? "key" : "section", section,
                  known ? "." : "", known ? key : "", known ? "keys: " : "sections: ", valid);
        x->err = ERR_FORMAT;
        return 1; // keep reading: report every bad line
    }
    char range[96];
    const char *why = set_value(x->c, k, value, range, sizeof range);
    if (why) {
        log_error("%s: %s.%s = '%s': %s (%s)", at, section, key, value, why, k->help);
        x->err = ERR_FORMAT;
    }
    return 1;
}

static int inih_handler(void *user, const char *section, const char *key, const char *value)
{
    Ctx *x = user;
    return on_entry(user, section, key, value, x->in ? x->in->line : 0);
}

// mixing pairs (i, n-1-i) with m (what: the keys that turn it on, for the message): an even batch
// and whole batches only; 0 or ERR_FORMAT with one line
static int mixing_check(const TrainConfig *c, const MixArgs *m, const char *what)
{
    if (!mixup_on(m) || (c->batch % 2 == 0 && c->drop_last)) return 0;
    log_error("recipe: %s mix pairs (i, n-1-i): they need an even train.batch (%d) and data.drop_last = true (%s), "
              "as timm's loader", what, c->batch, c->drop_last ? "true" : "false");
    return ERR_FORMAT;
}

// checks what the parse alone cannot: the model's name, and keys that must agree. Names of what
// this build must provide to train (the dataset's reader, the teachers' models) are errors when
// `missing` is NULL, else "needs:" lines on it (recipe_check)
static int resolve(TrainConfig *c, FILE *missing)
{
    if (!model_known(c->model)) {
        log_error("recipe: model.name = '%s': unknown model (valid: %s)", c->model, model_names());
        return ERR_FORMAT;
    }
    if (model_check(c->model, &c->net) || model_check_res(c->model, c->res)) return ERR_FORMAT;
    c->sched.epochs = c->epochs;
    // what no single key's range can say
    if (!dataset_known(c->dataset) && missing)
        fprintf(missing, "needs: data.dataset = %s: no reader for it here (valid now: %s)\n", c->dataset,
                dataset_names());
    else if (!dataset_known(c->dataset)) {
        log_error("recipe: data.dataset = '%s': %s (valid: %s)", c->dataset,
                  dataset_info(c->dataset) ? "this build has no reader for it" : "unknown dataset", dataset_names());
        return ERR_FORMAT;
    }
    if (!dev_known(c->backend)) {
        log_error("recipe: train.backend = '%s': unknown backend (valid: %s)", c->backend, dev_names());
        return ERR_FORMAT;
    }
    if (missing && dataset_known(c->dataset) && !dataset_present(c->dataset, c->data_dir))
        fprintf(missing, "needs: data.dataset = %s: its shards are not here (repro data list: where it is read from "
                         "and where it comes from)\n", c->dataset);
    // per-channel values: one for every channel (or one for all of them), never silently cut
    const char *per_channel[] = {"mean", "std", "erase_value"};
    float *vals[] = {c->aug.mean, c->aug.std, c->aug.erase_value};
    for (int j = 0; j < 3; j++) {
        int n = c->aug.n_given[j], ch = c->net.in_chans;
        if (n == 1)
            for (int i = 1; i < 4; i++) vals[j][i] = vals[j][0];
        else if (n && n != ch) {
            log_error("recipe: data.%s has %d values, but model.in_chans = %d: give %d (one per channel) or one "
                      "for all", per_channel[j], n, ch, ch);
            return ERR_FORMAT;
        }
    }
    if (augment_resolve(&c->aug)) return ERR_FORMAT;
    if (mixing_check(c, &c->aug.mix, "data.mixup_alpha / cutmix_alpha / cutmix_minmax")) return ERR_FORMAT;
    bool live_teachers = c->distill.teachers[0] && !c->distill.soft_labels[0];
    if (prog_check(&c->prog, c->res, c->model, &c->net, c->aug.ra.on, live_teachers)) return ERR_FORMAT;
    if (prog_on(&c->prog)) { // the last stage mixes the most
        ProgSettings base = {c->res, c->aug.ra.m, c->aug.mix.mixup_alpha, c->aug.mix.cutmix_alpha, c->net.dropout};
        ProgStage last = prog_stage(&c->prog, &base, 1, c->prog.stages - 1);
        MixArgs m = c->aug.mix;
        m.mixup_alpha = last.s.mixup_alpha, m.cutmix_alpha = last.s.cutmix_alpha;
        if (mixing_check(c, &m, "progressive.mixup_min / mixup_max")) return ERR_FORMAT;
    }
    for (int i = 1; i < c->sched.n_milestones; i++)
        if (c->sched.milestones[i] <= c->sched.milestones[i - 1]) {
            log_error("recipe: schedule.milestones must increase (%g then %g)", c->sched.milestones[i - 1],
                      c->sched.milestones[i]);
            return ERR_FORMAT;
        }
    optim_defaults(&c->optim);
    if (c->optim.always_adapt && c->optim.kind != OPTIM_LAMB) {
        log_error("recipe: optim.always_adapt applies to optim.kind = lamb, not %s", optim_names[c->optim.kind]);
        return ERR_FORMAT;
    }
    if (c->sched.lr_sqrt && !c->sched.lr_batch) {
        log_error("recipe: schedule.lr_sqrt = true needs schedule.lr_batch > 0 (the batch the rates are for)");
        return ERR_FORMAT;
    }
    if (c->sched.kind == SCHED_EXP_STAIRCASE && c->sched.decay_epochs <= 0) {
        log_error("recipe: schedule.kind = exp_staircase needs schedule.decay_epochs > 0 (EfficientNetV2: 2.4)");
        return ERR_FORMAT;
    }
    if (c->sched.warmup_epochs + c->sched.cooldown_epochs > c->epochs) {
        log_error("recipe: schedule.warmup_epochs %g + cooldown_epochs %g exceed train.epochs %d",
                  c->sched.warmup_epochs, c->sched.cooldown_epochs, c->epochs);
        return ERR_FORMAT;
    }
    if (c->ema.warmup != EMA_WARMUP_NONE && c->ema.decay == 0) {
        log_error("recipe: train.ema_warmup = %s needs train.ema_decay > 0", emaw_names[c->ema.warmup]);
        return ERR_FORMAT;
    }
    if (distill_check(&c->distill, c->net.num_classes, missing)) return ERR_FORMAT;
    return 0;
}

// one "section.key=value" override into c, named `where` (and index, when > 0) in messages; 0 or
// ERR_FORMAT with one line
static int apply_set(TrainConfig *c, const char *set, const char *where, int index)
{
    char section[32], key[64];
    const char *dot = strchr(set, '.'), *eq = strchr(set, '=');
    if (!dot || !eq || dot > eq || dot - set >= (long)sizeof section || eq - dot - 1 >= (long)sizeof key) {
        log_error("--set %s: expected section.key=value", set);
        return ERR_FORMAT;
    }
    snprintf(section, sizeof section, "%.*s", (int)(dot - set), set);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    Ctx y = {c, where, 0, NULL, "", 0};
    on_entry(&y, section, key, eq + 1, index);
    return y.err;
}

// defaults, then the INI text of `in` (named `name` in messages; NULL: none), then the
// overrides, then resolve
static int load(TrainConfig *c, const char *name, FILE *in_f, int n_sets, char *const *sets, FILE *missing)
{
    for (int i = 0; i < LEN(keys); i++) key_capacity(&keys[i]); // the table agrees with the struct
    defaults(c);
    Stream in = {in_f, 0};
    Ctx x = {c, name, 0, &in, "", 0};
    if (in_f) {
        int line = ini_parse_stream(read_line, &in, inih_handler, &x);
        if (line > 0) {
            log_error("%s:%d: not an INI line (expected [section] or key = value)", name, line);
            return ERR_FORMAT;
        }
        if (!x.entries && !x.err) { // an empty file would train on the defaults, silently
            log_error("recipe %s: holds no key = value line (empty, or comments only); a recipe names at least its "
                      "model and data (see recipes/*.recipe; repro recipe --keys lists the keys)", name);
            return ERR_FORMAT;
        }
    }
    for (int i = 0; i < n_sets; i++) {
        int rc = apply_set(c, sets[i], "--set", i + 1);
        if (rc) x.err = rc;
    }
    if (x.err) return x.err;
    return resolve(c, missing);
}

// load from the file at path (NULL: defaults and overrides only)
static int load_path(TrainConfig *c, const char *path, int n_sets, char *const *sets, FILE *missing)
{
    FILE *f = NULL;
    if (path && !(f = fopen(path, "r"))) {
        log_error("recipe %s: cannot open (%s)", path, strerror(errno));
        return ERR_IO;
    }
    int rc = load(c, path, f, n_sets, sets, missing);
    if (f) fclose(f);
    return rc;
}

int recipe_load(TrainConfig *c, const char *path, int n_sets, char *const *sets)
{
    return load_path(c, path, n_sets, sets, NULL);
}

int recipe_parse(TrainConfig *c, const char *name, const char *text, int n_sets, char *const *sets, FILE *needs)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    CHECK(f || !text[0], "recipe_parse: fmemopen failed");
    int rc = load(c, name, f, n_sets, sets, needs);
    if (f) fclose(f);
    return rc;
}

void recipe_defaults(TrainConfig *c) { defaults(c); }

int recipe_set(TrainConfig *c, const char *set, const char *where) { return apply_set(c, set, where, 0); }

int recipe_check(TrainConfig *c, const char *path, int n_sets, char *const *sets, FILE *needs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    CHECK(m, "recipe_check: open_memstream failed");
    int rc = load_path(c, path, n_sets, sets, m);
    fclose(m);
    int n = 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    if (!rc) fputs(text, needs);
    free(text);
    return rc ? rc : n;
}

// the shortest %g form that reads back as the same float
static const char *fmt_float(double v, char out[32])
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if ((float)strtod(out, NULL) == (float)v) break;
    }
    return out;
}

// key k's value in c as recipe text (what parsing it gives back) into buf; returns the length
static size_t format_value(const RecipeKey *k, const TrainConfig *c, char *buf, size_t cap)
{
    char f32[32];
    const char *p = (const char *)c + k->offset;
    int n = 0;
    const char *const *names = enum_names(k->type, &n);
    switch (k->type) {
    case K_INT: return (size_t)snprintf(buf, cap, "%d", *(const int *)p);
    case K_U64: return (size_t)snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p);
    case K_FLOAT: return (size_t)snprintf(buf, cap, "%s", fmt_float(*(const float *)p, f32));
    case K_DOUBLE: return (size_t)snprintf(buf, cap, "%.17g", *(const double *)p);
    case K_BOOL: return (size_t)snprintf(buf, cap, "%s", *(const bool *)p ? "true" : "false");
    case K_STR: return (size_t)snprintf(buf, cap, "%s", p);
    case K_FLOATS: {
        bool dbl = !strcmp(k->key, "milestones");
        size_t m = dbl ? (size_t)c->sched.n_milestones : key_capacity(k), at = 0;
        if (!strcmp(k->key, "mean") || !strcmp(k->key, "std") || !strcmp(k->key, "erase_value"))
            m = (size_t)(c->net.in_chans < 4 ? c->net.in_chans : 4);
        buf[0] = 0;
        for (size_t j = 0; j < m && at < cap; j++)
            at += snprintf(buf + at, cap - at, "%s%s", j ? ", " : "",
                           fmt_float(dbl ? ((const double *)p)[j] : (double)((const float *)p)[j], f32));
        return at;
    }
    default: return (size_t)snprintf(buf, cap, "%s", names[*(const int *)p]);
    }
}

// the keys of c as INI text, section by section, onto f: every key (the resolved recipe), or
// those of the run id (identity: the first schema's keys, and later keys set to something else
// than their id_neutral value)
static void write_keys(const TrainConfig *c, FILE *f, bool identity)
{
    const char *section = "";
    bool first = true;
    for (int i = 0; i < LEN(keys); i++) {
        const RecipeKey *k = &keys[i];
        char value[2048];
        size_t n = format_value(k, c, value, sizeof value);
        CHECK(n < sizeof value, "recipe: %s.%s's value does not fit %zu bytes", k->section, k->key, sizeof value);
        if (identity && k->id_neutral && !strcmp(value, k->id_neutral)) continue;
        if (strcmp(section, k->section)) {
            fprintf(f, "%s[%s]\n", first ? "" : "\n", k->section);
            section = k->section;
            first = false;
        }
        fprintf(f, "%s = %s\n", k->key, value);
    }
}

static char *keys_text(const TrainConfig *c, bool identity)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f, "recipe: open_memstream failed");
    write_keys(c, f, identity);
    CHECK(fclose(f) == 0 && text, "recipe: writing the recipe text failed");
    return text;
}

char *recipe_text(const TrainConfig *c) { return keys_text(c, false); }

void recipe_run_id(const TrainConfig *c, char out[17])
{
    char *text = keys_text(c, true);
    uint64_t h = fnv1a(text, strlen(text), FNV_SEED);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    free(text);
}

void recipe_print_keys(FILE *f)
{
    TrainConfig c;
    defaults(&c);
    fprintf(f, "%-26s %-12s %-40s %s\n", "key", "default", "valid", "meaning");
    for (int i = 0; i < LEN(keys); i++) {
        const RecipeKey *k = &keys[i];
        char name[64], value[128], valid[128];
        snprintf(name, sizeof name, "%s.%s", k->section, k->key);
        format_value(k, &c, value, sizeof value);
        int n = 0;
        const char *const *names = enum_names(k->type, &n);
        if (names) join(names, n, valid, sizeof valid);
        else if (k->type == K_BOOL) snprintf(valid, sizeof valid, "true | false");
        else if (k->names) snprintf(valid, sizeof valid, "%s", k->names());
        else if (k->type == K_STR) snprintf(valid, sizeof valid, "text");
        else if (k->type == K_U64) snprintf(valid, sizeof valid, "0 .. 18446744073709551615");
        else if (k->lo == k->hi) snprintf(valid, sizeof valid, "any");
        else snprintf(valid, sizeof valid, "%.10g .. %.10g%s", k->lo, k->hi, k->type == K_FLOATS ? ", ..." : "");
        fprintf(f, "%-26s %-12s %-40s %s\n", name, value[0] ? value : "\"\"", valid, k->help);
    }
}
