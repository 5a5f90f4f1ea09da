/* engine/train/train.c — the train/eval loop of train.h. */
#include "train.h"

#include <math.h>   // isfinite
#include <stdio.h>  // printf
#include <string.h> // memset
#include <time.h>   // clock_gettime
#include <unistd.h> // isatty

#include "../data/idx.h"
#include "checkpoint.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// a model built for one batch size over the shared table, with its arena and loss buffers
typedef struct {
    Graph g;
    Arena a;
    int batch, out, classes;
    ArenaSlot loss, prob, labels, dloss;
} Net;

static void net_build(Net *n, const TrainConfig *c, Params *p, Dev *d, int batch)
{
    memset(n, 0, sizeof *n);
    graph_init(&n->g, p);
    n->batch = batch;
    n->classes = c->net.num_classes;
    n->out = resnet_build(&n->g, c->net, batch, c->res);
    arena_init(&n->a, d);
}

static void net_plan(Net *n, GraphMode mode)
{
    arena_begin(&n->a);
    graph_plan(&n->g, &n->a, mode);
    n->loss = arena_reserve(&n->a, (size_t)n->batch);
    n->prob = arena_reserve(&n->a, (size_t)n->batch * n->classes);
    n->labels = arena_reserve(&n->a, (size_t)n->batch);
    n->dloss = arena_reserve(&n->a, (size_t)n->batch);
    arena_commit(&n->a);
}

static void net_free(Net *n)
{
    arena_free(&n->a);
    graph_free(&n->g);
}

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

// fills the batch of samples order[first .. first+n) (eval: order NULL = identity)
static void load_batch(const TrainConfig *c, const IdxSet *s, const int *order, int first, int n,
                       int epoch, bool train, float *x, int *labels)
{
    int hw = s->h * s->w;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        int k = order ? order[first + i] : first + i;
        if (train) augment_sample(&c->aug, x + (size_t)i * hw, s->images + (size_t)k * hw, s->h, s->w, 1,
                                  c->seed, epoch, (uint64_t)k);
        else normalize_sample(&c->aug, x + (size_t)i * hw, s->images + (size_t)k * hw, s->h, s->w, 1);
        labels[i] = s->labels[k];
    }
}

static void evaluate(const TrainConfig *c, Net *e, Dev *d, const IdxSet *test, EpochLog *log)
{
    int hits1 = 0, hits5 = 0, seen = 0;
    double loss = 0;
    Xent xo = {e->batch, e->classes, 0.0f};
    for (int first = 0; first + e->batch <= test->n; first += e->batch) {
        int *labels = (int *)arena_at(&e->a, e->labels);
        load_batch(c, test, NULL, first, e->batch, 0, false, graph_val(&e->g, &e->a, 0), labels);
        graph_forward(&e->g, d, &e->a, false, c->seed, 0);
        const float *z = graph_val(&e->g, &e->a, e->out);
        xent_forward(d, xo, arena_at(&e->a, e->loss), arena_at(&e->a, e->prob), z, labels, NULL);
        for (int i = 0; i < e->batch; i++) loss += arena_at(&e->a, e->loss)[i];
        count_hits(z, labels, e->batch, e->classes, &hits1, &hits5);
        seen += e->batch;
    }
    log->eval_loss = loss / seen;
    log->eval_top1 = 100.0 * hits1 / seen;
    log->eval_top5 = 100.0 * hits5 / seen;
}

