/* engine/train/train.c — the train/eval loop of train.h.
 *
 * Models: one graph per batch size the run needs (the training batch, the epoch's last partial
 * batch unless it is dropped, the eval batch and the test split's remainder), all built over the
 * one parameter table in one NetSet (models/nets.h: planned into ONE arena, since they never run
 * at the same time), each with its loss's buffers beside its activations. A model
 * with re-parameterizable branches adds the folded form's eval models, over a second, smaller
 * table (weights only) that each eval refills from the first (model_fold), in the same arena.
 * Data: two loaders (train: shuffled and augmented; eval: in order, normalized) prepare batches
 * on their own threads while the model computes.
 * A step: upload the batch, forward, loss (mean over the batch: cross-entropy, or distillation
 * from teachers, distill.h), backward, L2 weight decay (TF's loss term, when asked), clip, the
 * optimizer at the schedule's rate for this step, EMA. Every
 * random draw is a function of (seed, epoch, sample index), so a run resumed from its last
 * checkpoint computes what the uninterrupted run would.
 * Progressive learning (progressive.h): trainer_train cuts its range of steps at stage boundaries;
 * at the first step of a stage (or the first step a resumed run takes) the training models are
 * rebuilt at the stage's size and dropout over the same parameter table and the arena re-planned
 * (parameters, optimizer slots and EMA are not touched), and the training loader gets the stage's
 * size, RandAugment magnitude and mixing alphas. The eval models stay at model.res.
 */
#include "train.h"

#include <math.h>   // isfinite, NAN
#include <signal.h> // raise, SIGKILL: REPRO_KILL_AT_STEP
#include <stdio.h>  // printf
#include <stdlib.h> // getenv, atol
#include <string.h> // memset
#include <time.h>   // clock_gettime
#include <omp.h>    // omp_get_max_threads: a segment's threads
#include <unistd.h> // isatty, access, gethostname

#include "../data/loader.h"
#include "../models/nets.h" // NetSet: the models of every batch size, one arena
#include "../io/weights.h" // weights_load: model.weights
#include "checkpoint.h"

enum { LOADER_WORKERS = 1, LOADER_DEPTH = 3 };

// ---------------------------------------------------------------------------------------------
// models: one per (batch size, mode, form) in one NetSet (models/nets.h); the folded form's run
// over their own table. Each has the loss's buffers besides its graph

typedef struct {
    ArenaSlot loss, prob, labels, dloss; // (batch), (batch, classes), (batch) ints, (batch)
    ArenaSlot targets;                   // (batch, classes): a mixed batch's soft targets
    float *host;                         // (batch, classes + 1): logits and losses, downloaded
} NetLoss;

typedef struct {
    NetSet  s;
    NetLoss loss[NETSET_MAX]; // of s.net[i]
} Nets;

// a model for (batch, res, mode) with knobs k over p (the folded form's table, or the trained one),
// unless the set has it
static void nets_add(Nets *ns, const TrainConfig *c, const ModelKnobs *k, Params *p, bool folded, int batch,
                     int res, GraphMode mode)
{
    if (netset_find(&ns->s, p, batch, mode)) return;
    ModelKnobs kf = *k;
    kf.reparam = folded;
    Net *n = netset_add(&ns->s, p, c->model, &kf, batch, res, mode);
    ns->loss[ns->s.n - 1] = (NetLoss){.host = xmalloc((size_t)batch * (n->classes + 1) * sizeof(float))};
}

static void reserve_loss(NetSet *s, int i, void *user)
{
    NetLoss *l = &((Nets *)user)->loss[i];
    size_t batch = (size_t)s->net[i].batch, classes = (size_t)s->net[i].classes;
    l->loss = arena_reserve(&s->a, batch);
    l->prob = arena_reserve(&s->a, batch * classes);
    l->labels = arena_reserve(&s->a, batch);
    l->dloss = arena_reserve(&s->a, batch);
    l->targets = arena_reserve(&s->a, batch * classes);
}

static void nets_plan(Nets *ns) { netset_plan(&ns->s, reserve_loss, ns); }

// the training models again at res with knobs k (a progressive stage), the arena planned anew
static void nets_rebuild_train(Nets *ns, const ModelKnobs *k, int res)
{
    ModelKnobs kt = *k;
    kt.reparam = false; // training runs the branches
    for (int i = 0; i < ns->s.n; i++)
        if (ns->s.net[i].mode == GRAPH_TRAIN) netset_rebuild(&ns->s, &ns->s.net[i], &kt, res);
    nets_plan(ns);
}

static Net *nets_get(Nets *ns, const Params *p, int batch, GraphMode mode)
{
    Net *n = netset_find(&ns->s, p, batch, mode);
    CHECK(n, "train: no model planned for batch %d", batch);
    return n;
}

static NetLoss *net_loss(Nets *ns, const Net *n) { return &ns->loss[n - ns->s.net]; }

static void nets_free(Nets *ns)
{
    for (int i = 0; i < ns->s.n; i++) free(ns->loss[i].host);
    netset_free(&ns->s);
}

// ---------------------------------------------------------------------------------------------
// one batch through a model

// top-1 and top-5 hits of the rows of logits (n, k) for labels
static void count_hits(const float *z, const int *y, int n, int k, int *top1, int *top5)
{
    for (int i = 0; i < n; i++) {
        const float *r = z + (size_t)i * k;
        int rank = 0; // how many classes score above the true one
        for (int j = 0; j < k; j++) rank += r[j] > r[y[i]];
        *top1 += rank == 0;
        *top5 += rank < 5;
    }
}

