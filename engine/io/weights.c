/* engine/io/weights.c — export and load of a model's weights in timm's layout (weights.h). */
#include "weights.h"

#include <math.h>   // isfinite: weights_check_values
#include <stdarg.h> // va_list: problem()
#include <stdio.h>  // snprintf
#include <string.h> // strcmp, strncmp

#include "safetensors.h"

static const char NBT[] = ".num_batches_tracked", RUNNING_VAR[] = ".running_var";

// conv weights between the engine's (OC,KH,KW,C) and PyTorch's (OC,C,KH,KW); d: the engine's dims
static void conv_transpose(float *dst, const float *src, const int d[4], bool to_torch)
{
    size_t oc = (size_t)d[0], kh = (size_t)d[1], kw = (size_t)d[2], c = (size_t)d[3];
    for (size_t o = 0; o < oc; o++)
        for (size_t h = 0; h < kh; h++)
            for (size_t w = 0; w < kw; w++)
                for (size_t i = 0; i < c; i++) {
                    size_t ours = ((o * kh + h) * kw + w) * c + i, torch = ((o * c + i) * kh + h) * kw + w;
                    if (to_torch) dst[torch] = src[ours];
                    else dst[ours] = src[torch];
                }
}

// an entry's shape in a file of the given layout (4-D entries are conv weights: params.h); ndim
static int file_dims(const ParamInfo *pi, WeightsLayout layout, int64_t out[4])
{
    for (int k = 0; k < pi->ndim; k++) out[k] = pi->dims[k];
    if (layout == WEIGHTS_TIMM && pi->ndim == 4) {
        out[1] = pi->dims[3];
        out[2] = pi->dims[1];
        out[3] = pi->dims[2];
    }
    return pi->ndim;
}

// true when name ends with suffix; module gets the part before it
static bool split_suffix(const char *name, const char *suffix, char module[96])
{
    size_t n = strlen(name), k = strlen(suffix);
    if (n <= k || strcmp(name + n - k, suffix)) return false;
    snprintf(module, 96, "%.*s", (int)(n - k), name);
    return true;
}

// ---------------------------------------------------------------------------------------------
// export

int weights_export(const char *path, const Params *p, const char *model, int64_t num_batches_tracked,
                   const char *source)
{
    CHECK(p->buf[ROLE_W], "weights_export %s: allocate the parameter table first", path);
    size_t bytes = p->total * sizeof(float);
    float *host = xmalloc(bytes ? bytes : 1), *out = xmalloc(bytes ? bytes : 1);
    dev_download(p->dev, host, p->buf[ROLE_W], bytes);
    StTensor *t = xcalloc((size_t)p->count * 2, sizeof *t); // each entry, and a counter per BN
    int64_t *dims = xcalloc((size_t)p->count * 4, sizeof *dims);
    char (*nbt)[128] = xcalloc((size_t)p->count, sizeof *nbt);
    int k = 0;
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        const float *src = host + pi->offset;
        float *dst = out + pi->offset;
        int nd = file_dims(pi, WEIGHTS_TIMM, &dims[4 * i]);
        if (pi->ndim == 4) conv_transpose(dst, src, pi->dims, true);
        else memcpy(dst, src, pi->numel * sizeof(float));
        t[k++] = (StTensor){pi->name, nd, &dims[4 * i], dst, ST_F32};
        char module[96];
        if (split_suffix(pi->name, RUNNING_VAR, module)) { // PyTorch's order: ..., running_var, counter
            snprintf(nbt[i], sizeof nbt[i], "%s%s", module, NBT);
            t[k++] = (StTensor){nbt[i], 0, NULL, &num_batches_tracked, ST_I64};
        }
    }
    const char *meta[][2] = {{"format", "pt"}, {"layout", "timm"}, {"model", model}, {"source", source}};
    int rc = st_write(path, t, k, meta, LEN(meta));
    free(nbt);
    free(dims);
    free(t);
    free(out);
    free(host);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// load

typedef struct { int n; char first[640]; } Problems; // how many, and the first one's message

// records a mismatch; only the first is printed in full
static void problem(Problems *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(Problems *pr, const char *fmt, ...)
{
    if (pr->n++) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pr->first, sizeof pr->first, fmt, ap);
    va_end(ap);
}

// the layout a file is in (weights.h): metadata "layout", else a run_id means our checkpoint
static int file_layout(const StFile *f, const char *path, WeightsLayout *layout)
{
    const char *l = st_meta(f, "layout");
    if (l && strcmp(l, "timm") && strcmp(l, "repro")) {
        log_error("weights %s: metadata layout '%s' (valid: timm, repro)", path, l);
        return ERR_FORMAT;
    }
    *layout = (l ? !strcmp(l, "repro") : st_meta(f, "run_id") != NULL) ? WEIGHTS_REPRO : WEIGHTS_TIMM;
    return 0;
}

