/* engine/data/loader.c — the worker pool and batch ring of loader.h.
 *
 * The range of loader_start is a sequence of batches b = 0 .. n_steps-1; batch b lives in slot
 * b % depth and is cut into chunks of `chunk` samples. Everything below the mutex is small
 * bookkeeping; the pixels are written outside it:
 *   claim    a worker takes the next chunk (claim_b, claim_chunk) when batch claim_b's slot is free
 *            (claim_b < released + depth). Taking chunk 0 sets the slot up: its epoch, step, n
 *            and the sample indices, from the epoch's permutation (computed here, under the lock,
 *            once per epoch: n Philox draws, about a millisecond for CIFAR, tens for ImageNet).
 *   fill     outside the lock: get, then augment_train or augment_eval each sample of the chunk.
 *   finish   under the lock: when the last chunk of a batch is in, the slot is ready; signal.
 *            With Mixup/CutMix the worker that filled the last chunk first mixes the batch
 *            outside the lock (counted as busy, so a cancel waits for it too).
 *   consume  loader_next frees the slot it handed out last (released++), waits for the next one.
 *   cancel   loader_start and loader_close bump `gen` and wait until no chunk is being filled;
 *            a chunk that was running when gen changed is dropped, not counted.
 * Samples are visited by dataset index and each one's pixels depend only on (seed, epoch, index),
 * so which worker fills which chunk, and when, cannot change a bit of the output.
 */
#include "loader.h"

#include <pthread.h> // pthread_create, mutexes, condition variables
#include <string.h>  // memset, strerror

struct LoaderSlot {
    Batch b;          // x (batch, out_h, out_w, c), labels (batch), targets (batch, classes) or NULL
    int  *index;      // (batch) dataset index of each sample
    uint64_t *draw;   // (batch) its draw index: index + copy * n
    int   id;         // the range batch it holds, -1 when none
    int   chunks_left;
    int   err;        // the first reader error of its samples
    bool  ready;
};
typedef struct LoaderSlot LoaderSlot;

typedef struct {
    pthread_t    thread;
    LoaderState *st;
    uint8_t     *buf;     // (h, w, c) decoding readers write here
    AugScratch  *scratch; // augment.h's buffers
    MixDecision *dec;     // (batch) mixing decisions
    float       *mix;     // (2, out_h, out_w, c) a pair's copies while mixing
} LoaderWorker;

struct LoaderState {
    Loader        cfg;     // a copy of the public part: the workers read this, never the caller's
    int           chunk;   // samples per chunk: ceil(batch / n_workers)
    LoaderSlot   *slots;   // (depth)
    LoaderWorker *workers; // (n_workers)
    int           started; // threads running
    int          *perm;    // (n) permutation of epoch perm_epoch; NULL for eval
    int          *order, *copy; // (epoch_len) the epoch's dataset indices and repeat copies (train)
    int           perm_epoch;
    int           eval0;   // eval: the first sample of this rank's share (loader_slice)
    bool          mixing;  // Mixup/CutMix on (train)
    // the range, and where production and consumption stand in it (all under mu)
    int  epoch0, first_step, n_steps, steps_per_epoch;
    int  claim_b, claim_chunk;
    int  released, next_out;
    bool handed_out;
    int  busy;     // chunks being filled now
    unsigned gen;  // bumped by every cancel
    bool shutdown;
    pthread_mutex_t mu;
    pthread_cond_t  work, ready; // workers wait on work; loader_next and cancel wait on ready
};

static void cancel(LoaderState *s); // under mu: drop the current range (the consumer side)

// ---------------------------------------------------------------------------------------------
// workers

static int batch_size_of(const LoaderState *s, int b)
{
    int step = (s->first_step + b) % s->steps_per_epoch;
    return MIN(s->cfg.batch, s->cfg.epoch_len - step * s->cfg.batch);
}

static bool claimable(const LoaderState *s)
{
    return s->claim_b < s->n_steps && s->claim_b < s->released + s->cfg.depth;
}

