/* engine/train/checkpoint.c — saving and restoring a run's state (checkpoint.h). */
#include "checkpoint.h"

#include <math.h>   // NAN
#include <stdio.h>  // snprintf
#include <string.h> // strcmp

#include "../io/safetensors.h"
#include "../io/weights.h" // weights_check_values

// the epoch log's columns: EpochLog's fields in order, the folded form's two last (a checkpoint
// written before they existed has the first 11: those read as NAN)
enum { LOG_COLS = 13, LOG_COLS_V1 = 11 };

// the roles a checkpoint holds: weights, optimizer slots, EMA (params.h: host copies off host memory)
static void pull_roles(Params *p)
{
    params_pull(p, ROLE_W);
    for (int s = 0; s < p->n_slots; s++) params_pull(p, (ParamRole)(ROLE_SLOT0 + s));
    if (p->has_ema) params_pull(p, ROLE_EMA);
}

static void push_roles(Params *p)
{
    params_push(p, ROLE_W);
    for (int s = 0; s < p->n_slots; s++) params_push(p, (ParamRole)(ROLE_SLOT0 + s));
    if (p->has_ema) params_push(p, ROLE_EMA);
}

// appends the tensors of table p at t[k..]: each entry, its optimizer slots, its EMA; dims (4 per
// entry) and names (n_slots + 1 per entry) are storage for them. Returns the new count
static int add_table(StTensor *t, int k, Params *p, OptimKind kind, int64_t *dims, char (*names)[96])
{
    int per = p->n_slots + 1;
    pull_roles(p);
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        for (int d = 0; d < pi->ndim; d++) dims[4 * i + d] = pi->dims[d];
        t[k++] = (StTensor){pi->name, pi->ndim, &dims[4 * i], params_host(p, ROLE_W, i), ST_F32};
        for (int s = 0; s < p->n_slots && !pi->buffer; s++) {
            char *nm = names[per * i + s];
            snprintf(nm, sizeof names[0], "optimizer.%s.%s", optim_slot_name(kind, s), pi->name);
            t[k++] = (StTensor){nm, pi->ndim, &dims[4 * i], params_host(p, ROLE_SLOT0 + s, i), ST_F32};
        }
        if (p->has_ema) { // timm's checkpoints keep the average as state_dict_ema
            char *nm = names[per * i + p->n_slots];
            snprintf(nm, sizeof names[0], "ema.%s", pi->name);
            t[k++] = (StTensor){nm, pi->ndim, &dims[4 * i], params_host(p, ROLE_EMA, i), ST_F32};
        }
    }
    return k;
}

int ckpt_save(const char *path, Params *p, Params *aux, OptimKind kind, const TrainResult *r,
              int epochs_done, long step, uint64_t seed, const char *run_id, const char *recipe, int ranks,
              int batch)
{
    int count = p->count + (aux ? aux->count : 0), per = p->n_slots + 1;
    if (aux) per = MAX(per, aux->n_slots + 1);
    StTensor *t = xcalloc((size_t)count * (per + 1) + 1, sizeof *t); // weights, slots, EMA; the log
    int64_t *dims = xcalloc((size_t)count * 4, sizeof *dims);
    char (*names)[96] = xcalloc((size_t)count * per, sizeof *names);
    int k = add_table(t, 0, p, kind, dims, names);
    if (aux) k = add_table(t, k, aux, kind, dims + 4 * p->count, names + (size_t)(p->n_slots + 1) * p->count);
    double *log = xcalloc((size_t)(r->n_epochs ? r->n_epochs : 1) * LOG_COLS, sizeof *log);
    for (int e = 0; e < r->n_epochs; e++) {
        const EpochLog *l = &r->epochs[e];
        double row[LOG_COLS] = {l->epoch, l->lr, l->res, l->train_loss, l->train_top1, l->eval_loss,
                                l->eval_top1, l->eval_top5, l->ema_top1, l->img_per_s, l->seconds,
                                l->eval_top1_reparam, l->ema_top1_reparam};
        memcpy(&log[e * LOG_COLS], row, sizeof row);
    }
    int64_t log_dims[2] = {r->n_epochs, LOG_COLS};
    t[k++] = (StTensor){"log.epochs", 2, log_dims, log, ST_F64};
    char s_epochs[32], s_step[32], s_seed[32], s_best[40], s_best_epoch[32], s_wall[40], s_ranks[16], s_batch[16];
    snprintf(s_ranks, sizeof s_ranks, "%d", ranks);
    snprintf(s_batch, sizeof s_batch, "%d", batch);
    snprintf(s_wall, sizeof s_wall, "%.17g", r->final.wall_s);
    snprintf(s_epochs, sizeof s_epochs, "%d", epochs_done);
    snprintf(s_step, sizeof s_step, "%ld", step);
    snprintf(s_seed, sizeof s_seed, "%llu", (unsigned long long)seed);
    snprintf(s_best, sizeof s_best, "%.17g", r->final.best_top1);
    snprintf(s_best_epoch, sizeof s_best_epoch, "%d", r->final.best_epoch);
    const char *meta[][2] = {{"format", "pt"}, {"layout", "repro"}, {"run_id", run_id}, {"seed", s_seed},
                             {"optimizer", optim_name(kind)},
                             {"epochs_done", s_epochs}, {"step", s_step}, {"best_top1", s_best},
                             {"best_epoch", s_best_epoch}, {"wall_s", s_wall},
                             {"started", r->started}, {"segments", r->segments ? r->segments : ""},
                             {"ranks", s_ranks}, {"global_batch", s_batch}, {"recipe", recipe ? recipe : ""}};
    int rc = st_write(path, t, k, meta, recipe ? LEN(meta) : LEN(meta) - 1);
    free(log);
    free(names);
    free(dims);
    free(t);
    return rc;
}

