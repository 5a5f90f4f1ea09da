/* engine/io/recipe.c — the recipe key table, parsing and formatting (recipe.h). */
#include "recipe.h"

#include "../data/dataset.h" // dataset_known, dataset_names

#include <errno.h>  // errno
#include <math.h>   // isfinite
#include <stddef.h> // offsetof
#include <ini.h>    // ini_parse
#include <stdio.h>  // snprintf
#include <string.h> // strcmp

typedef enum {
    K_INT, K_U64, K_FLOAT, K_DOUBLE, K_BOOL, K_STR, K_FLOATS,
    K_SCHED, K_ERASE, K_EMAW, K_INTERP, K_ERASE_STYLE, K_MIX_MODE, // enums: names in enum_names
} KeyType;

typedef struct {
    const char *section, *key;
    KeyType     type;
    size_t      offset, bytes; // the field in TrainConfig: where, and how large
    double      lo, hi;        // numbers: the valid range, both ends included (lo = hi = 0: any)
    const char *help;
} RecipeKey;

// each key records its field's offset and size; key_capacity checks the size against the type
#define F(field) offsetof(TrainConfig, field), sizeof(((TrainConfig *)0)->field)
#define BIG 1e9
static const RecipeKey keys[] = {
    {"model", "name", K_STR, F(model), 0, 0, "a registered model (bin/repro model --help)"},
    {"model", "width", K_FLOAT, F(net.width), 1e-3, 64, "width multiplier on the named model"},
    {"model", "depth", K_FLOAT, F(net.depth), 1e-3, 64, "depth multiplier (EfficientNet-style families)"},
    {"model", "drop_path", K_FLOAT, F(net.drop_path), 0, 0.99, "stochastic depth at the last block"},
    {"model", "dropout", K_FLOAT, F(net.dropout), 0, 0.99, "dropout before the classifier"},
    {"model", "se_ratio", K_FLOAT, F(net.se_ratio), 0, 1, "squeeze-excitation ratio, 0 = the model's own"},
    {"model", "fused_stages", K_INT, F(net.fused_stages), -1, 16, "EfficientNet: the first N stages "
     "Fused-MBConv, -1 = the model's own"},
    {"model", "in_chans", K_INT, F(net.in_chans), 1, 4, "input channels"},
    {"model", "classes", K_INT, F(net.num_classes), 2, 100000, "classes"},
    {"model", "res", K_INT, F(res), 8, 4096, "train and eval resolution (the data is resized to it)"},
    {"model", "weights", K_STR, F(weights), 0, 0, "start from a .safetensors file (timm state dict or "
     "checkpoint); empty = init from the seed"},
    {"data", "dataset", K_STR, F(dataset), 0, 0, "fmnist | cifar10 | cifar100"},
    {"data", "dir", K_STR, F(data_dir), 0, 0, "data folder (empty: the dataset's default)"},
    {"data", "train_limit", K_INT, F(train_limit), 0, BIG, "use the first N training samples (0 = all)"},
    {"data", "eval_limit", K_INT, F(eval_limit), 0, BIG, "use the first N test samples (0 = all)"},
    {"data", "drop_last", K_BOOL, F(drop_last), 0, 0, "drop each epoch's last partial batch"},
    {"data", "pad", K_INT, F(aug.pad), 0, 64, "random crop padding (0 = no crop)"},
    {"data", "rrc", K_BOOL, F(aug.rrc), 0, 0, "RandomResizedCrop to model.res (timm's training crop)"},
    {"data", "rrc_scale", K_FLOATS, F(aug.rrc_scale), 1e-4, 1, "RandomResizedCrop area fraction: min, max"},
    {"data", "rrc_ratio", K_FLOATS, F(aug.rrc_ratio), 1e-2, 100, "RandomResizedCrop aspect w/h: min, max"},
    {"data", "interpolation", K_INTERP, F(aug.interpolation), 0, 0, "bilinear | bicubic | random (per sample; "
     "RRC, RandAugment; the eval resize takes bilinear for random)"},
    {"data", "flip", K_BOOL, F(aug.flip), 0, 0, "random horizontal flip"},
    {"data", "randaug", K_STR, F(aug.randaug), 0, 0, "RandAugment: empty = off, timm's rand-m9-mstd0.5-inc1, "
     "TensorFlow's tf-n2-m15"},
    {"data", "color_jitter", K_FLOATS, F(aug.color_jitter), 0, 10, "ColorJitter brightness, contrast, "
     "saturation[, hue <= 0.5]; one value x: x, x, x (timm)"},
    {"data", "color_jitter_p", K_FLOAT, F(aug.color_jitter_p), 0, 1, "probability of the color jitter"},
    {"data", "grayscale_p", K_FLOAT, F(aug.grayscale_p), 0, 1, "RandomGrayscale probability"},
    {"data", "blur_p", K_FLOAT, F(aug.blur_p), 0, 1, "GaussianBlur(23, sigma 0.1 .. 2) probability"},
    {"data", "mean", K_FLOATS, F(aug.mean), -10, 10, "normalization mean per channel, on [0,1] pixels"},
    {"data", "std", K_FLOATS, F(aug.std), 1e-6, 10, "normalization std per channel"},
    {"data", "erase_p", K_FLOAT, F(aug.erase_p), 0, 1, "random erasing probability"},
    {"data", "erase_style", K_ERASE_STYLE, F(aug.erase_style), 0, 0, "zhong (one box, aspect uniform) | timm "
     "(log-uniform aspect, up to erase_count boxes)"},
    {"data", "erase_count", K_INT, F(aug.erase_count), 1, 16, "timm style: boxes per image, uniform in 1 .. this"},
    {"data", "erase_area", K_FLOATS, F(aug.erase_area), 1e-6, 1, "erased area fraction: min, max"},
    {"data", "erase_aspect", K_FLOAT, F(aug.erase_aspect), 1e-3, 1, "aspect ratio range [r, 1/r]"},
    {"data", "erase_mode", K_ERASE, F(aug.erase_mode), 0, 0, "const | uniform | pixel (N(0,1) per value) | "
     "rand (N(0,1) per channel)"},
    {"data", "erase_value", K_FLOATS, F(aug.erase_value), -100, 100, "const mode: value per channel"},
    {"data", "crop_pct", K_FLOAT, F(aug.crop_pct), 0, 1, "eval: resize the shorter side to res / crop_pct, "
     "centre crop (0 = plain resize to res)"},
    {"data", "mixup_alpha", K_FLOAT, F(aug.mix.mixup_alpha), 0, 100, "Mixup lambda ~ Beta(alpha, alpha), 0 = off"},
    {"data", "cutmix_alpha", K_FLOAT, F(aug.mix.cutmix_alpha), 0, 100, "CutMix lambda ~ Beta(alpha, alpha), 0 = off"},
    {"data", "cutmix_minmax", K_FLOATS, F(aug.mix.cutmix_minmax), 0, 1, "CutMix box sides as fractions min, max "
     "instead of alpha's (0, 0 = off)"},
    {"data", "mixup_prob", K_FLOAT, F(aug.mix.prob), 0, 1, "probability of mixing a batch, pair or sample"},
    {"data", "mixup_switch_prob", K_FLOAT, F(aug.mix.switch_prob), 0, 1, "CutMix's share when both are on"},
    {"data", "mixup_mode", K_MIX_MODE, F(aug.mix.mode), 0, 0, "batch | pair | elem (one lambda per ...)"},
    {"data", "mixup_off_epoch", K_INT, F(aug.mix.off_epoch), 0, BIG, "no mixing from this epoch on (0 = never)"},
    {"data", "cutmix_correct_lam", K_BOOL, F(aug.mix.correct_lam), 0, 0, "lambda from the clipped box's area"},
    {"data", "repeated_aug", K_FLOAT, F(aug.repeated_aug), 0, 64, "RepeatAugSampler repeats (timm's "
     "--aug-repeats), 0 = off"},
    {"train", "epochs", K_INT, F(epochs), 1, 100000, "epochs"},
    {"train", "batch", K_INT, F(batch), 2, 1 << 20, "training batch"},
    {"train", "eval_batch", K_INT, F(eval_batch), 1, 1 << 20, "evaluation batch"},
    {"train", "seed", K_U64, F(seed), 0, 0, "run seed: order, augmentation, init, dropout"},
    {"train", "backend", K_STR, F(backend), 0, 0, "cpu | ref | cuda"},
    {"train", "label_smoothing", K_FLOAT, F(label_smoothing), 0, 0.99, "label smoothing"},
    {"train", "clip_grad", K_FLOAT, F(clip_grad), 0, BIG, "gradient-norm clipping, 0 = off"},
    {"train", "ema_decay", K_FLOAT, F(ema.decay), 0, 0.999999, "EMA of the weights, 0 = off"},
    {"train", "ema_warmup", K_EMAW, F(ema.warmup), 0, 0, "none | timm | tf (decay warm-up)"},
    {"train", "max_steps", K_INT, F(max_steps), 0, BIG, "stop after this many steps, 0 = all"},
    {"optim", "momentum", K_FLOAT, F(sgd.momentum), 0, 0.9999, "SGD momentum"},
    {"optim", "nesterov", K_BOOL, F(sgd.nesterov), 0, 0, "Nesterov momentum"},
    {"optim", "weight_decay", K_FLOAT, F(sgd.weight_decay), 0, 1, "coupled weight decay (not on BN, biases)"},
    {"optim", "decay_all", K_BOOL, F(sgd.decay_all), 0, 0, "weight decay on BN and biases too"},
    {"schedule", "kind", K_SCHED, F(sched.kind), 0, 0, "constant | cosine | step"},
    {"schedule", "lr_peak", K_FLOAT, F(sched.lr_peak), 0, 100, "peak learning rate"},
    {"schedule", "lr_final", K_FLOAT, F(sched.lr_final), 0, 100, "cosine: final learning rate"},
    {"schedule", "warmup_epochs", K_DOUBLE, F(sched.warmup_epochs), 0, 100000, "linear warm-up length"},
    {"schedule", "warmup_lr", K_FLOAT, F(sched.warmup_lr), 0, 100, "warm-up start"},
    {"schedule", "milestones", K_FLOATS, F(sched.milestones), 0, 100000, "step: epochs where lr *= gamma"},
    {"schedule", "gamma", K_FLOAT, F(sched.gamma), 0, 10, "step: factor"},
    {"schedule", "per_step", K_BOOL, F(sched.per_step), 0, 0, "update every step (else per epoch)"},
};
#undef BIG
#undef F