// whether an entry no parameter claimed is allowed: a BN's counter (an integer scalar, its value
// ignored), or, in one of our checkpoints, run state (optimizer, EMA, log, and a distillation
// run's discriminator, "distill.*": train/distill.h) or the weights beside the EMA asked for;
// records a problem otherwise
static void check_unclaimed(const StEntry *e, const Params *p, WeightsLayout layout, const char *model,
                            Problems *pr)
{
    static const char *const run_state[] = {"optimizer.", "ema.", "log.", "distill."};
    char module[96], bn_var[128];
    if (layout == WEIGHTS_REPRO) {
        for (int r = 0; r < LEN(run_state); r++)
            if (!strncmp(e->name, run_state[r], strlen(run_state[r]))) return;
        if (params_find(p, e->name) >= 0) return;
    }
    if (split_suffix(e->name, NBT, module)) {
        snprintf(bn_var, sizeof bn_var, "%s%s", module, RUNNING_VAR);
        if (params_find(p, bn_var) >= 0) {
            if (e->dtype[0] != 'I' || st_numel(e) != 1)
                problem(pr, "tensor %s is %s %s; expected an integer scalar (I64 ())", e->name, e->dtype,
                        DIMS_STR(e->ndim, e->dims));
            return;
        }
    }
    problem(pr, "extra tensor %s (%s %s): %s has no parameter or buffer of that name", e->name, e->dtype,
            DIMS_STR(e->ndim, e->dims), model);
}

int weights_check_values(const char *path, const char *name, const float *v, size_t n)
{
    char module[96];
    bool var = split_suffix(name, RUNNING_VAR, module);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (var && v[i] < 0)) {
            log_error("weights %s: tensor %s holds %g at index %zu (of %zu values): %s; the file is damaged or "
                      "comes from a run that diverged", path, name, v[i], i, n,
                      isfinite(v[i]) ? "a negative variance" : "not a finite number");
            return ERR_FORMAT;
        }
    return 0;
}

int weights_shape(const char *path, const char *name, int *ndim, int64_t dims[4])
{
    StFile f;
    int rc = st_read(&f, path);
    if (rc) return rc;
    WeightsLayout layout;
    *ndim = 0;
    if (!(rc = file_layout(&f, path, &layout))) {
        const StEntry *e = st_find(&f, name);
        if (e && e->ndim <= 4) {
            *ndim = e->ndim;
            for (int k = 0; k < e->ndim; k++) dims[k] = e->dims[k];
            if (layout == WEIGHTS_TIMM && e->ndim == 4) // (OC,C,KH,KW) -> (OC,KH,KW,C)
                dims[1] = e->dims[2], dims[2] = e->dims[3], dims[3] = e->dims[1];
        }
    }
    st_free(&f);
    return rc;
}

int weights_recipe(const char *path, char **text)
{
    *text = NULL;
    StFile f;
    int rc = st_read(&f, path);
    if (rc) return rc;
    const char *r = st_meta(&f, "recipe");
    if (r && r[0]) {
        *text = xmalloc(strlen(r) + 1);
        strcpy(*text, r);
    }
    st_free(&f);
    return 0;
}

int weights_load(Params *p, const char *path, bool ema, const char *model, WeightsInfo *info)
{
    CHECK(p->buf[ROLE_W], "weights_load %s: allocate the parameter table first", path);
    StFile f;
    int rc = st_read(&f, path);
    if (rc) return rc;
    WeightsLayout layout;
    float *host = NULL;
    bool *claimed = NULL;
    if ((rc = file_layout(&f, path, &layout))) goto out;
    rc = ERR_FORMAT;
    const char *layout_name = layout == WEIGHTS_TIMM ? "timm" : "repro";
    if (ema && layout != WEIGHTS_REPRO) {
        log_error("weights %s: EMA weights asked for, but this is a timm state dict (layout timm); "
                  "only our checkpoints hold ema.* tensors", path);
        goto out;
    }
    host = xcalloc(p->total ? p->total : 1, sizeof *host);
    claimed = xcalloc((size_t)f.n + 1, sizeof *claimed);
    Problems pr = {0};
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        char name[96];
        int64_t want[4];
        int nd = file_dims(pi, layout, want);
        snprintf(name, sizeof name, "%s%s", ema ? "ema." : "", pi->name);
        const StEntry *e = st_find(&f, name);
        if (!e) {
            problem(&pr, "missing tensor %s (expected F32 %s)", name, DIMS_STR(nd, want));
            continue;
        }
        claimed[e - f.e] = true;
        bool same = !strcmp(e->dtype, "F32") && e->ndim == nd;
        for (int k = 0; same && k < nd; k++) same = e->dims[k] == want[k];
        if (!same) {
            problem(&pr, "tensor %s is %s %s; %s expects F32 %s", name, e->dtype, DIMS_STR(e->ndim, e->dims),
                    model, DIMS_STR(nd, want));
            continue;
        }
        const float *src = (const float *)(f.data + e->begin);
        if (weights_check_values(path, name, src, pi->numel)) goto out;
        if (layout == WEIGHTS_TIMM && pi->ndim == 4) conv_transpose(host + pi->offset, src, pi->dims, false);
        else memcpy(host + pi->offset, src, pi->numel * sizeof(float));
    }
    for (int j = 0; j < f.n; j++)
        if (!claimed[j]) check_unclaimed(&f.e[j], p, layout, model, &pr);
    if (pr.n) {
        char more[64] = "";
        if (pr.n > 1) snprintf(more, sizeof more, " (and %d more problem%s)", pr.n - 1, pr.n > 2 ? "s" : "");
        log_error("weights %s (layout %s): %s%s", path, layout_name, pr.first, more);
        goto out;
    }
    dev_upload(p->dev, p->buf[ROLE_W], host, p->total * sizeof(float));
    if (info) {
        const char *step = st_meta(&f, "step");
        *info = (WeightsInfo){layout, step ? atol(step) : 0, p->count};
    }
    rc = 0;
out:
    free(claimed);
    free(host);
    st_free(&f);
    return rc;
}