// under mu: the slot of batch b gets its place in the range and its sample indices
static void slot_setup(LoaderState *s, LoaderSlot *slot, int b)
{
    const Loader *c = &s->cfg;
    int epoch = s->epoch0 + (s->first_step + b) / s->steps_per_epoch;
    int step = (s->first_step + b) % s->steps_per_epoch;
    int n = batch_size_of(s, b), j0 = 0; // a train batch's share: positions j0 .. j0 + n - 1 of it
    if (c->train && c->world > 1) {
        j0 = (int)((long)n * c->rank / c->world);
        n = loader_share(n, c->rank, c->world);
    }
    if (c->train && s->perm_epoch != epoch) {
        sampler_permutation(s->perm, c->ds->n, c->seed, epoch);
        if (c->aug.repeated_aug >= 1) sampler_repeat(s->perm, c->ds->n, c->aug.repeated_aug, 0, 1, s->order, s->copy);
        else memcpy(s->order, s->perm, (size_t)c->ds->n * sizeof(int));
        s->perm_epoch = epoch;
    }
    for (int j = 0; j < n; j++) {
        int pos = step * c->batch + j0 + j;
        slot->index[j] = c->train ? s->order[pos] : s->eval0 + pos;
        slot->draw[j] = (uint64_t)slot->index[j] + (c->train ? (uint64_t)s->copy[pos] * (uint64_t)c->ds->n : 0);
    }
    slot->b.n = n;
    slot->b.n_global = c->train ? batch_size_of(s, b) : n;
    slot->b.epoch = epoch;
    slot->b.step = step;
    slot->id = b;
    slot->chunks_left = (n + s->chunk - 1) / s->chunk;
    slot->err = 0;
    slot->ready = false;
}

