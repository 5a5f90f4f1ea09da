/* engine/train/distill.c — teachers, stored soft labels and the distillation loss (distill.h).
 *
 * Teachers are whole models of the registry, each over its own parameter table, built in eval
 * mode for the two batch sizes a step can have (the training batch and the epoch's remainder) in
 * one NetSet (models/nets.h: one arena, as train.c's student models): they run one after the
 * other, and each one's logits are copied out before the next runs.
 * The sample indices of a training batch (for stored logits) are the loader's: positions
 * step*batch .. of sampler_permutation(n, seed, epoch) (data/loader.h).
 */
#include "distill.h"

#include <errno.h>  // errno
#include <stdio.h>  // printf, snprintf
#include <string.h> // strchr, strlen
#include <unistd.h> // access

#include "../io/npy.h"     // the stored logits
#include "../io/weights.h" // weights_load: the teachers
#include "../models/nets.h" // NetSet: the teachers' models, one arena
#include "discriminator.h"

enum { LOADER_DEPTH = 2 };

typedef struct { char name[64], file[512]; } TeacherSpec; // "name:file" of the recipe

typedef struct {
    TeacherSpec id;
    Params p;
} Teacher;

struct Distill {
    DistillArgs a;
    DistillEnv  env;
    int         k, T;         // classes, teachers (or the stored file's)
    Teacher    *t;            // T of them while teachers run online; NULL with stored logits
    NetSet      nets;         // the teachers' eval models for the step sizes, their activations
    NpyArray    soft;         // stored logits (T, N, K) when used
    int        *perm, perm_epoch; // the training order of epoch perm_epoch (stored logits)
    float      *zt;           // (T, batch, K) host: the step's teacher logits
    float      *q, *zbar, *s; // (batch, K) device: ensemble target, mean logits, scratch
    KdLoss      kd;
    Disc        disc;
    bool        has_disc;
};

// ---------------------------------------------------------------------------------------------
// the recipe's keys

// splits "name:file, name:file" into at most `max` pairs; returns how many, or ERR_FORMAT with
// one line naming the spec
static int parse_teachers(const char *spec, TeacherSpec *out, int max)
{
    int n = 0;
    for (const char *s = spec; *s;) {
        while (*s == ' ' || *s == ',') s++;
        if (!*s) break;
        const char *end = strchr(s, ','), *colon = strchr(s, ':');
        if (!end) end = s + strlen(s);
        size_t len = (size_t)(end - s);
        while (len && s[len - 1] == ' ') len--;
        if (!colon || colon >= s + len || colon == s || colon + 1 == s + len || n == max ||
            (size_t)(colon - s) >= sizeof out->name || (size_t)(s + len - colon - 1) >= sizeof out->file) {
            log_error("recipe: distill.teachers = '%s': item '%.*s' %s (expected name:file.safetensors, "
                      "comma separated, at most %d)", spec, (int)len, s, n == max ? "is one too many" :
                      "is not name:file", max);
            return ERR_FORMAT;
        }
        snprintf(out[n].name, sizeof out->name, "%.*s", (int)(colon - s), s);
        snprintf(out[n].file, sizeof out->file, "%.*s", (int)(s + len - colon - 1), colon + 1);
        n++;
        s = end;
    }
    return n;
}

bool distill_on(const DistillArgs *a) { return a->teachers[0] || a->soft_labels[0]; }

int distill_teacher_names(const DistillArgs *a, char (*names)[64], char (*files)[512], int max)
{
    TeacherSpec ts[DISTILL_MAX_TEACHERS];
    int n = parse_teachers(a->teachers, ts, DISTILL_MAX_TEACHERS);
    for (int i = 0; i < n && i < max; i++) {
        memcpy(names[i], ts[i].name, sizeof ts[i].name); // both 64
        if (files) memcpy(files[i], ts[i].file, sizeof ts[i].file); // both 512
    }
    return n < 0 ? n : MIN(n, max);
}