int train_run(const TrainConfig *c, TrainResult *r, TrainHook hook, void *user)
{
    memset(r, 0, sizeof *r);
    if (strcmp(c->dataset, "fmnist") != 0) {
        log_error("train: dataset '%s' is not supported yet (valid: fmnist)", c->dataset);
        return ERR_ARG;
    }
    IdxSet train, test;
    int rc = fmnist_load(&train, c->data_dir[0] ? c->data_dir : NULL, true);
    if (rc) return rc;
    if ((rc = fmnist_load(&test, c->data_dir[0] ? c->data_dir : NULL, false))) { idx_free(&train); return rc; }
    if (c->res != train.h || c->net.in_chans != 1) {
        log_error("train: the model takes %dx%dx%d, Fashion-MNIST is %dx%dx1 (resizing arrives with "
                  "the resolution studies)", c->res, c->res, c->net.in_chans, train.h, train.w);
        idx_free(&train);
        idx_free(&test);
        return ERR_ARG;
    }
    if (c->train_limit > 0 && c->train_limit < train.n) train.n = c->train_limit;
    if (c->eval_limit > 0 && c->eval_limit < test.n) test.n = c->eval_limit;
    if (train.n < c->batch || test.n < c->eval_batch) {
        log_error("train: %d training and %d test samples for batches of %d and %d", train.n, test.n,
                  c->batch, c->eval_batch);
        idx_free(&train);
        idx_free(&test);
        return ERR_ARG;
    }
    Dev d;
    if ((rc = dev_open(&d, c->backend))) { idx_free(&train); idx_free(&test); return rc; }
    Params p = {0};
    Net tr, ev;
    net_build(&tr, c, &p, &d, c->batch);
    TRY(params_alloc(&p, &d, c->sgd.momentum != 0 ? 1 : 0, false));
    net_build(&ev, c, &p, &d, c->eval_batch);
    net_plan(&tr, GRAPH_TRAIN);
    net_plan(&ev, GRAPH_EVAL);
    graph_init_params(&tr.g, c->seed);

    int steps_per_epoch = train.n / c->batch; // the last partial batch is dropped
    int *order = xmalloc((size_t)train.n * sizeof(int));
    r->epochs = xcalloc((size_t)c->epochs, sizeof *r->epochs);
    r->status = "running";
    r->params = params_count(&p, true);
    r->macs = graph_macs(&tr.g);
    int start_epoch = 0;
    long step = 0;
    if (c->resume && c->checkpoint[0] && access(c->checkpoint, F_OK) == 0) {
        if ((rc = ckpt_load(c->checkpoint, &p, r, &start_epoch, &step, c->seed, c->run_id))) {
            train_result_free(r);
            goto out;
        }
        printf("train: resumed from %s after epoch %d (step %ld)\n", c->checkpoint, start_epoch, step);
    }
    bool tty = isatty(1);
    double t_run = now();
    long total = (long)c->epochs * steps_per_epoch;
    printf("train: %s (%zu params) on %s, %d epochs x %d steps of %d, backend %s, seed %llu\n", c->model,
           params_count(&p, true), c->dataset, c->epochs, steps_per_epoch, c->batch, d.name,
           (unsigned long long)c->seed);
    Xent xo = {tr.batch, tr.classes, c->label_smoothing};
    int hook_rc = 0;
    for (int epoch = start_epoch; epoch < c->epochs && !strcmp(r->status, "running") && !hook_rc; epoch++) {
        sampler_permutation(order, train.n, c->seed, epoch);
        double t0 = now(), loss_sum = 0;
        int hits1 = 0, hits5 = 0, seen = 0;
        float lr = 0;
        for (int s = 0; s < steps_per_epoch; s++, step++) {
            if (c->max_steps && step >= c->max_steps) break;
            int *labels = (int *)arena_at(&tr.a, tr.labels);
            load_batch(c, &train, order, s * c->batch, c->batch, epoch, true, graph_val(&tr.g, &tr.a, 0), labels);
            uint64_t sample0 = (uint64_t)step * c->batch;
            graph_forward(&tr.g, &d, &tr.a, true, c->seed, sample0);
            const float *z = graph_val(&tr.g, &tr.a, tr.out);
            float *dl = arena_at(&tr.a, tr.dloss);
            for (int i = 0; i < c->batch; i++) dl[i] = 1.0f / c->batch; // the mean loss
            xent_forward(&d, xo, arena_at(&tr.a, tr.loss), arena_at(&tr.a, tr.prob), z, labels, NULL);
            graph_zero_grads(&tr.g, &d, &tr.a);
            params_zero(&p, ROLE_GRAD);
            xent_backward(&d, xo, graph_grad(&tr.g, &tr.a, tr.out), dl, arena_at(&tr.a, tr.prob), labels, NULL);
            graph_backward(&tr.g, &d, &tr.a, true, c->seed, sample0);
            if (c->clip_grad > 0) grad_clip(&p, c->clip_grad);
            Sgd o = c->sgd;
            o.lr = lr = sched_lr(&c->sched, epoch + (double)s / steps_per_epoch);
            sgd_step(&p, o);
            double bl = 0;
            for (int i = 0; i < c->batch; i++) bl += arena_at(&tr.a, tr.loss)[i];
            bl /= c->batch;
            if (!isfinite(bl)) {
                printf("%strain: loss is %g at epoch %d step %d: diverged\n", tty ? "\n" : "", bl, epoch + 1, s);
                r->status = "diverged";
                break;
            }
            loss_sum += bl * c->batch;
            count_hits(z, labels, c->batch, tr.classes, &hits1, &hits5);
            seen += c->batch;
            double el = now() - t0, eta = (now() - t_run) / (step + 1) * (total - step - 1);
            if (tty || s % 100 == 0 || s == steps_per_epoch - 1)
                printf("%sepoch %d/%d step %d/%d  loss %.4f  lr %.4f  %.0f img/s  ETA %.0fs%s", tty ? "\r" : "",
                       epoch + 1, c->epochs, s + 1, steps_per_epoch, loss_sum / seen, lr, seen / el, eta,
                       tty ? "   " : "\n");
            fflush(stdout);
        }
        if (!seen) break;
        EpochLog *log = &r->epochs[r->n_epochs++];
        log->epoch = epoch + 1;
        log->lr = lr;
        log->train_loss = loss_sum / seen;
        log->train_top1 = 100.0 * hits1 / seen;
        log->img_per_s = seen / (now() - t0);
        evaluate(c, &ev, &d, &test, log);
        log->seconds = now() - t0;
        if (log->eval_top1 > r->best_top1) { r->best_top1 = log->eval_top1; r->best_epoch = epoch + 1; }
        printf("%sepoch %d/%d  train loss %.4f top-1 %.2f%%  eval loss %.4f top-1 %.2f%% top-5 %.2f%%  "
               "%.0f img/s  %.1fs\n", tty ? "\r" : "", epoch + 1, c->epochs, log->train_loss, log->train_top1,
               log->eval_loss, log->eval_top1, log->eval_top5, log->img_per_s, log->seconds);
        r->wall_s = now() - t_run;
        if (c->checkpoint[0] && !strcmp(r->status, "running"))
            hook_rc = ckpt_save(c->checkpoint, &p, r, epoch + 1, step, c->seed, c->run_id);
        if (hook && !hook_rc) hook_rc = hook(r, user);
        if (c->max_steps && step >= c->max_steps) break;
    }
    r->wall_s = now() - t_run;
    if (!strcmp(r->status, "running")) r->status = "done";
    if (hook && !hook_rc) hook_rc = hook(r, user);
    rc = hook_rc < 0 ? hook_rc : 0;
out:
    free(order);
    net_free(&tr);
    net_free(&ev);
    params_free(&p);
    dev_close(&d);
    idx_free(&train);
    idx_free(&test);
    return rc;
}

void train_result_free(TrainResult *r)
{
    free(r->epochs);
    memset(r, 0, sizeof *r);
}