// samples j0 .. j1-1 of the slot: pixels of the dataset through augment_train (train) or
// augment_eval into x; 0 or the reader's error
static int fill(const LoaderState *s, LoaderWorker *w, LoaderSlot *slot, int j0, int j1)
{
    const Loader *c = &s->cfg;
    const Dataset *ds = c->ds;
    size_t in_size = (size_t)ds->h * ds->w * ds->c, out = (size_t)c->out_h * c->out_w * c->c;
    for (int j = j0; j < j1; j++) {
        int i = slot->index[j], label = -1;
        float *x = slot->b.x + (size_t)j * out;
        if (ds->encoded) { // decoded here, with the crop the transform takes
            size_t n = 0;
            ImgInfo info;
            const char *name = NULL;
            const uint8_t *enc = ds->encoded(ds, i, &n, &label, &info, &name);
            CHECK(label >= 0 && label < ds->classes, "loader: %s sample %d has label %d, outside 0..%d",
                  ds->name, i, label, ds->classes - 1);
            int rc = c->train ? augment_train_encoded(&c->aug, x, c->out_h, c->out_w, c->c, enc, n, name, &info,
                                                      c->seed, slot->b.epoch, slot->draw[j], w->scratch)
                              : augment_eval_encoded(&c->aug, x, c->out_h, c->out_w, c->c, enc, n, name, &info,
                                                     w->scratch);
            if (rc) return rc;
            slot->b.labels[j] = label;
            continue;
        }
        const uint8_t *px = ds->get(ds, i, w->buf, in_size, &label);
        if (!px) return ERR_IO;
        CHECK(label >= 0 && label < ds->classes, "loader: %s sample %d has label %d, outside 0..%d",
              ds->name, i, label, ds->classes - 1);
        if (c->train)
            augment_train(&c->aug, x, c->out_h, c->out_w, px, ds->h, ds->w, ds->c, c->seed, slot->b.epoch,
                          slot->draw[j], w->scratch);
        else
            augment_eval(&c->aug, x, c->out_h, c->out_w, px, ds->h, ds->w, ds->c, w->scratch);
        slot->b.labels[j] = label;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    LoaderWorker *w = arg;
    LoaderState *s = w->st;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->shutdown && !claimable(s)) pthread_cond_wait(&s->work, &s->mu);
        if (s->shutdown) break;
        int b = s->claim_b, ch = s->claim_chunk;
        LoaderSlot *slot = &s->slots[b % s->cfg.depth];
        if (ch == 0) slot_setup(s, slot, b);
        if (++s->claim_chunk * s->chunk >= slot->b.n) {
            s->claim_b++;
            s->claim_chunk = 0;
        }
        unsigned gen = s->gen;
        s->busy++;
        pthread_mutex_unlock(&s->mu);

        int err = fill(s, w, slot, ch * s->chunk, MIN((ch + 1) * s->chunk, slot->b.n));

        pthread_mutex_lock(&s->mu);
        if (gen == s->gen) {
            if (err && !slot->err) slot->err = err;
            if (--slot->chunks_left == 0 && s->mixing && !slot->err) { // the whole batch is in: mix it
                pthread_mutex_unlock(&s->mu);
                const Batch *bb = &slot->b;
                mixup_batch(&s->cfg.aug.mix, bb->x, bb->targets, bb->labels, slot->draw, bb->n, s->cfg.out_h,
                            s->cfg.out_w, s->cfg.c, s->cfg.seed, bb->epoch, bb->step, w->dec, w->mix);
                pthread_mutex_lock(&s->mu);
                if (gen == s->gen) slot->ready = true;
            } else if (slot->chunks_left == 0) {
                slot->ready = true;
            }
        }
        s->busy--;
        pthread_cond_broadcast(&s->ready); // a batch is ready, or a cancel waits for busy == 0
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

// ---------------------------------------------------------------------------------------------
// the consumer side

// resolves a copy of a into *aug and checks that ds and batch can take it; 0, or ERR_FORMAT /
// ERR_ARG with one line
static int resolve_aug(AugArgs *aug, const AugArgs *a, const Dataset *ds, int batch, bool train)
{
    *aug = *a;
    if (augment_resolve(aug)) return ERR_FORMAT;
    if (augment_pixel_path(aug) && train && ds->c != 1 && ds->c != 3) {
        log_error("loader: %s has %d channels; the uint8 augmentations (rrc, randaug, color_jitter, grayscale_p, "
                  "blur_p) take 1 or 3", ds->name, ds->c);
        return ERR_ARG;
    }
    if (train && mixup_on(&aug->mix) && (aug->mix.classes < ds->classes || batch % 2)) {
        log_error("loader: Mixup/CutMix needs an even batch (got %d) and targets of at least %s's %d classes "
                  "(got %d)", batch, ds->name, ds->classes, aug->mix.classes);
        return ERR_ARG;
    }
    return 0;
}

// (re)allocates the batch buffers of the slots and the workers' mixing buffers for s->cfg's
// output size and mixing (the workers are idle or not started)
static void buffers_alloc(LoaderState *s)
{
    const Loader *l = &s->cfg;
    size_t out = (size_t)l->out_h * l->out_w * l->c;
    for (int k = 0; k < l->depth; k++) {
        LoaderSlot *sl = &s->slots[k];
        free(sl->b.x);
        free(sl->b.targets);
        sl->b.x = xmalloc((size_t)l->batch * out * sizeof(float));
        sl->b.targets = s->mixing ? xmalloc((size_t)l->batch * l->aug.mix.classes * sizeof(float)) : NULL;
        sl->b.classes = s->mixing ? l->aug.mix.classes : 0;
    }
    for (int k = 0; k < l->n_workers; k++) {
        LoaderWorker *w = &s->workers[k];
        free(w->dec);
        free(w->mix);
        w->dec = s->mixing ? xmalloc((size_t)l->batch * sizeof(MixDecision)) : NULL;
        w->mix = s->mixing ? xmalloc(2 * out * sizeof(float)) : NULL;
    }
}

int loader_open(Loader *l, const Dataset *ds, const AugArgs *a, uint64_t seed, int batch, bool train,
                int out_h, int out_w, int n_workers, int depth)
{
    CHECK(ds && (ds->get || ds->encoded) && a && batch > 0 && n_workers >= 1 && depth >= 1 && out_h >= 0 && out_w >= 0,
          "loader_open: batch %d, %d workers, depth %d, out %dx%d", batch, n_workers, depth, out_h, out_w);
    memset(l, 0, sizeof *l);
    if (ds->n <= 0 || ds->c <= 0 || (!ds->encoded && (ds->h <= 0 || ds->w <= 0))) {
        log_error("loader: %s has %d images of size (%d,%d,%d); the loader needs a fixed size (or encoded images) "
                  "and at least one image", ds->name, ds->n, ds->h, ds->w, ds->c);
        return ERR_ARG;
    }
    if (ds->encoded && (out_h <= 0 || out_w <= 0)) {
        log_error("loader: %s's images vary in size; give the output size (model.res)", ds->name);
        return ERR_ARG;
    }
    if (ds->c > LEN(a->mean)) {
        log_error("loader: %s has %d channels; augment.h normalizes at most %d", ds->name, ds->c,
                  LEN(a->mean));
        return ERR_ARG;
    }
    AugArgs aug;
    int rc = resolve_aug(&aug, a, ds, batch, train);
    if (rc) return rc;
    int epoch_len = train && aug.repeated_aug >= 1 ? sampler_repeat_len(ds->n, aug.repeated_aug, 1) : ds->n;
    *l = (Loader){ds, aug, seed, batch, out_h ? out_h : ds->h, out_w ? out_w : ds->w, ds->c, epoch_len, train,
                  n_workers, depth, 0, 1, NULL};
    LoaderState *s = xcalloc(1, sizeof *s);
    s->cfg = *l;
    s->chunk = (batch + n_workers - 1) / n_workers;
    s->perm = train ? xmalloc((size_t)ds->n * sizeof(int)) : NULL;
    s->order = train ? xmalloc((size_t)MAX(ds->n, epoch_len) * sizeof(int)) : NULL;
    s->copy = train ? xcalloc((size_t)MAX(ds->n, epoch_len), sizeof(int)) : NULL;
    s->perm_epoch = -1;
    s->mixing = train && mixup_on(&aug.mix);
    s->slots = xcalloc((size_t)depth, sizeof *s->slots);
    for (int k = 0; k < depth; k++) {
        s->slots[k].b.labels = xmalloc((size_t)batch * sizeof(int));
        s->slots[k].index = xmalloc((size_t)batch * sizeof(int));
        s->slots[k].draw = xmalloc((size_t)batch * sizeof(uint64_t));
        s->slots[k].id = -1;
    }
    s->workers = xcalloc((size_t)n_workers, sizeof *s->workers);
    buffers_alloc(s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->ready, NULL);
    l->st = s;
    for (int k = 0; k < n_workers; k++) {
        LoaderWorker *w = &s->workers[k];
        w->st = s;
        w->buf = xmalloc(MAX((size_t)ds->h * ds->w * ds->c, 1));
        w->scratch = augment_scratch_new();
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e) {
            log_error("loader: starting worker %d of %d failed (%s)", k + 1, n_workers, strerror(e));
            for (int j = k; j < n_workers; j++) { // loader_close frees the started workers' buffers
                free(s->workers[j].buf);
                augment_scratch_free(s->workers[j].scratch);
                free(s->workers[j].dec);
                free(s->workers[j].mix);
            }
            loader_close(l);
            return ERR_NOMEM;
        }
        s->started++;
    }
    return 0;
}