static const char *const sched_names[] = {"constant", "cosine", "step"};
static const char *const erase_names[] = {"const", "uniform", "pixel", "rand"};
static const char *const emaw_names[] = {"none", "timm", "tf"};
static const char *const interp_names[] = {"bilinear", "bicubic", "random"};
static const char *const erase_style_names[] = {"zhong", "timm"};
static const char *const mix_mode_names[] = {"batch", "pair", "elem"};

// the value names of an enum key type (NULL for other types), in the enum's order
static const char *const *enum_names(KeyType t, int *n)
{
    switch (t) {
    case K_SCHED: *n = LEN(sched_names); return sched_names;
    case K_ERASE: *n = LEN(erase_names); return erase_names;
    case K_EMAW: *n = LEN(emaw_names); return emaw_names;
    case K_INTERP: *n = LEN(interp_names); return interp_names;
    case K_ERASE_STYLE: *n = LEN(erase_style_names); return erase_style_names;
    case K_MIX_MODE: *n = LEN(mix_mode_names); return mix_mode_names;
    default: *n = 0; return NULL;
    }
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
    default: elem = sizeof(int); break; // enums
    case K_FLOATS: return k->bytes / (strcmp(k->key, "milestones") ? sizeof(float) : sizeof(double));
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
    c->batch = 128;
    c->eval_batch = 500;
    c->seed = 1;
    c->aug.mean[0] = 0.2860f; // Fashion-MNIST train-set statistics
    c->aug.std[0] = 0.3530f;
    for (int k = 1; k < 4; k++) c->aug.std[k] = 1;
    c->aug.erase_area[0] = 0.02f;
    c->aug.erase_area[1] = 0.4f;
    c->aug.erase_aspect = 0.3f;
    c->aug.erase_count = 1;
    c->aug.rrc_scale[0] = 0.08f; // timm's and torchvision's RandomResizedCrop defaults
    c->aug.rrc_scale[1] = 1;
    c->aug.rrc_ratio[0] = 3.0f / 4;
    c->aug.rrc_ratio[1] = 4.0f / 3;
    c->aug.interpolation = INTERP_RANDOM; // timm's --train-interpolation default
    c->aug.color_jitter_p = 1;
    c->aug.mix = (MixArgs){.prob = 1, .switch_prob = 0.5f, .correct_lam = true}; // timm's Mixup defaults
    c->sgd = (Sgd){.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true};
    c->sched = (Schedule){.kind = SCHED_COSINE, .lr_peak = 0.1f, .per_step = true, .gamma = 0.1f};
    c->net = model_knobs_default(); // multipliers 1: the model as named
    c->net.in_chans = 1;
    c->net.num_classes = 10;
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

static int enum_value(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

// NULL when x is in k's range, else "out of range" with the range written to buf
static const char *in_range(const RecipeKey *k, double x, char *buf, size_t cap)
{
    if (k->lo == k->hi || (x >= k->lo && x <= k->hi)) return NULL;
    snprintf(buf, cap, "out of range: valid %g .. %g", k->lo, k->hi);
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
        if (end == v || *end || errno || x < 0 || x > 1000000000) return "expected a non-negative integer";
        *(int *)p = (int)x;
        return in_range(k, (double)x, buf, cap);
    }
    case K_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *end || errno || *v == '-') return "expected a non-negative integer";
        *(uint64_t *)p = x;
        return NULL;
    }
    case K_FLOAT: {
        float x = strtof(v, &end);
        if (end == v || *end || errno || !isfinite(x)) return "expected a number";
        *(float *)p = x;
        return in_range(k, x, buf, cap);
    }
    case K_DOUBLE: {
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x)) return "expected a number";
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
    case K_FLOATS: {
        bool dbl = !strcmp(k->key, "milestones"), jitter = !strcmp(k->key, "color_jitter");
        size_t n = 0;
        const char *s = v;
        if (jitter) memset(p, 0, k->bytes); // unset strengths are off
        while (*s) {
            double x = strtod(s, &end);
            if (end == s || !isfinite(x)) return "expected numbers separated by commas";
            if (n == key_capacity(k)) return "too many values";
            const char *bad = in_range(k, x, buf, cap);
            if (bad) return bad;
            if (dbl) ((double *)p)[n++] = x;
            else ((float *)p)[n++] = (float)x;
            s = end;
            while (*s == ' ' || *s == ',') s++;
        }
        if (dbl) c->sched.n_milestones = (int)n;
        if (jitter && n == 1) ((float *)p)[1] = ((float *)p)[2] = ((float *)p)[0]; // timm's scalar form
        if (jitter && n == 2) return "expected 1, 3 or 4 values";
        if (!dbl && key_capacity(k) == 2 && n != 2) return "expected two values: min, max";
        return NULL;
    }
    default: { // enums
        int n_names;
        const char *const *names = enum_names(k->type, &n_names);
        int e = enum_value(v, names, n_names);
        if (e < 0) {
            size_t at = (size_t)snprintf(buf, cap, "expected");
            for (int i = 0; i < n_names && at < cap; i++)
                at += (size_t)snprintf(buf + at, cap - at, "%s %s", i ? " |" : "", names[i]);
            return buf;
        }
        *(int *)p = e;
        return NULL;
    }
    }
}