// forward (and, training, backward) of batch b through n; returns the summed loss and counts hits.
// dist: training's loss comes from the distiller (NULL: cross-entropy with the labels). weight:
// each sample's share of the loss whose gradient training takes (1 / the whole batch: the mean)
static double run_batch(Nets *ns, Net *n, const Batch *b, bool train, float smoothing, uint64_t seed,
                        uint64_t sample0, int *hits1, int *hits5, Distill *dist, float weight)
{
    Dev *d = ns->s.a.dev;
    const Arena *a = &ns->s.a;
    NetLoss *nl = net_loss(ns, n);
    CHECK(b->n == n->batch, "train: a batch of %d for a model of %d", b->n, n->batch);
    CHECK(!dist || d->host, "train: distillation runs on host memory (ref, cpu) only so far, not on %s", d->name);
    // the arena is the device's: the batch goes up, and what the host reads (logits, per-sample
    // losses) comes down into zh (n x classes) and lh (n)
    int *labels = (int *)arena_at(a, nl->labels);
    dev_upload(d, labels, b->labels, (size_t)b->n * sizeof(int));
    net_forward(&ns->s, n, b->x, train, seed, sample0);
    const float *z = graph_val(&n->g, a, n->out);
    if (train && dist) {
        double s = distill_step(dist, b, z, labels, smoothing, graph_grad(&n->g, a, n->out));
        graph_backward(&n->g, d, a, true, seed, sample0);
        count_hits(z, labels, n->batch, n->classes, hits1, hits5);
        return s;
    }
    Xent xo = {n->batch, n->classes, smoothing};
    float *loss = arena_at(a, nl->loss);
    // Mixup/CutMix: the loader's soft targets (label smoothing already folded in, as timm's
    // SoftTargetCrossEntropy on mixup_target), instead of the smoothed labels
    float *targets = b->targets ? arena_at(a, nl->targets) : NULL;
    if (targets) {
        CHECK(b->classes == n->classes, "train: targets of %d classes for a model of %d", b->classes, n->classes);
        dev_upload(d, targets, b->targets, (size_t)b->n * b->classes * sizeof(float));
    }
    float *zh = nl->host, *lh = zh + (size_t)n->batch * n->classes;
    const int *hard = targets ? NULL : labels; // the loss takes one of them (ops.h)
    xent_forward(d, xo, loss, arena_at(a, nl->prob), z, hard, targets);
    if (train) {
        float *dl = arena_at(a, nl->dloss);
        for (int i = 0; i < n->batch; i++) lh[i] = weight; // the mean loss over the whole batch
        dev_upload(d, dl, lh, (size_t)n->batch * sizeof(float));
        xent_backward(d, xo, graph_grad(&n->g, a, n->out), dl, arena_at(a, nl->prob), hard, targets, SET_0);
        graph_backward(&n->g, d, a, true, seed, sample0);
    }
    dev_download(d, lh, loss, (size_t)n->batch * sizeof(float));
    dev_download(d, zh, z, (size_t)n->batch * n->classes * sizeof(float));
    double s = 0;
    for (int i = 0; i < n->batch; i++) s += lh[i];
    count_hits(zh, b->labels, n->batch, n->classes, hits1, hits5);
    return s;
}

// the whole test split through the eval models of one form: each rank its share (the loader's
// slice), the counts summed over the ranks
static int evaluate(Nets *ns, const Params *p, Loader *ld, const TrainConfig *c, Comm *comm, EvalStats *s)
{
    int hits1 = 0, hits5 = 0, seen = 0;
    double loss = 0, t0 = time_now();
    loader_start(ld, 0, 0, 0, false);
    const Batch *b;
    int rc;
    while (!(rc = loader_next(ld, &b)) && b) {
        loss += run_batch(ns, nets_get(ns, p, b->n, GRAPH_EVAL), b, false, 0, c->seed, 0, &hits1, &hits5, NULL, 0);
        seen += b->n;
    }
    if (rc) return rc;
    double v[4] = {loss, hits1, hits5, seen};
    if ((rc = comm_allreduce_sum_f64(comm, v, 4))) return rc;
    *s = (EvalStats){v[0] / v[3], 100.0 * v[1] / v[3], 100.0 * v[2] / v[3], (int)v[3], time_now() - t0};
    return 0;
}

// ---------------------------------------------------------------------------------------------