static int restore(const StFile *f, const char *path, const char *name, float *dst, size_t numel)
{
    const StEntry *e = st_find(f, name);
    if (!e || strcmp(e->dtype, "F32") || st_numel(e) != numel) {
        log_error("checkpoint %s: %s is %s (expected F32 with %zu values): not this run's model", path,
                  name, e ? "of another shape or type" : "missing", numel);
        return ERR_FORMAT;
    }
    memcpy(dst, f->data + e->begin, numel * sizeof(float));
    return weights_check_values(path, name, dst, numel);
}

// every entry of table p (weights, optimizer slots, EMA, as allocated) from f; 0 or ERR_FORMAT
static int restore_table(const StFile *f, const char *path, Params *p, OptimKind kind)
{
    pull_roles(p); // a failed restore leaves the device's values as they were
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (restore(f, path, pi->name, params_host(p, ROLE_W, i), pi->numel)) return ERR_FORMAT;
        for (int s = 0; s < p->n_slots && !pi->buffer; s++) {
            char nm[96];
            snprintf(nm, sizeof nm, "optimizer.%s.%s", optim_slot_name(kind, s), pi->name);
            if (restore(f, path, nm, params_host(p, ROLE_SLOT0 + s, i), pi->numel)) return ERR_FORMAT;
        }
        if (p->has_ema) {
            char nm[96];
            snprintf(nm, sizeof nm, "ema.%s", pi->name);
            if (restore(f, path, nm, params_host(p, ROLE_EMA, i), pi->numel)) return ERR_FORMAT;
        }
    }
    push_roles(p);
    return 0;
}

int ckpt_load(const char *path, Params *p, Params *aux, OptimKind kind, TrainResult *r, int *epochs_done, long *step,
              uint64_t seed, const char *run_id, int ranks)
{
    StFile f;
    int rc = st_read(&f, path);
    if (rc) return rc;
    const char *id = st_meta(&f, "run_id"), *sd = st_meta(&f, "seed"), *ep = st_meta(&f, "epochs_done");
    const char *st = st_meta(&f, "step"), *best = st_meta(&f, "best_top1"), *be = st_meta(&f, "best_epoch");
    char want_seed[32];
    snprintf(want_seed, sizeof want_seed, "%llu", (unsigned long long)seed);
    rc = ERR_FORMAT;
    if (!id || !sd || !ep || !st || !best || !be) {
        log_error("checkpoint %s: metadata lacks run_id, seed, epochs_done, step or best_top1", path);
        goto out;
    }
    if (strcmp(id, run_id) || strcmp(sd, want_seed)) {
        log_error("checkpoint %s: belongs to run %s seed %s, not run %s seed %s", path, id, sd, run_id, want_seed);
        goto out;
    }
    const char *saved_ranks = st_meta(&f, "ranks"); // absent before data parallelism: one
    if ((saved_ranks ? atoi(saved_ranks) : 1) != ranks) {
        log_error("checkpoint %s: written by a run of %s rank(s), resumed on %d: resume it on as many (mpirun -np %s); "
                  "the split of every batch, and per-rank batch norm, depend on it", path,
                  saved_ranks ? saved_ranks : "1", ranks, saved_ranks ? saved_ranks : "1");
        goto out;
    }
    const char *opt = st_meta(&f, "optimizer"); // absent before optimizers had kinds: sgd
    if (strcmp(opt ? opt : "sgd", optim_name(kind))) {
        log_error("checkpoint %s: holds the state of optimizer %s, this run uses %s", path, opt,
                  optim_name(kind));
        goto out;
    }
    if (restore_table(&f, path, p, kind) || (aux && restore_table(&f, path, aux, kind))) goto out;
    const StEntry *log = st_find(&f, "log.epochs");
    *epochs_done = atoi(ep);
    *step = atol(st);
    int cols = log && log->ndim == 2 ? (int)log->dims[1] : 0;
    if (!log || strcmp(log->dtype, "F64") || (cols != LOG_COLS && cols != LOG_COLS_V1) ||
        log->dims[0] != *epochs_done) {
        log_error("checkpoint %s: log.epochs missing or not (%d x %d) float64", path, *epochs_done, LOG_COLS);
        goto out;
    }
    const double *v = (const double *)(f.data + log->begin);
    for (int e = 0; e < *epochs_done; e++) {
        const double *row = &v[e * cols];
        r->epochs[e] = (EpochLog){.epoch = (int)row[0], .lr = (float)row[1], .res = (int)row[2],
                                  .train_loss = row[3], .train_top1 = row[4], .eval_loss = row[5],
                                  .eval_top1 = row[6], .eval_top5 = row[7], .ema_top1 = row[8],
                                  .img_per_s = row[9], .seconds = row[10],
                                  .eval_top1_reparam = cols > 11 ? row[11] : NAN,
                                  .ema_top1_reparam = cols > 12 ? row[12] : NAN};
    }
    r->n_epochs = *epochs_done;
    r->final.best_top1 = strtod(best, NULL);
    r->final.best_epoch = atoi(be);
    // older checkpoints have no wall time or segments: their time before this one is unknown (0)
    const char *wall = st_meta(&f, "wall_s"), *segs = st_meta(&f, "segments"), *started = st_meta(&f, "started");
    r->final.wall_s = wall ? strtod(wall, NULL) : 0;
    free(r->segments);
    r->segments = NULL;
    if (segs && segs[0]) {
        r->segments = xmalloc(strlen(segs) + 1);
        strcpy(r->segments, segs);
    }
    snprintf(r->started, sizeof r->started, "%s", started ? started : "");
    rc = 0;
out:
    st_free(&f);
    return rc;
}