typedef struct { FILE *f; int line; } Stream;
typedef struct { TrainConfig *c; const char *path; int err; Stream *in; } Ctx;

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
    char value[1024]; // the value without a trailing "# comment" (recipes cite paper and section)
    snprintf(value, sizeof value, "%s", raw);
    for (char *h = strchr(value, '#'); h; h = strchr(h + 1, '#'))
        if (h == value || h[-1] == ' ' || h[-1] == '\t') { *h = 0; break; }
    for (size_t n = strlen(value); n && (value[n - 1] == ' ' || value[n - 1] == '\t'); n--) value[n - 1] = 0;
    char valid[1024];
    const RecipeKey *k = find_key(section, key);
    if (!k) {
        bool known = false;
        for (int i = 0; i < LEN(keys) && !known; i++) known = !strcmp(keys[i].section, section);
        if (known) list_keys(section, valid, sizeof valid);
        else snprintf(valid, sizeof valid, "sections: model, data, train, optim, schedule");
        log_error("%s:%d: unknown %s '%s%s%s' (valid %s%s)", x->path, line, known ? "key" : "section",
                  known ? section : section, known ? "." : "", known ? key : "", known ? "keys: " : "", valid);
        x->err = ERR_FORMAT;
        return 1; // keep reading: report every bad line
    }
    char range[96];
    const char *why = set_value(x->c, k, value, range, sizeof range);
    if (why) {
        log_error("%s:%d: %s.%s = '%s': %s (%s)", x->path, line, section, key, value, why, k->help);
        x->err = ERR_FORMAT;
    }
    return 1;
}