int loader_share(int n, int rank, int world)
{
    return (int)((long)n * (rank + 1) / world - (long)n * rank / world);
}

void loader_slice(Loader *l, int rank, int world)
{
    LoaderState *s = l->st;
    CHECK(world >= 1 && rank >= 0 && rank < world, "loader_slice: rank %d of %d", rank, world);
    pthread_mutex_lock(&s->mu);
    cancel(s);
    l->rank = rank;
    l->world = world;
    if (!l->train) { // this rank's share of the split
        s->eval0 = (int)((long)l->ds->n * rank / world);
        l->epoch_len = loader_share(l->ds->n, rank, world);
    }
    s->cfg.rank = rank;
    s->cfg.world = world;
    s->cfg.epoch_len = l->epoch_len;
    pthread_mutex_unlock(&s->mu);
}

int loader_steps_per_epoch(const Loader *l, bool drop_last)
{
    return drop_last ? l->epoch_len / l->batch : (l->epoch_len + l->batch - 1) / l->batch;
}

// under mu: drop the current range; returns once no worker is filling a chunk of it
static void cancel(LoaderState *s)
{
    s->gen++;
    s->n_steps = 0; // nothing is claimable
    while (s->busy > 0) pthread_cond_wait(&s->ready, &s->mu);
    for (int k = 0; k < s->cfg.depth; k++) {
        s->slots[k].id = -1;
        s->slots[k].ready = false;
    }
    s->claim_b = s->claim_chunk = s->released = s->next_out = 0;
    s->handed_out = false;
}