// the test split, and the training split unless train is NULL (evaluation alone)
static int open_data(const TrainConfig *c, Dataset *train, Dataset *test)
{
    const char *dir = c->data_dir[0] ? c->data_dir : NULL;
    int rc = train ? dataset_load(train, c->dataset, dir, true) : 0;
    if (!rc) rc = dataset_load(test, c->dataset, dir, false);
    if (rc) return rc;
    if (train) dataset_limit(train, c->train_limit);
    dataset_limit(test, c->eval_limit);
    if (test->c != c->net.in_chans) {
        log_error("train: model.in_chans = %d, but %s images have %d channel(s)", c->net.in_chans,
                  c->dataset, test->c);
        return ERR_ARG;
    }
    if (test->classes > c->net.num_classes) {
        log_error("train: model.classes = %d, but %s has %d classes", c->net.num_classes, c->dataset,
                  test->classes);
        return ERR_ARG;
    }
    if (train && train->n < c->batch && c->drop_last) {
        log_error("train: %d training samples for batches of %d with data.drop_last: no step per epoch",
                  train->n, c->batch);
        return ERR_ARG;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// the trainer: everything a run holds

struct Trainer {
    TrainConfig c;
    Dataset train, test;
    Loader ltr, lev;
    Dev d;
    Params p;
    Params pf;      // the folded form's table (weights only), refilled from p by every folded eval;
                    // empty for a model without re-parameterizable branches
    bool folded;    // pf and its eval models exist
    bool training;  // the training side exists (not trainer_open_eval)
    Nets ns;
    Schedule sched; // the recipe's, its rates scaled to the batch
    Distill *dist;  // NULL without teachers
    int steps_per_epoch;
    long step; // optimizer steps taken (Adam's bias correction, the EMA's update count, progress)
    long kill_at; // REPRO_KILL_AT_STEP (tests): SIGKILL itself right after this optimizer step; 0 = never
    // progressive learning: the recipe's own settings, the stage the training models and loader
    // are set up for (count 0 when off: then always the recipe's), the stage last announced
    ProgSettings base;
    ProgStage stage;
    int shown;
    // data parallelism: the ranks (comm: the config's, or `one`), this rank, the micro-slices of
    // a rank's share, SyncBN's all-reduce (set on the training graphs when sync_bn)
    Comm *comm, one;
    int micro;
    BnSync bn_sync;
    bool dev_coll;  // the gradients are summed by the device's collectives (cuda: NCCL), not MPI
};

// rank 0's bytes to every rank (the device communicator's id); whether every rank says yes
static int bcast_root(void *user, void *buf, size_t bytes) { return comm_broadcast(user, buf, bytes, 0); }
static bool all_ranks(void *user, bool yes)
{
    double no = !yes;
    return comm_allreduce_sum_f64(user, &no, 1) == 0 && no == 0;
}
// whether every rank's key differs from the others' (each rank's key to all in turn: start-up only)
static bool keys_distinct(void *user, uint64_t key)
{
    Comm *cm = user;
    double same = 0;
    for (int r = 0; r < cm->world; r++) {
        uint64_t k = key;
        if (comm_broadcast(cm, &k, sizeof k, r)) return false;
        same += r != cm->rank && k == key;
    }
    return comm_allreduce_sum_f64(cm, &same, 1) == 0 && same == 0;
}

// a device whose memory MPI cannot take (cuda) sums the ranks' gradients with its own collectives
// when it has them and every rank has a GPU of its own; else through host copies over MPI
static int open_dev_coll(Trainer *t)
{
    const Comm *cm = t->comm;
    if (cm->world == 1 || !t->d.coll) return 0;
    DevCollHost h = {bcast_root, all_ranks, keys_distinct, t->comm};
    int rc = t->d.coll->open(&t->d, cm->rank, cm->world, cm->local_world, &h);
    if (rc == ERR_ARG) {
        if (cm->rank == 0)
            printf("train: the ranks cannot all use the GPUs' collectives (shared GPUs, or no NCCL): gradients "
                   "summed through host copies over MPI\n");
        return 0;
    }
    t->dev_coll = rc == 0;
    return rc;
}

// SyncBN's all-reduce over the trainer's ranks
static int bn_allreduce(void *user, double *buf, size_t n) { return comm_allreduce_sum_f64(user, buf, n); }

// the training graphs' batch norm: SyncBN over the ranks when the run asks for it, on any number
// of ranks (one included: the same code, so a recipe computes the same at any world size up to
// the order of the ranks' sums; it is the oracle's double-precision batch norm, slower than the
// backend's)
static void set_sync_bn(Trainer *t)
{
    bool on = t->c.sync_bn;
    for (int i = 0; i < t->ns.s.n; i++)
        if (t->ns.s.net[i].mode == GRAPH_TRAIN) t->ns.s.net[i].g.bn_sync = on ? &t->bn_sync : NULL;
}

// the training loader's augmentation in stage s: the recipe's, with the stage's RandAugment
// magnitude and mixing alphas; mixed batches' targets are as wide as the model, smoothing folded in
static AugArgs stage_aug(const TrainConfig *c, const ProgStage *s)
{
    AugArgs a = c->aug;
    a.mix.classes = c->net.num_classes;
    a.mix.smoothing = c->label_smoothing;
    if (s->count) {
        a.randaug_m_set = a.randaug[0] != 0;
        a.randaug_m = s->s.randaug;
        a.mix.mixup_alpha = s->s.mixup_alpha;
        a.mix.cutmix_alpha = s->s.cutmix_alpha;
    }
    return a;
}

static ModelKnobs stage_knobs(const TrainConfig *c, const ProgStage *s)
{
    ModelKnobs k = c->net;
    k.dropout = s->s.dropout;
    return k;
}

// sets the training models and loader up for the stage of global step pos, when it is not the one
// they are in, and announces a stage the first time it trains; 0 or the loader's ERR_*
static int stage_enter(Trainer *t, long pos)
{
    const TrainConfig *c = &t->c;
    if (!prog_on(&c->prog)) return 0;
    ProgStage s = prog_stage_at(&c->prog, &t->base, (long)c->epochs * t->steps_per_epoch, pos);
    if (s.index != t->stage.index) {
        AugArgs a = stage_aug(c, &s);
        int rc = loader_set_aug(&t->ltr, &a, s.s.res, s.s.res);
        if (rc) return rc;
        ModelKnobs k = stage_knobs(c, &s);
        nets_rebuild_train(&t->ns, &k, s.s.res);
        set_sync_bn(t);
        if (c->profile) graph_profile(&t->ns.s.net[0].g, true);
        t->stage = s;
    }
    if (t->shown != s.index && t->comm->rank == 0) {
        char ra[48] = "", mix[64] = "";
        if (c->aug.randaug[0]) snprintf(ra, sizeof ra, ", RandAugment magnitude %.4g", s.s.randaug);
        if (s.s.mixup_alpha > 0 || s.s.cutmix_alpha > 0 || c->prog.mixup_max > 0)
            snprintf(mix, sizeof mix, ", mixup alpha %.4g, cutmix alpha %.4g", s.s.mixup_alpha, s.s.cutmix_alpha);
        printf("%strain: stage %d/%d (steps %ld..%ld, %s rule): res %d%s%s, dropout %.4g\n",
               isatty(1) ? "\r\033[K" : "", s.index + 1, s.count, s.first, s.end - 1, prog_rule_names[c->prog.rule],
               s.s.res, ra, mix, s.s.dropout);
        t->shown = s.index;
    }
    return 0;
}

// the eval models over table p for the test split's batch sizes (folded: the inference form's);
// allocates p (weights only: nothing trains it) when the first of them has declared it
static int add_eval_nets(Trainer *t, Params *p, bool folded)
{
    const TrainConfig *c = &t->c;
    int nev = t->lev.epoch_len, rc; // this rank's share of the split
    int sizes[2], n = net_batches(nev, c->eval_batch, false, sizes);
    for (int i = 0; i < n; i++) {
        nets_add(&t->ns, c, &c->net, p, folded, sizes[i], c->res, GRAPH_EVAL); // model.res
        if (!p->dev && (rc = params_alloc_weights(p, &t->d))) return rc;
    }
    return 0;
}

// what the ranks and micro-slices can split: every share of a batch non-empty, full shares equal
// (rank r of W holds batch/W samples, as timm's per-rank batch); 0 or ERR_ARG with one line
static int check_split(Trainer *t)
{
    const TrainConfig *c = &t->c;
    int world = t->comm->world, parts = world * t->micro;
    if (world > 1 && distill_on(&c->distill)) {
        log_error("train: distillation runs in one process so far, not on %d ranks", world);
        return ERR_ARG;
    }
    if (t->micro > 1 && (distill_on(&c->distill) || c->sync_bn || (t->training && mixup_on(&c->aug.mix)))) {
        // Mixup pairs over the loader's whole batch, which the slices would then cut
        log_error("train: micro-batches with %s", distill_on(&c->distill) ? "distillation" : c->sync_bn ? "SyncBN"
                                                                                          : "Mixup/CutMix");
        return ERR_ARG;
    }
    if (c->sync_bn && !t->d.host) {
        log_error("train: train.sync_bn runs on host memory (ref, cpu) so far, not on %s", t->d.name);
        return ERR_ARG;
    }
    if (t->test.n < world) {
        log_error("train: %d test images cannot be split over %d ranks", t->test.n, world);
        return ERR_ARG;
    }
    if (!t->training || parts == 1) return 0;
    if (c->batch % parts) {
        log_error("train: train.batch = %d is the whole batch of all %d ranks%s: it must be a multiple of %d", c->batch,
                  world, t->micro > 1 ? " and micro-batches" : "", parts);
        return ERR_ARG;
    }
    if (mixup_on(&c->aug.mix) && (c->batch / parts) % 2) {
        log_error("train: Mixup/CutMix mix pairs within each rank's share of the batch (as timm's within a rank's "
                  "batch): train.batch = %d gives %d ranks odd shares of %d; use a multiple of %d", c->batch, parts,
                  c->batch / parts, 2 * parts);
        return ERR_ARG;
    }
    int last = t->ltr.epoch_len % c->batch;
    if (!c->drop_last && last && last < parts) {
        log_error("train: the epoch's last batch holds %d samples, fewer than the %d ranks: set data.drop_last = true",
                  last, parts);
        return ERR_ARG;
    }
    return 0;
}

// the batch sizes this rank's training models take: its share of every batch size of an epoch,
// cut into the micro-slices; distinct, the full batches' first. Returns how many
static int train_sizes(const Trainer *t, int sizes[8])
{
    int global[2], n_global = net_batches(t->ltr.epoch_len, t->c.batch, t->c.drop_last, global), n = 0;
    for (int i = 0; i < n_global; i++) {
        int share = loader_share(global[i], t->comm->rank, t->comm->world);
        for (int k = 0; k < t->micro; k++) {
            int m = loader_share(share, k, t->micro), seen = 0;
            for (int j = 0; j < n; j++) seen |= sizes[j] == m;
            if (!seen && m > 0) sizes[n++] = m;
        }
    }
    return n;
}

// rank 0's weights, optimizer slots and EMA into every rank (a world of one: nothing)
static int broadcast_params(Trainer *t)
{
    if (t->comm->world == 1) return 0;
    Params *p = &t->p;
    for (int role = 0; role < ROLE_SLOT0 + 4; role++) {
        if (role == ROLE_GRAD || !p->buf[role]) continue;
        int rc = comm_broadcast(t->comm, params_pull(p, role), p->total * sizeof(float), 0);
        if (rc) return rc;
        params_push(p, role);
    }
    return 0;
}

// trainer_open (train) and trainer_open_eval: folded adds the folded form's eval models; ema
// loads c->weights' EMA (evaluation alone)
static int open_trainer(Trainer **out, const TrainConfig *c, bool train, bool folded, bool ema)
{
    Trainer *t = xcalloc(1, sizeof *t);
    *out = NULL;
    const char *kill_at = getenv("REPRO_KILL_AT_STEP");
    t->kill_at = kill_at ? atol(kill_at) : 0;
    t->c = *c;
    c = &t->c; // the models keep the config's strings (model name): the trainer's copy, not the caller's
    t->training = train;
    t->one = (Comm){COMM_SINGLE, 0, 1, 0, 1, "1 process", 0};
    t->comm = c->comm ? c->comm : &t->one;
    t->micro = MAX(c->micro, 1);
    t->bn_sync = (BnSync){bn_allreduce, t->comm};
    int rc = open_data(c, train ? &t->train : NULL, &t->test);
    if (!rc) rc = dev_open(&t->d, c->backend);
    if (!rc && c->bf16) {
        if (strcmp(t->d.name, "cuda")) {
            log_error("train: train.bf16 computes convolutions in bfloat16 on the cuda backend; backend %s has none",
                      t->d.name);
            rc = ERR_ARG;
        } else t->d.prec = PREC_BF16;
    }
    if (!rc && train) rc = open_dev_coll(t);
    // the recipe's own settings (RandAugment's magnitude as its string says): the loader opens
    // with them, then takes the first stage's once the run's length is known
    AugArgs ra = c->aug;
    if (!rc && augment_resolve(&ra)) rc = ERR_FORMAT;
    t->base = (ProgSettings){c->res, ra.ra.m, c->aug.mix.mixup_alpha, c->aug.mix.cutmix_alpha, c->net.dropout};
    t->stage = (ProgStage){.s = t->base};
    t->shown = -1;
    AugArgs aug = stage_aug(c, &t->stage);
    if (!rc && train)
        rc = loader_open(&t->ltr, &t->train, &aug, c->seed, c->batch, true, c->res, c->res, LOADER_WORKERS,
                         LOADER_DEPTH);
    if (!rc) rc = loader_open(&t->lev, &t->test, &c->aug, c->seed, c->eval_batch, false, c->res, c->res,
                              LOADER_WORKERS, LOADER_DEPTH);
    if (rc || (rc = check_split(t))) goto fail;
    if (train) loader_slice(&t->ltr, t->comm->rank, t->comm->world);
    loader_slice(&t->lev, t->comm->rank, t->comm->world);
    Nets *ns = &t->ns;
    netset_init(&ns->s, &t->d);
    if (train) {
        t->steps_per_epoch = loader_steps_per_epoch(&t->ltr, c->drop_last);
        if (prog_on(&c->prog)) { // the first stage's loader and models
            t->stage = prog_stage_at(&c->prog, &t->base, (long)c->epochs * t->steps_per_epoch, 0);
            aug = stage_aug(c, &t->stage);
            if ((rc = loader_set_aug(&t->ltr, &aug, t->stage.s.res, t->stage.s.res))) goto fail;
        }
        ModelKnobs k = stage_knobs(c, &t->stage);
        int res = t->stage.s.res;
        int sizes[8], n_sizes = train_sizes(t, sizes);
        for (int i = 0; i < n_sizes; i++) { // the first declares the parameters; the others find them
            nets_add(ns, c, &k, &t->p, false, sizes[i], res, GRAPH_TRAIN);
            if (!i && (rc = params_alloc(&t->p, &t->d, optim_slots(&c->optim), c->ema.decay > 0))) goto fail;
        }
        set_sync_bn(t);
        optim_init(&t->p, &c->optim);
        t->sched = sched_for_batch(&c->sched, c->batch);
    }
    if ((rc = add_eval_nets(t, &t->p, false))) goto fail;
    if (folded && (rc = add_eval_nets(t, &t->pf, true))) goto fail;
    t->folded = folded;
    nets_plan(ns);
    if (c->profile && train) graph_profile(&ns->s.net[0].g, true);
    // the start weights: from the seed, or read by rank 0 alone (the ranks' nodes need not see the
    // file) and, like the seed's, sent from rank 0 to every rank
    if (!c->weights[0]) graph_init_params(&ns->s.net[0].g, c->seed);
    else {
        int lrc = t->comm->rank ? 0 : weights_load(&t->p, c->weights, ema, c->model, NULL);
        if ((rc = comm_broadcast(t->comm, &lrc, sizeof lrc, 0)) || (rc = lrc)) goto fail;
    }
    if ((rc = broadcast_params(t))) goto fail;
    if (!train) {
        *out = t;
        return 0;
    }
    if (c->ema.decay > 0) ema_init(&t->p);
    DistillEnv de = {&t->d, ns->s.net[0].classes, c->net.in_chans, c->res, c->batch, t->ltr.epoch_len, &t->train,
                     &c->aug, c->seed, t->p.n_slots};
    if (distill_on(&c->distill) && (rc = distill_open(&t->dist, &c->distill, &de))) goto fail;
    if (distill_aux_params(t->dist)) optim_init(distill_aux_params(t->dist), &c->optim); // its slots' start
    *out = t;
    return 0;
fail:
    trainer_close(t);
    return rc;
}

int trainer_open(Trainer **out, const TrainConfig *c)
{
    // a model that trains with branches is also judged folded, as it will be deployed
    return open_trainer(out, c, true, model_has_reparam(c->model) && !c->net.reparam, false);
}

int trainer_open_eval(Trainer **out, const TrainConfig *c, bool ema, bool folded)
{
    CHECK(!folded || (model_has_reparam(c->model) && !c->net.reparam), "trainer_open_eval: %s has no "
          "branches to fold", c->model);
    return open_trainer(out, c, false, folded, ema);
}

// steps first_step .. + n_steps - 1 of `epoch` (n_steps > 0) in the models and loader as they are
static int train_range(Trainer *t, int epoch, int first_step, int n_steps, TrainStats *st)
{
    const TrainConfig *c = &t->c;
    CHECK(t->training, "trainer_train: a trainer for evaluation alone (trainer_open_eval)");
    loader_start(&t->ltr, epoch, first_step, n_steps, c->drop_last);
    const Batch *b;
    int rc;
    Comm *comm = t->comm;
    while (!(rc = loader_next(&t->ltr, &b)) && b) {
        if (comm->world == 1 && train_interrupt) { // ranks stop together, after a step (below)
            st->interrupted = true;
            return 0;
        }
        Optim o = c->optim;
        o.lr = st->lr = sched_lr(&t->sched, b->epoch + (double)b->step / t->steps_per_epoch);
        // dropout and drop-path draws: counter = the sample's position in the run (this rank's
        // share starts j0 samples into the batch)
        uint64_t sample0 = (uint64_t)b->epoch * t->train.n + (uint64_t)b->step * c->batch;
        uint64_t j0 = (uint64_t)((long)b->n_global * comm->rank / comm->world);
        params_zero(&t->p, ROLE_GRAD);
        // the share in micro-slices, each a view of the batch; every sample's loss weighs
        // 1 / the whole batch, so the gradients summed over slices and ranks are the batch mean's
        double bl = 0;
        int hits1 = 0, hits5 = 0;
        size_t px = (size_t)t->ltr.out_h * t->ltr.out_w * t->ltr.c;
        for (int k = 0, off = 0; k < t->micro; k++) {
            Batch v = *b;
            v.n = loader_share(b->n, k, t->micro);
            v.x = b->x + (size_t)off * px;
            v.labels = b->labels + off;
            v.targets = b->targets ? b->targets + (size_t)off * b->classes : NULL;
            if (v.n > 0)
                bl += run_batch(&t->ns, nets_get(&t->ns, &t->p, v.n, GRAPH_TRAIN), &v, true, c->label_smoothing,
                                c->seed, sample0 + j0 + (uint64_t)off, &hits1, &hits5, t->dist,
                                1.0f / (float)b->n_global);
            off += v.n;
        }
        // over the ranks: the gradients' sum; the loss, hits and stop requests, so that every rank
        // takes the same decisions (a divergence, an interrupt) at the same step
        double sums[4] = {bl, hits1, hits5, train_interrupt ? 1 : 0};
        if (comm->world > 1) {
            if (t->dev_coll) rc = t->d.coll->allreduce_sum(&t->d, t->p.buf[ROLE_GRAD], t->p.total);
            else {
                rc = comm_allreduce_sum(comm, params_pull(&t->p, ROLE_GRAD), t->p.total);
                params_push(&t->p, ROLE_GRAD);
            }
            if (rc || (rc = comm_allreduce_sum_f64(comm, sums, 4))) return rc;
            bl = sums[0];
        }
        st->hits1 += (int)sums[1];
        st->hits5 += (int)sums[2];
        if (!isfinite(bl)) {
            st->diverged = true;
            st->last_loss = bl;
            return 0;
        }
        if (o.l2 > 0) optim_l2(&t->p, &o);
        if (c->clip_grad > 0) grad_clip(&t->p, c->clip_grad);
        optim_step(&t->p, &o, ++t->step);
        if (t->step == t->kill_at) raise(SIGKILL); // a crash at an exact step, for the resume tests
        distill_optim_step(t->dist, &o, t->step);
        if (c->ema.decay > 0) ema_update(&t->p, ema_decay(c->ema, t->step));
        st->loss_sum += bl;
        st->last_loss = bl / b->n_global;
        st->seen += b->n_global;
        st->steps++;
        if (st->progress && comm->rank == 0) st->progress(st, b->epoch, b->step, st->user);
        if (comm->world > 1 && sums[3] > 0) {
            st->interrupted = true;
            return 0;
        }
    }
    return rc;
}

int trainer_train(Trainer *t, int epoch, int first_step, int n_steps, TrainStats *st)
{
    // the range, as global steps, cut where a progressive stage ends: each piece runs in its stage
    long spe = t->steps_per_epoch, pos = epoch * spe + first_step;
    long end = pos + (n_steps > 0 ? n_steps : spe - first_step);
    while (pos < end) {
        int rc = stage_enter(t, pos);
        if (rc) return rc;
        const ProgStage *s = &t->stage;
        long piece_end = s->count && s->index < s->count - 1 ? MIN(end, s->end) : end;
        if ((rc = train_range(t, (int)(pos / spe), (int)(pos % spe), (int)(piece_end - pos), st))) return rc;
        if (st->diverged || st->interrupted) return 0;
        pos = piece_end;
    }
    return 0;
}

bool trainer_has_folded(const Trainer *t) { return t->folded; }

// the eval model over table p (the trained one, or the folded form's) of the full batches
static Net *eval_net(Trainer *t, const Params *p)
{
    int sizes[2];
    net_batches(t->lev.epoch_len, t->c.eval_batch, false, sizes); // this rank's share
    return nets_get(&t->ns, p, sizes[0], GRAPH_EVAL);
}

Params *trainer_params(Trainer *t) { return &t->p; }

int trainer_evaluate(Trainer *t, bool ema, bool folded, EvalStats *s)
{
    CHECK(!folded || t->folded, "trainer_evaluate: no folded form of %s in this trainer", t->c.model);
    if (ema) ema_swap(&t->p);
    if (folded) // the current weights into the folded table (any of the folded models' graphs)
        model_fold(t->c.model, &eval_net(t, &t->pf)->g, &t->pf, &t->p);
    netset_refresh(&t->ns.s, folded ? &t->pf : &t->p); // BN folded into the eval models' convolutions
    int rc = evaluate(&t->ns, folded ? &t->pf : &t->p, &t->lev, &t->c, t->comm, s);
    if (ema) ema_swap(&t->p);
    return rc;
}

int trainer_eval(Trainer *t, bool ema, EpochLog *log)
{
    EvalStats s, f = {.top1 = NAN};
    int rc = trainer_evaluate(t, ema, false, &s);
    if (!rc && t->folded) rc = trainer_evaluate(t, ema, true, &f);
    if (rc) return rc;
    if (ema) {
        log->ema_top1 = s.top1;
        log->ema_top1_reparam = f.top1;
    } else {
        log->eval_loss = s.loss;
        log->eval_top1 = s.top1;
        log->eval_top5 = s.top5;
        log->eval_top1_reparam = f.top1;
    }
    return 0;
}

int trainer_reduce_bn(Trainer *t)
{
    Params *p = &t->p;
    if (t->comm->world == 1 || t->c.sync_bn) return 0; // one rank; SyncBN's are the same everywhere
    int rc = 0;
    for (int role = ROLE_W; role <= ROLE_EMA && !rc; role++) { // once an epoch: an all-reduce per entry
        if (role == ROLE_GRAD || !p->buf[role]) continue;
        float *h = params_pull(p, role);
        for (int i = 0; i < p->count && !rc; i++)
            if (p->info[i].buffer) rc = comm_allreduce_mean(t->comm, h + p->info[i].offset, p->info[i].numel);
        params_push(p, role);
    }
    return rc;
}

void trainer_profile(Trainer *t, bool on) { graph_profile(&t->ns.s.net[0].g, on); }

void trainer_profile_print(const Trainer *t, FILE *f)
{
    graph_profile_print(&t->ns.s.net[0].g, f);
}

// the eval model of the full batches over the trained table (its folded batch norms included)
void trainer_profile_eval(Trainer *t, bool on) { graph_profile(&eval_net(t, &t->p)->g, on); }

void trainer_profile_eval_print(Trainer *t, FILE *f) { graph_profile_print(&eval_net(t, &t->p)->g, f); }

void trainer_close(Trainer *t)
{
    if (!t) return;
    loader_close(&t->ltr);
    loader_close(&t->lev);
    distill_close(t->dist);
    nets_free(&t->ns);
    params_free(&t->p);
    params_free(&t->pf);
    dev_close(&t->d);
    dataset_free(&t->train);
    dataset_free(&t->test);
    free(t);
}

// ---------------------------------------------------------------------------------------------
// a whole run: epochs, evaluation, checkpoints, the run file's hook

volatile sig_atomic_t train_interrupt;

typedef struct { double t0, t_run; long total, step0, *step; int epochs, steps; bool tty; } Progress;

// now, UTC, ISO 8601 to the second
static void utc_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

// r->segments: the earlier segments (prior, owned by the caller) and this one's line as of now
static void segment_update(TrainResult *r, const char *prior, const char *start, int first_epoch,
                           double seconds, int ranks)
{
    char end[32], host[128] = "?", line[400];
    utc_now(end);
    if (gethostname(host, sizeof host)) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = 0;
    char rk[24] = ""; // data-parallel: the ranks (each with `threads`); the host is rank 0's
    if (ranks > 1) snprintf(rk, sizeof rk, " ranks=%d", ranks);
    snprintf(line, sizeof line, "%s %s host=%s threads=%d epochs=%d-%d seconds=%.3f%s\n", start, end, host,
             omp_get_max_threads(), first_epoch + 1, r->n_epochs, seconds, rk);
    size_t n = prior ? strlen(prior) : 0;
    free(r->segments);
    r->segments = xmalloc(n + strlen(line) + 1);
    memcpy(r->segments, prior ? prior : "", n);
    strcpy(r->segments + n, line);
}

static void progress_line(const TrainStats *st, int epoch, int step, void *user)
{
    Progress *p = user;
    long done = *p->step - p->step0;
    double el = time_now() - p->t0, eta = (time_now() - p->t_run) / done * (p->total - *p->step);
    if (p->tty || step % 100 == 0 || step == p->steps - 1)
        printf("%sepoch %d/%d step %d/%d  loss %.4f  lr %.4f  %.0f img/s  ETA %.0fs%s", p->tty ? "\r" : "",
               epoch + 1, p->epochs, step + 1, p->steps, st->loss_sum / st->seen, st->lr, st->seen / el, eta,
               p->tty ? "   " : "\n");
    fflush(stdout);
}

// the folded form computes what the branches do up to float rounding, which can flip only a
// prediction whose two best classes tie within it: a few in ten thousand at most. More is a
// folding bug; the run goes on (both numbers are in the run file) and says so
static void fold_check(const char *what, double top1, double folded, int images)
{
    double differ = fabs(top1 - folded) * images / 100;
    if (differ > 1 + images / 1000.0)
        printf("train: WARNING: the %s score top-1 %.2f%% with their branches and %.2f%% folded: %.0f of %d "
               "test images differ, more than rounding explains (a folding bug?)\n", what, top1, folded,
               differ, images);
}

int train_run(const TrainConfig *c, TrainResult *r, TrainHook hook, void *user)
{
    memset(r, 0, sizeof *r);
    Trainer *t;
    int rc = trainer_open(&t, c);
    if (rc) return rc;
    bool ema = c->ema.decay > 0;
    r->epochs = xcalloc((size_t)c->epochs, sizeof *r->epochs);
    r->status = "running";
    r->params = params_count(&t->p, true);
    snprintf(r->device, sizeof r->device, "%s", t->d.desc);
    r->macs = graph_macs(&eval_net(t, &t->p)->g); // model.res
    int start_epoch = 0;
    char *prior = NULL; // the segments before this one
    // a resume: rank 0 reads the checkpoint (the others need not see its folder: nodes without a
    // shared file system) and sends the state and the position to the ranks
    Comm *cm = t->comm;
    int resume = c->resume && c->checkpoint[0] && cm->rank == 0 && access(c->checkpoint, F_OK) == 0;
    if ((rc = comm_broadcast(cm, &resume, sizeof resume, 0))) goto out;
    if (resume) {
        int lrc = cm->rank ? 0 : ckpt_load(c->checkpoint, &t->p, distill_aux_params(t->dist), c->optim.kind, r,
                                           &start_epoch, &t->step, c->seed, c->run_id, cm->world);
        long pos[2] = {start_epoch, t->step};
        if ((rc = comm_broadcast(cm, &lrc, sizeof lrc, 0)) || (rc = lrc) ||
            (rc = comm_broadcast(cm, pos, sizeof pos, 0)) || (rc = broadcast_params(t)))
            goto out;
        start_epoch = (int)pos[0], t->step = pos[1];
        printf("train: resumed from %s after epoch %d (step %ld)\n", c->checkpoint, start_epoch, t->step);
    }
    // this segment: the wall time and segments before it come from the checkpoint
    double wall_before = r->final.wall_s;
    char seg_start[32];
    prior = r->segments;
    r->segments = NULL;
    utc_now(seg_start);
    if (!r->started[0]) snprintf(r->started, sizeof r->started, "%s", seg_start);
    int spe = t->steps_per_epoch;
    Progress pg = {0, time_now(), (long)c->epochs * spe, t->step, &t->step, c->epochs, spe, isatty(1)};
    if (c->max_steps && c->max_steps < pg.total) pg.total = c->max_steps;
    printf("train: %s (%zu params, %.1f MMACs/image) on %s (%d + %d images at %dx%d), %d epochs x %d "
           "steps of %d, backend %s, seed %llu, activations %.0f MB\n",
           c->model, r->params, r->macs / 1e6, c->dataset, t->train.n, t->test.n, c->res, c->res, c->epochs,
           spe, c->batch, t->d.name, (unsigned long long)c->seed, t->ns.s.a.planned * 4.0 / 1e6);
    char per[64] = ""; // the effective peak rate, and what it was given as
    if (c->sched.lr_batch)
        snprintf(per, sizeof per, " (%g per %d images%s)", c->sched.lr_peak, c->sched.lr_batch,
                 c->sched.lr_sqrt ? ", sqrt-scaled" : "");
    printf("train: optimizer %s, peak lr %g%s\n", optim_name(c->optim.kind), t->sched.lr_peak, per);
    int hook_rc = 0;
    for (int epoch = start_epoch; epoch < c->epochs && !strcmp(r->status, "running") && !hook_rc; epoch++) {
        TrainStats st = {.progress = progress_line, .user = &pg};
        pg.t0 = time_now();
        int n = spe;
        if (c->max_steps) n = (int)MIN((long)n, c->max_steps - t->step);
        if (n <= 0) break;
        if ((rc = trainer_train(t, epoch, 0, n, &st))) goto out;
        if (st.interrupted) {
            if (epoch > start_epoch || start_epoch > 0)
                printf("%strain: interrupted at epoch %d step %d; the checkpoint after epoch %d is kept (--resume "
                       "continues from it)\n", pg.tty ? "\n" : "", epoch + 1, st.steps + 1, epoch);
            else
                printf("%strain: interrupted at epoch 1 step %d, before any checkpoint: --resume starts it over\n",
                       pg.tty ? "\n" : "", st.steps + 1);
            r->status = "interrupted";
            break;
        }
        if (st.diverged) {
            printf("%strain: loss is %g at epoch %d step %d: diverged\n", pg.tty ? "\n" : "", st.last_loss,
                   epoch + 1, st.steps + 1);
            r->status = "diverged";
        }
        if (!st.seen) break;
        EpochLog *log = &r->epochs[r->n_epochs++];
        log->epoch = epoch + 1;
        log->lr = st.lr;
        log->res = t->stage.s.res;
        log->train_loss = st.loss_sum / st.seen;
        log->train_top1 = 100.0 * st.hits1 / st.seen;
        log->img_per_s = st.seen / (time_now() - pg.t0);
        log->ema_top1 = log->ema_top1_reparam = log->eval_top1_reparam = NAN;
        // train.eval_every: the first epoch (the sanity lines read it), every Nth and the last (the
        // run's result); the others' eval numbers stay NaN. BN statistics are reduced every epoch
        // alike, so that the checkpoints are the same whatever N
        int every = c->eval_every > 1 ? c->eval_every : 1;
        bool last = epoch + 1 == c->epochs || (c->max_steps > 0 && t->step >= c->max_steps) ||
                    strcmp(r->status, "running");
        bool evals = epoch == 0 || (epoch + 1) % every == 0 || last;
        if (!evals) log->eval_loss = log->eval_top1 = log->eval_top5 = NAN;
        if ((rc = trainer_reduce_bn(t)) || (evals && (rc = trainer_eval(t, false, log))) ||
            (evals && ema && (rc = trainer_eval(t, true, log))))
            goto out;
        log->seconds = time_now() - pg.t0;
        if (evals && log->eval_top1 > r->final.best_top1) {
            r->final.best_top1 = log->eval_top1;
            r->final.best_epoch = epoch + 1;
        }
        bool folded = trainer_has_folded(t);
        char fold_txt[32] = "", ema_txt[48] = "";
        if (folded) snprintf(fold_txt, sizeof fold_txt, " (folded %.2f%%)", log->eval_top1_reparam);
        if (ema && folded)
            snprintf(ema_txt, sizeof ema_txt, " (EMA %.2f%%, folded %.2f%%)", log->ema_top1, log->ema_top1_reparam);
        else if (ema) snprintf(ema_txt, sizeof ema_txt, " (EMA %.2f%%)", log->ema_top1);
        if (!evals)
            printf("%sepoch %d/%d  train loss %.4f top-1 %.2f%%  (evaluated every %d epochs)  %.0f img/s  %.1fs\n",
                   pg.tty ? "\r" : "", epoch + 1, c->epochs, log->train_loss, log->train_top1, every, log->img_per_s,
                   log->seconds);
        else
            printf("%sepoch %d/%d  train loss %.4f top-1 %.2f%%  eval loss %.4f top-1 %.2f%%%s%s top-5 %.2f%%  "
                   "%.0f img/s  %.1fs\n", pg.tty ? "\r" : "", epoch + 1, c->epochs, log->train_loss, log->train_top1,
                   log->eval_loss, log->eval_top1, fold_txt, ema_txt, log->eval_top5, log->img_per_s, log->seconds);
        if (folded && evals) {
            fold_check("weights", log->eval_top1, log->eval_top1_reparam, t->test.n);
            if (ema) fold_check("EMA weights", log->ema_top1, log->ema_top1_reparam, t->test.n);
        }
        r->final.wall_s = wall_before + time_now() - pg.t_run;
        segment_update(r, prior, seg_start, start_epoch, time_now() - pg.t_run, t->comm->world);
        if (t->comm->rank == 0) { // rank 0 writes; the others learn whether it could
            if (c->checkpoint[0] && !strcmp(r->status, "running"))
                hook_rc = ckpt_save(c->checkpoint, &t->p, distill_aux_params(t->dist), c->optim.kind, r, epoch + 1,
                                    t->step, c->seed, c->run_id, c->recipe, t->comm->world, c->batch);
            if (hook && !hook_rc) hook_rc = hook(r, user);
        }
        if ((rc = comm_broadcast(t->comm, &hook_rc, sizeof hook_rc, 0))) goto out;
    }
    r->final.wall_s = wall_before + time_now() - pg.t_run;
    segment_update(r, prior, seg_start, start_epoch, time_now() - pg.t_run, t->comm->world);
    free(prior);
    prior = NULL;
    if (!strcmp(r->status, "running")) r->status = "done";
    if (hook && !hook_rc && t->comm->rank == 0) hook_rc = hook(r, user);
    rc = hook_rc < 0 ? hook_rc : 0;
    if (c->profile) trainer_profile_print(t, stderr);
out:
    free(prior);
    if (rc) train_result_free(r);
    trainer_close(t);
    return rc;
}

void train_result_free(TrainResult *r)
{
    free(r->segments);
    free(r->epochs);
    memset(r, 0, sizeof *r);
}