static int inih_handler(void *user, const char *section, const char *key, const char *value)
{
    Ctx *x = user;
    return on_entry(user, section, key, value, x->in ? x->in->line : 0);
}

// checks what the parse alone cannot: the model's name, and keys that must agree
static int resolve(TrainConfig *c)
{
    if (!model_known(c->model)) {
        log_error("recipe: model.name = '%s': unknown model (valid: %s)", c->model, model_names());
        return ERR_FORMAT;
    }
    if (model_check(c->model, &c->net)) return ERR_FORMAT;
    c->sched.epochs = c->epochs;
    // what no single key's range can say
    if (!dataset_known(c->dataset)) {
        log_error("recipe: data.dataset = '%s': unknown dataset (valid: %s)", c->dataset, dataset_names());
        return ERR_FORMAT;
    }
    if (strcmp(c->backend, "cpu") && strcmp(c->backend, "ref") && strcmp(c->backend, "cuda")) {
        log_error("recipe: train.backend = '%s': unknown backend (valid: cpu, ref, cuda)", c->backend);
        return ERR_FORMAT;
    }
    if (augment_resolve(&c->aug)) return ERR_FORMAT;
    if (mixup_on(&c->aug.mix) && (c->batch % 2 || !c->drop_last)) {
        log_error("recipe: data.mixup_alpha / cutmix_alpha / cutmix_minmax mix pairs (i, n-1-i): they need an even "
                  "train.batch (%d) and data.drop_last = true (%s), as timm's loader", c->batch,
                  c->drop_last ? "true" : "false");
        return ERR_FORMAT;
    }
    for (int i = 1; i < c->sched.n_milestones; i++)
        if (c->sched.milestones[i] <= c->sched.milestones[i - 1]) {
            log_error("recipe: schedule.milestones must increase (%g then %g)", c->sched.milestones[i - 1],
                      c->sched.milestones[i]);
            return ERR_FORMAT;
        }
    if (c->ema.warmup != EMA_WARMUP_NONE && c->ema.decay == 0) {
        log_error("recipe: train.ema_warmup = %s needs train.ema_decay > 0", emaw_names[c->ema.warmup]);
        return ERR_FORMAT;
    }
    return 0;
}