void loader_start(Loader *l, int epoch, int first_step, int n_steps, bool drop_last)
{
    LoaderState *s = l->st;
    int spe = loader_steps_per_epoch(l, drop_last);
    CHECK(spe > 0, "loader_start: %s has %d samples an epoch, no whole batch of %d (drop_last)", l->ds->name,
          l->epoch_len, l->batch);
    CHECK(epoch >= 0 && first_step >= 0 && first_step < spe, "loader_start: epoch %d step %d of %d",
          epoch, first_step, spe);
    pthread_mutex_lock(&s->mu);
    cancel(s);
    s->epoch0 = epoch;
    s->first_step = first_step;
    s->steps_per_epoch = spe;
    s->n_steps = n_steps > 0 ? n_steps : spe - first_step;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
}

int loader_set_aug(Loader *l, const AugArgs *a, int out_h, int out_w)
{
    LoaderState *s = l->st;
    CHECK(out_h >= 0 && out_w >= 0, "loader_set_aug: out %dx%d", out_h, out_w);
    AugArgs aug;
    int rc = resolve_aug(&aug, a, l->ds, l->batch, l->train);
    if (rc) return rc;
    if (aug.repeated_aug != l->aug.repeated_aug) { // the epoch's order and length are the loader's
        log_error("loader: data.repeated_aug cannot change while the loader is open (%g -> %g)",
                  l->aug.repeated_aug, aug.repeated_aug);
        return ERR_ARG;
    }
    pthread_mutex_lock(&s->mu);
    cancel(s); // the workers are idle now: nothing is claimable until the next loader_start
    l->aug = aug;
    l->out_h = out_h ? out_h : l->ds->h;
    l->out_w = out_w ? out_w : l->ds->w;
    s->cfg.aug = l->aug;
    s->cfg.out_h = l->out_h;
    s->cfg.out_w = l->out_w;
    s->mixing = l->train && mixup_on(&aug.mix);
    buffers_alloc(s);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int loader_next(Loader *l, const Batch **batch)
{
    LoaderState *s = l->st;
    pthread_mutex_lock(&s->mu);
    if (s->handed_out) { // the consumer is done with the batch it holds: its slot may be refilled
        s->released++;
        s->handed_out = false;
        pthread_cond_broadcast(&s->work);
    }
    *batch = NULL;
    int err = 0;
    if (s->next_out < s->n_steps) {
        LoaderSlot *slot = &s->slots[s->next_out % s->cfg.depth];
        while (!(slot->id == s->next_out && slot->ready)) pthread_cond_wait(&s->ready, &s->mu);
        s->next_out++;
        s->handed_out = true;
        err = slot->err;
        if (!err) *batch = &slot->b;
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

void loader_close(Loader *l)
{
    LoaderState *s = l->st;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    cancel(s);
    s->shutdown = true;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    for (int k = 0; k < s->started; k++) {
        pthread_join(s->workers[k].thread, NULL);
        free(s->workers[k].buf);
        augment_scratch_free(s->workers[k].scratch);
        free(s->workers[k].dec);
        free(s->workers[k].mix);
    }
    for (int k = 0; k < s->cfg.depth; k++) {
        free(s->slots[k].b.x);
        free(s->slots[k].b.labels);
        free(s->slots[k].b.targets);
        free(s->slots[k].index);
        free(s->slots[k].draw);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->ready);
    free(s->slots);
    free(s->workers);
    free(s->perm);
    free(s->order);
    free(s->copy);
    free(s);
    memset(l, 0, sizeof *l);
}