int distill_check(const DistillArgs *a, int classes, FILE *missing)
{
    if (!distill_on(a)) {
        if (!a->discriminator) return 0;
        log_error("recipe: distill.discriminator = true needs teachers: give distill.teachers or "
                  "distill.soft_labels");
        return ERR_FORMAT;
    }
    if (!(a->kd_weight > 0)) {
        log_error("recipe: distill.kd_weight = %g: distilling (distill.teachers or distill.soft_labels "
                  "given) needs a soft term of weight > 0", a->kd_weight);
        return ERR_FORMAT;
    }
    TeacherSpec ts[DISTILL_MAX_TEACHERS];
    int n = parse_teachers(a->teachers, ts, DISTILL_MAX_TEACHERS);
    if (n < 0) return n;
    for (int i = 0; i < n; i++)
        if (!model_known(ts[i].name) && missing)
            fprintf(missing, "needs: distill.teachers: teacher '%s' is not a registered model here\n", ts[i].name);
        else if (!model_known(ts[i].name)) {
            log_error("recipe: distill.teachers: teacher '%s' is not a registered model (valid: %s)", ts[i].name,
                      model_names());
            return ERR_FORMAT;
        }
    int r = a->disc_reduction;
    if (a->discriminator && classes / r / r < 1) {
        int best = 1;
        while ((best + 1) * (best + 1) <= classes) best++;
        log_error("recipe: distill.disc_reduction = %d: with model.classes = %d the discriminator's widths "
                  "would be %d -> %d -> %d -> 2; each must be >= 1 (use at most %d)", r, classes, classes,
                  classes / r, classes / r / r, best);
        return ERR_FORMAT;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// the losses (distill.h)

void distill_ensemble(Dev *d, int T, int n, int k, float tau, const float *zt, float *q, float *zbar,
                      float *s)
{
    CHECK(T >= 1 && n >= 1 && k >= 1, "distill_ensemble: %d teachers, %d rows of %d classes", T, n, k);
    size_t nk = (size_t)n * k;
    float *hq = xcalloc(nk, sizeof *hq), *hs = xmalloc(nk * sizeof *hs), *hz = xcalloc(nk, sizeof *hz);
    for (int t = 0; t < T; t++) {
        const float *z = zt + t * nk;
        dev_upload(d, q, z, nk * sizeof(float)); // q: the input's room until the average is known
        softmax_forward(d, (Softmax){n, k, tau}, s, q);
        dev_download(d, hs, s, nk * sizeof(float));
        for (size_t j = 0; j < nk; j++) hq[j] += hs[j], hz[j] += z[j];
    }
    for (size_t j = 0; j < nk; j++) hq[j] /= T, hz[j] /= T;
    dev_upload(d, q, hq, nk * sizeof(float));
    if (zbar) dev_upload(d, zbar, hz, nk * sizeof(float));
    free(hz);
    free(hs);
    free(hq);
}

static float *dev_zeroed(Dev *d, size_t n)
{
    float *p = dev_alloc(d, n * sizeof(float));
    dev_memset0(d, p, n * sizeof(float));
    return p;
}

void kd_loss_init(KdLoss *l, Dev *d, int rows, int k)
{
    size_t nk = (size_t)rows * k;
    *l = (KdLoss){.rows = rows, .k = k, .tau = 1, .kd_weight = 1};
    l->p_tau = dev_zeroed(d, nk), l->prob = dev_zeroed(d, nk);
    l->kd = dev_zeroed(d, (size_t)rows), l->ce = dev_zeroed(d, (size_t)rows), l->dl = dev_zeroed(d, (size_t)rows);
    l->host = xcalloc((size_t)rows, sizeof(float));
}

void kd_loss_free(KdLoss *l, Dev *d)
{
    if (!l->host) return;
    float *all[] = {l->p_tau, l->prob, l->kd, l->ce, l->dl};
    for (int i = 0; i < LEN(all); i++) dev_free(d, all[i]);
    free(l->host);
    memset(l, 0, sizeof *l);
}

// the backward's dloss: every sample weighted w (device l->dl); the terms' sum, read back
static void fill_dloss(KdLoss *l, Dev *d, int n, float w)
{
    for (int i = 0; i < n; i++) l->host[i] = w;
    dev_upload(d, l->dl, l->host, (size_t)n * sizeof(float));
}

static double weighted_sum(KdLoss *l, Dev *d, int n, const float *terms, float w)
{
    dev_download(d, l->host, terms, (size_t)n * sizeof(float));
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)w * l->host[i];
    return s;
}

double kd_loss(KdLoss *l, Dev *d, int n, const float *z, const int *labels, const float *q, float *dz)
{
    CHECK(n >= 1 && n <= l->rows, "kd_loss: %d rows for buffers of %d", n, l->rows);
    KlDiv kl = {n, l->k, l->tau};
    kldiv_forward(d, kl, l->kd, l->p_tau, z, q);
    fill_dloss(l, d, n, l->kd_weight / n);
    kldiv_backward(d, kl, dz, l->dl, l->p_tau, q, SET_0);
    double s = weighted_sum(l, d, n, l->kd, l->kd_weight);
    if (l->ce_weight > 0) {
        Xent xo = {n, l->k, l->smoothing};
        xent_forward(d, xo, l->ce, l->prob, z, labels, NULL);
        fill_dloss(l, d, n, l->ce_weight / n);
        xent_backward(d, xo, dz, l->dl, l->prob, labels, NULL, 0);
        s += weighted_sum(l, d, n, l->ce, l->ce_weight);
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// teachers

// every teacher on the batch's images x (host, n images): logits into zt (T, n, K) host
static void teachers_forward(Distill *ds, const float *x, int n, float *zt)
{
    for (int i = 0; i < ds->T; i++) {
        Net *net = netset_find(&ds->nets, &ds->t[i].p, n, GRAPH_EVAL);
        CHECK(net, "distill: teacher %s has no model for a batch of %d", ds->t[i].id.name, n);
        net_logits(&ds->nets, net, x, zt + (size_t)i * n * ds->k); // eval: running BN statistics
    }
}

// builds the teachers of the recipe for the step sizes, loads their weights; 0 or ERR_*
static int teachers_open(Distill *ds)
{
    const DistillEnv *e = &ds->env;
    TeacherSpec ts[DISTILL_MAX_TEACHERS];
    int T = parse_teachers(ds->a.teachers, ts, DISTILL_MAX_TEACHERS);
    if (T < 0) return T;
    ds->T = T;
    ds->t = xcalloc((size_t)T, sizeof *ds->t);
    // the batches teachers see: the training steps' (of the epoch's length) and, for stored
    // logits, the pass over the training split in order
    int sizes[4], n_sizes = net_batches(e->epoch_len, e->batch, false, sizes);
    n_sizes += net_batches(e->train->n, e->batch, false, sizes + n_sizes);
    netset_init(&ds->nets, e->dev);
    for (int i = 0; i < T; i++) {
        Teacher *t = &ds->t[i];
        t->id = ts[i];
        // the knobs its run trained it with (its checkpoint's recipe), else the model as named
        ModelKnobs k = ds->a.has_knobs[i] ? ds->a.knobs[i] : model_knobs_default();
        if (ds->a.has_knobs[i] && (k.in_chans != e->in_chans || k.num_classes != e->classes)) {
            log_error("distill.teachers: teacher %s (%s) was trained with %d input channels and %d classes; the "
                      "student has %d and %d", t->id.name, t->id.file, k.in_chans, k.num_classes, e->in_chans,
                      e->classes);
            return ERR_ARG;
        }
        k.in_chans = e->in_chans, k.num_classes = e->classes;
        if (model_check(t->id.name, &k)) return ERR_ARG;
        for (int s = 0; s < n_sizes; s++) {
            if (netset_find(&ds->nets, &t->p, sizes[s], GRAPH_EVAL)) continue;
            netset_add(&ds->nets, &t->p, t->id.name, &k, sizes[s], e->res, GRAPH_EVAL);
            int rc = s ? 0 : params_alloc(&t->p, e->dev, 0, false); // declared by the first build
            if (rc) return rc;
        }
        if (access(t->id.file, R_OK) != 0) {
            log_error("distill.teachers: teacher %s: %s: cannot read (%s)", t->id.name, t->id.file, strerror(errno));
            return ERR_IO;
        }
        int rc = weights_load(&t->p, t->id.file, false, t->id.name, NULL);
        if (rc) return rc;
    }
    netset_plan(&ds->nets, NULL, NULL);
    for (int i = 0; i < T; i++) netset_refresh(&ds->nets, &ds->t[i].p); // frozen: folded once
    return 0;
}

static void teachers_close(Distill *ds)
{
    netset_free(&ds->nets);
    for (int i = 0; ds->t && i < ds->T; i++) params_free(&ds->t[i].p);
    free(ds->t);
    ds->t = NULL;
}

// ---------------------------------------------------------------------------------------------
// stored logits

// the file's shape as (T, N, K); 0, or ERR_FORMAT with one line naming it
static int soft_check(Distill *ds, int want_T)
{
    const NpyArray *s = &ds->soft;
    const char *path = ds->a.soft_labels;
    int T = s->ndim == 3 ? (int)s->dims[0] : 1;
    int64_t N = s->ndim >= 2 ? s->dims[s->ndim - 2] : 0, K = s->ndim >= 2 ? s->dims[s->ndim - 1] : 0;
    if ((s->ndim != 2 && s->ndim != 3) || K != ds->k || N < ds->env.train->n || (want_T && T != want_T)) {
        char teachers[48] = "";
        if (want_T) snprintf(teachers, sizeof teachers, ", T = %d (distill.teachers)", want_T);
        log_error("distill.soft_labels = %s: shape %s; expected the teachers' logits (T, N, K) or (N, K) with "
                  "K = %d classes, N >= %d training samples%s (delete the file to recompute it)", path,
                  DIMS_STR(s->ndim, s->dims), ds->k, ds->env.train->n, teachers);
        return ERR_FORMAT;
    }
    ds->T = T;
    return 0;
}

// runs the teachers over the un-augmented training images, in order, and writes their logits
// (T, N, K) to the soft-labels file; keeps them as the stored logits. 0 or ERR_*
static int soft_compute(Distill *ds)
{
    const DistillEnv *e = &ds->env;
    int N = e->train->n, K = ds->k, T = ds->T;
    Loader ld;
    int rc = loader_open(&ld, e->train, e->aug, e->seed, e->batch, false, e->res, e->res, 1, LOADER_DEPTH);
    if (rc) return rc;
    float *all = xmalloc((size_t)T * N * K * sizeof *all);
    loader_start(&ld, 0, 0, 0, false);
    const Batch *b;
    while (!(rc = loader_next(&ld, &b)) && b) {
        teachers_forward(ds, b->x, b->n, ds->zt);
        for (int t = 0; t < T; t++)
            memcpy(all + ((size_t)t * N + (size_t)b->step * e->batch) * K, ds->zt + (size_t)t * b->n * K,
                   (size_t)b->n * K * sizeof *all);
    }
    loader_close(&ld);
    int64_t dims[3] = {T, N, K};
    if (!rc) rc = npy_write(ds->a.soft_labels, all, 3, dims);
    if (rc) { free(all); return rc; }
    printf("distill: wrote the teachers' logits of %d training images to %s (%d x %d x %d float32)\n", N,
           ds->a.soft_labels, T, N, K);
    ds->soft = (NpyArray){3, {T, N, K}, (size_t)T * N * K, all};
    return 0;
}

// the stored rows of the batch's samples into zt (T, n, K)
static void soft_rows(Distill *ds, const Batch *b, float *zt)
{
    int N = ds->env.train->n, K = ds->k;
    if (!ds->perm) ds->perm = xmalloc((size_t)N * sizeof *ds->perm), ds->perm_epoch = -1;
    if (ds->perm_epoch != b->epoch) sampler_permutation(ds->perm, N, ds->env.seed, b->epoch);
    ds->perm_epoch = b->epoch;
    size_t rows = (size_t)ds->soft.dims[ds->soft.ndim - 2];
    for (int t = 0; t < ds->T; t++)
        for (int i = 0; i < b->n; i++) {
            size_t idx = (size_t)ds->perm[(size_t)b->step * ds->env.batch + i];
            memcpy(zt + ((size_t)t * b->n + i) * K, ds->soft.data + ((size_t)t * rows + idx) * K, K * sizeof *zt);
        }
}

// ---------------------------------------------------------------------------------------------

static void print_summary(const Distill *ds)
{
    printf("distill: ");
    for (int i = 0; ds->t && i < ds->T; i++) {
        const ModelKnobs *k = &ds->a.knobs[i]; // its run's, from the checkpoint: say what differs
        printf("%s%s", i ? ", " : "", ds->t[i].id.name);
        if (ds->a.has_knobs[i] && k->width != 1) printf(" x%g", k->width);
        if (ds->a.has_knobs[i] && k->depth != 1) printf(" depth x%g", k->depth);
        printf(" (%s)", ds->t[i].id.file);
    }
    if (!ds->t) printf("the stored logits of %d teacher(s) in %s", ds->T, ds->a.soft_labels);
    printf("; loss = %g CE + %g tau^2 KL(teachers || student) at tau %g", ds->a.ce_weight, ds->a.kd_weight,
           ds->a.tau);
    if (ds->has_disc)
        printf(" + discriminator %d-%d-%d-2 (%zu params)", ds->disc.w[0], ds->disc.w[1], ds->disc.w[2],
               params_count(&ds->disc.p, true));
    printf("\n");
}

int distill_open(Distill **out, const DistillArgs *a, const DistillEnv *env)
{
    *out = NULL;
    int rc = distill_check(a, env->classes, NULL);
    if (rc) return rc;
    Distill *ds = xcalloc(1, sizeof *ds);
    ds->a = *a, ds->env = *env, ds->k = env->classes;
    const char *file = a->soft_labels;
    if (file[0] && access(file, F_OK) == 0) {
        TeacherSpec ts[DISTILL_MAX_TEACHERS];
        int want = parse_teachers(a->teachers, ts, DISTILL_MAX_TEACHERS); // 0 without teachers
        if (!(rc = npy_read(&ds->soft, file))) rc = soft_check(ds, want);
    } else if (!a->teachers[0]) {
        log_error("distill.soft_labels = %s: no such file, and no distill.teachers to compute it from", file);
        rc = ERR_IO;
    } else {
        rc = teachers_open(ds);
    }
    if (!rc) ds->zt = xmalloc((size_t)ds->T * env->batch * ds->k * sizeof *ds->zt);
    if (!rc && file[0] && !ds->soft.data) {
        rc = soft_compute(ds); // the teachers' work is done: training reads the rows
        teachers_close(ds);
    }
    if (rc) { distill_close(ds); return rc; }
    size_t bk = (size_t)env->batch * ds->k;
    ds->q = dev_zeroed(env->dev, bk), ds->zbar = dev_zeroed(env->dev, bk), ds->s = dev_zeroed(env->dev, bk);
    kd_loss_init(&ds->kd, env->dev, env->batch, ds->k);
    ds->kd.tau = a->tau, ds->kd.kd_weight = a->kd_weight, ds->kd.ce_weight = a->ce_weight;
    if (a->discriminator) {
        if ((rc = disc_init(&ds->disc, env->dev, ds->k, a->disc_reduction, env->batch, env->n_slots, env->seed))) {
            distill_close(ds);
            return rc;
        }
        ds->has_disc = true;
    }
    print_summary(ds);
    *out = ds;
    return 0;
}

double distill_step(Distill *ds, const Batch *b, const float *z, const int *labels, float smoothing, float *dz)
{
    Dev *d = ds->env.dev;
    int n = b->n;
    CHECK(n >= 1 && n <= ds->env.batch, "distill_step: a batch of %d for buffers of %d", n, ds->env.batch);
    if (ds->soft.data) soft_rows(ds, b, ds->zt);
    else teachers_forward(ds, b->x, n, ds->zt);
    distill_ensemble(d, ds->T, n, ds->k, ds->a.tau, ds->zt, ds->q, ds->has_disc ? ds->zbar : NULL, ds->s);
    ds->kd.smoothing = smoothing;
    double s = kd_loss(&ds->kd, d, n, z, labels, ds->q, dz);
    if (ds->has_disc) {
        params_zero(&ds->disc.p, ROLE_GRAD);
        s += n * disc_loss(&ds->disc, n, z, ds->zbar, dz);
    }
    return s;
}

void distill_optim_step(Distill *ds, const Optim *o, long t)
{
    if (ds && ds->has_disc) optim_step(&ds->disc.p, o, t);
}

Params *distill_aux_params(Distill *ds) { return ds && ds->has_disc ? &ds->disc.p : NULL; }

void distill_close(Distill *ds)
{
    if (!ds) return;
    Dev *d = ds->env.dev;
    teachers_close(ds);
    npy_free(&ds->soft);
    if (ds->q) dev_free(d, ds->q), dev_free(d, ds->zbar), dev_free(d, ds->s);
    kd_loss_free(&ds->kd, d);
    if (ds->has_disc) disc_free(&ds->disc);
    free(ds->zt);
    free(ds->perm);
    free(ds);
}