int recipe_load(TrainConfig *c, const char *path, int n_sets, char *const *sets)
{
    for (int i = 0; i < LEN(keys); i++) key_capacity(&keys[i]); // the table agrees with the struct
    defaults(c);
    Stream in = {NULL, 0};
    Ctx x = {c, path, 0, &in};
    if (path) {
        in.f = fopen(path, "r");
        if (!in.f) {
            log_error("recipe %s: cannot open (%s)", path, strerror(errno));
            return ERR_IO;
        }
        int line = ini_parse_stream(read_line, &in, inih_handler, &x);
        fclose(in.f);
        if (line > 0) {
            log_error("%s:%d: not an INI line (expected [section] or key = value)", path, line);
            return ERR_FORMAT;
        }
    }
    for (int i = 0; i < n_sets; i++) {
        char section[32], key[64];
        const char *dot = strchr(sets[i], '.'), *eq = strchr(sets[i], '=');
        if (!dot || !eq || dot > eq || dot - sets[i] >= (long)sizeof section || eq - dot - 1 >= (long)sizeof key) {
            log_error("--set %s: expected section.key=value", sets[i]);
            return ERR_FORMAT;
        }
        snprintf(section, sizeof section, "%.*s", (int)(dot - sets[i]), sets[i]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
        Ctx y = {c, "--set", 0, NULL};
        on_entry(&y, section, key, eq + 1, i + 1);
        if (y.err) x.err = y.err;
    }
    if (x.err) return x.err;
    return resolve(c);
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

size_t recipe_format(const TrainConfig *c, char *buf, size_t cap)
{
    char f32[32];
    size_t at = 0;
    const char *section = "";
    for (int i = 0; i < LEN(keys) && at < cap; i++) {
        const RecipeKey *k = &keys[i];
        if (strcmp(section, k->section)) {
            at += snprintf(buf + at, cap - at, "%s[%s]\n", at ? "\n" : "", k->section);
            section = k->section;
        }
        if (at >= cap) break;
        const char *p = (const char *)c + k->offset;
        at += snprintf(buf + at, cap - at, "%s = ", k->key);
        if (at >= cap) break;
        switch (k->type) {
        case K_INT: at += snprintf(buf + at, cap - at, "%d", *(const int *)p); break;
        case K_U64: at += snprintf(buf + at, cap - at, "%llu", (unsigned long long)*(const uint64_t *)p); break;
        case K_FLOAT: at += snprintf(buf + at, cap - at, "%s", fmt_float(*(const float *)p, f32)); break;
        case K_DOUBLE: at += snprintf(buf + at, cap - at, "%.17g", *(const double *)p); break;
        case K_BOOL: at += snprintf(buf + at, cap - at, "%s", *(const bool *)p ? "true" : "false"); break;
        case K_STR: at += snprintf(buf + at, cap - at, "%s", p); break;
        default: { // enums
            int n_names;
            at += snprintf(buf + at, cap - at, "%s", enum_names(k->type, &n_names)[*(const int *)p]);
            break;
        }
        case K_FLOATS: {
            bool dbl = !strcmp(k->key, "milestones");
            size_t n = dbl ? (size_t)c->sched.n_milestones : key_capacity(k);
            if (!strcmp(k->key, "mean") || !strcmp(k->key, "std") || !strcmp(k->key, "erase_value"))
                n = (size_t)(c->net.in_chans < 4 ? c->net.in_chans : 4);
            for (size_t j = 0; j < n && at < cap; j++)
                at += snprintf(buf + at, cap - at, "%s%s", j ? ", " : "",
                               fmt_float(dbl ? ((const double *)p)[j] : (double)((const float *)p)[j], f32));
            break;
        }
        }
        if (at < cap) at += snprintf(buf + at, cap - at, "\n");
    }
    return at < cap ? at : cap - 1;
}

void run_id_of(const char *text, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
