/* studies/demo_engine.c — the engine end to end, before the first study exists.
 *
 * Trains a small CNN on Fashion-MNIST with nothing but the op table, the parameter table and the
 * activation arena: conv3x3(1->16)-BN-ReLU, conv3x3 s2 (16->32)-BN-ReLU, conv3x3 s2 (32->64)-BN-
 * ReLU, global average pool, linear 64->10, softmax cross-entropy; SGD with momentum 0.9,
 * weight decay 5e-4 on conv and linear weights, linear warm-up then cosine learning rate. Then
 * it evaluates on the 10,000 test images with the running BN statistics.
 * Napkin math: ~0.33 M multiply-accumulates per image forward (the 16->32 and 32->64 convs
 * dominate), x3 for a training step: one epoch of 60k images is ~60 GMAC, seconds on 2 cores.
 * Usage: demo [--backend cpu|ref] [--epochs E] [--steps N] [--batch N] [--lr LR] [--seed S]
 * (--steps stops early, for a quick look: the schedule still spans the epochs)
 */
#include <math.h>   // cosf, sqrtf, logf
#include <stdio.h>  // printf
#include <string.h> // strcmp
#include <time.h>   // clock_gettime
#include <unistd.h> // isatty

#include "core/arena.h"
#include "core/params.h"
#include "core/rng.h"
#include "data/idx.h"

enum { LAYERS = 3, CLASSES = 10 };
static const int widths[LAYERS] = {16, 32, 64}, strides[LAYERS] = {1, 2, 2};

typedef struct {
    Conv2d conv;
    BatchNorm bn;
    int w, gamma, beta, rmean, rvar;       // parameter indices
    ArenaSlot c, b, r, mean, rstd;         // conv out, bn out, relu out, saved stats
    ArenaSlot dc, db, dr;                  // their gradients
} Layer;

typedef struct {
    int n;                                 // batch
    Layer l[LAYERS];
    int fc_w, fc_b;
    ArenaSlot x, pooled, logits, loss, prob, labels, dloss, dlogits, dpooled;
} Net;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// building: declare parameters, then plan the activations for a batch size

static void net_declare(Net *net, Params *p)
{
    char nm[64];
    int cin = 1;
    for (int i = 0; i < LAYERS; i++) {
        int c = widths[i];
        snprintf(nm, sizeof nm, "l%d.conv.w", i);
        net->l[i].w = params_add(p, nm, 4, (const int[]){c, 3, 3, cin}, true);
        snprintf(nm, sizeof nm, "l%d.bn.weight", i);
        net->l[i].gamma = params_add(p, nm, 1, &c, false);
        snprintf(nm, sizeof nm, "l%d.bn.bias", i);
        net->l[i].beta = params_add(p, nm, 1, &c, false);
        snprintf(nm, sizeof nm, "l%d.bn.running_mean", i);
        net->l[i].rmean = params_add_buffer(p, nm, 1, &c);
        snprintf(nm, sizeof nm, "l%d.bn.running_var", i);
        net->l[i].rvar = params_add_buffer(p, nm, 1, &c);
        cin = c;
    }
    net->fc_w = params_add(p, "fc.weight", 2, (const int[]){CLASSES, cin}, true);
    net->fc_b = params_add(p, "fc.bias", 1, (const int[]){CLASSES}, false);
}

static void net_plan(Net *net, Arena *a, int n, bool train)
{
    arena_begin(a);
    net->n = n;
    Shape4 s = {n, 28, 28, 1};
    net->x = arena_reserve(a, shape_numel(s));
    for (int i = 0; i < LAYERS; i++) {
        Layer *l = &net->l[i];
        l->conv = conv2d_sq(s, widths[i], 3, strides[i], 1, 1, 1, false);
        s = conv2d_out(l->conv);
        l->bn = (BatchNorm){s, 1e-5f, 0.1f, train, ACT_NONE};
        l->c = arena_reserve(a, shape_numel(s));
        l->b = arena_reserve(a, shape_numel(s));
        l->r = arena_reserve(a, shape_numel(s));
        l->mean = arena_reserve(a, (size_t)s.c);
        l->rstd = arena_reserve(a, (size_t)s.c);
    }
    net->pooled = arena_reserve(a, (size_t)n * s.c);
    net->logits = arena_reserve(a, (size_t)n * CLASSES);
    net->loss = arena_reserve(a, (size_t)n);
    net->prob = arena_reserve(a, (size_t)n * CLASSES);
    net->labels = arena_reserve(a, (size_t)n);
    net->dloss = arena_reserve(a, (size_t)n);
    for (int i = 0; i < LAYERS; i++) {
        size_t m = net->l[i].c.numel;
        net->l[i].dc = arena_reserve(a, m);
        net->l[i].db = arena_reserve(a, m);
        net->l[i].dr = arena_reserve(a, m);
    }
    net->dpooled = arena_reserve(a, (size_t)n * s.c);
    net->dlogits = arena_reserve(a, (size_t)n * CLASSES);
    arena_commit(a);
}

// ---------------------------------------------------------------------------------------------
// forward, backward, update

#define A(slot) arena_at(a, net->slot)
#define P(i) params_at(p, ROLE_W, i)
#define G(i) params_at(p, ROLE_GRAD, i)

static void net_forward(Dev *d, Net *net, Arena *a, Params *p)
{
    const float *in = A(x);
    for (int i = 0; i < LAYERS; i++) {
        Layer *l = &net->l[i];
        conv2d_forward(d, l->conv, arena_at(a, l->c), in, P(l->w), NULL);
        batchnorm_forward(d, l->bn, arena_at(a, l->b), arena_at(a, l->mean), arena_at(a, l->rstd),
                          P(l->rmean), P(l->rvar), arena_at(a, l->c), P(l->gamma), P(l->beta));
        act_forward(d, (Act){l->c.numel, ACT_RELU}, arena_at(a, l->r), arena_at(a, l->b));
        in = arena_at(a, l->r);
    }
    Shape4 last = conv2d_out(net->l[LAYERS - 1].conv);
    gap_forward(d, (GlobalAvgPool){last}, A(pooled), in);
    linear_forward(d, (Linear){net->n, last.c, CLASSES, true}, A(logits), A(pooled), P(net->fc_w),
                   P(net->fc_b));
    xent_forward(d, (Xent){net->n, CLASSES, 0}, A(loss), A(prob), A(logits),
                 (const int *)A(labels), NULL);
}

// a chain: every activation gradient has one writer, which writes it (SET_0) — no zero fill
static void net_backward(Dev *d, Net *net, Arena *a, Params *p)
{
    Shape4 last = conv2d_out(net->l[LAYERS - 1].conv);
    xent_backward(d, (Xent){net->n, CLASSES, 0}, A(dlogits), A(dloss), A(prob),
                  (const int *)A(labels), NULL, SET_0);
    linear_backward(d, (Linear){net->n, last.c, CLASSES, true}, A(dpooled), G(net->fc_w),
                    G(net->fc_b), A(dlogits), A(pooled), P(net->fc_w), SET_0);
    gap_backward(d, (GlobalAvgPool){last}, arena_at(a, net->l[LAYERS - 1].dr), A(dpooled), SET_0);
    for (int i = LAYERS - 1; i >= 0; i--) {
        Layer *l = &net->l[i];
        act_backward(d, (Act){l->c.numel, ACT_RELU}, arena_at(a, l->db), arena_at(a, l->dr),
                     arena_at(a, l->b), SET_0);
        batchnorm_backward(d, l->bn, arena_at(a, l->dc), G(l->gamma), G(l->beta),
                           arena_at(a, l->db), arena_at(a, l->c), P(l->gamma), P(l->beta),
                           arena_at(a, l->mean), arena_at(a, l->rstd), SET_0);
        const float *in = i ? arena_at(a, net->l[i - 1].r) : A(x);
        conv2d_backward(d, l->conv, i ? arena_at(a, net->l[i - 1].dr) : NULL, G(l->w), NULL,
                        arena_at(a, l->dc), in, P(l->w), SET_0);
    }
}

// SGD with momentum and weight decay on the weights that take it: one loop over the table
static void sgd_step(Params *p, float lr, float momentum, float wd)
{
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        if (pi->buffer) continue;
        float *w = params_at(p, ROLE_W, i), *g = params_at(p, ROLE_GRAD, i);
        float *v = params_at(p, ROLE_SLOT0, i);
        float decay = pi->decay ? wd : 0.0f;
        for (size_t j = 0; j < pi->numel; j++) {
            v[j] = momentum * v[j] + g[j] + decay * w[j];
            w[j] -= lr * v[j];
        }
    }
}

// He-normal conv and linear weights (Box-Muller on Philox draws), BN gamma 1, running var 1
static void net_init(Net *net, Params *p, uint64_t seed)
{
    uint64_t key = rng_key(seed, 0x1417);
    for (int i = 0; i < p->count; i++) {
        const ParamInfo *pi = &p->info[i];
        float *w = params_at(p, ROLE_W, i);
        bool weight = pi->decay, ones = strstr(pi->name, "bn.weight") || strstr(pi->name, "running_var");
        size_t fan_in = pi->ndim > 1 ? pi->numel / (size_t)pi->dims[0] : 1;
        for (size_t j = 0; j < pi->numel; j++) {
            float u1 = rng_uniform(key, (uint64_t)i, 2 * j), u2 = rng_uniform(key, (uint64_t)i, 2 * j + 1);
            float z = sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.2831853f * u2);
            w[j] = weight ? z * sqrtf(2.0f / (float)fan_in) : (ones ? 1.0f : 0.0f);
        }
    }
    (void)net;
}

// normalized images [first, first+n) of the order `perm` into x, labels into y
static void load_batch(const IdxSet *s, const int *perm, int first, int n, float *x, int *y)
{
    const float mean = 0.2860f, std = 0.3530f; // Fashion-MNIST train statistics
    for (int i = 0; i < n; i++) {
        int k = perm ? perm[first + i] : first + i;
        for (int j = 0; j < 28 * 28; j++)
            x[(size_t)i * 784 + j] = (s->images[(size_t)k * 784 + j] / 255.0f - mean) / std;
        y[i] = s->labels[k];
    }
}

// ---------------------------------------------------------------------------------------------

int main(int argc, char **argv)
{
    const char *backend = "cpu";
    int epochs = 3, batch = 128, max_steps = 0;
    float lr_peak = 0.1f;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) backend = argv[++i];
        else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) max_steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--lr") == 0 && i + 1 < argc) lr_peak = (float)atof(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else {
            bool help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
            fprintf(help ? stdout : stderr,
                    "%s%s\nusage: %s [--backend cpu|ref] [--epochs E] [--steps N] [--batch N] [--lr LR] [--seed S]\n"
                    "  trains a 3-layer CNN on Fashion-MNIST with the engine's ops and reports test "
                    "accuracy\n  (data: $FMNIST_DIR or /usr/share/datasets/fashion-mnist)\n",
                    help ? "" : "unknown or incomplete argument: ", help ? "" : argv[i], argv[0]);
            return help ? 0 : 2;
        }
    }
    if (epochs < 1 || batch < 2) { log_error("need --epochs >= 1 and --batch >= 2"); return 2; }
    if (strcmp(backend, "cuda") == 0) {
        log_error("demo: the demo's optimizer and data loading run on host memory; use cpu or ref "
                  "(the cuda backend is exercised by make test on a GPU machine)");
        return 2;
    }
    Dev d;
    TRY(dev_open(&d, backend));
    IdxSet train, test;
    TRY(fmnist_load(&train, NULL, true));
    TRY(fmnist_load(&test, NULL, false));
    printf("demo: Fashion-MNIST %d train / %d test images, backend %s, batch %d, %d epoch(s)\n",
           train.n, test.n, d.name, batch, epochs);

    Net net = {0};
    Params p = {0};
    Arena a;
    net_declare(&net, &p);
    TRY(params_alloc(&p, &d, 1, false));
    net_init(&net, &p, seed);
    arena_init(&a, &d);
    net_plan(&net, &a, batch, true);
    printf("demo: %zu parameters in %d tensors; activation arena %.1f MB\n", params_count(&p, true),
           p.count, a.capacity * 4.0 / 1e6);

    int steps_per_epoch = train.n / batch, steps = epochs * steps_per_epoch, warmup = steps / 20;
    int run_steps = max_steps > 0 && max_steps < steps ? max_steps : steps;
    int *perm = xmalloc(train.n * sizeof(int));
    bool tty = isatty(1);
    double t0 = now(), loss_avg = 0;
    for (int step = 0; step < run_steps; step++) {
        int epoch = step / steps_per_epoch, first = (step % steps_per_epoch) * batch;
        if (first == 0) { // Fisher-Yates from the counter RNG: the order is a function of (seed, epoch)
            uint64_t key = rng_key(seed, 0x5A3F);
            for (int i = 0; i < train.n; i++) perm[i] = i;
            for (int i = train.n - 1; i > 0; i--) {
                int j = (int)(rng_uniform(key, (uint64_t)epoch, (uint64_t)i) * (i + 1));
                int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
            }
        }
        load_batch(&train, perm, first, batch, arena_at(&a, net.x), (int *)arena_at(&a, net.labels));
        float *dl = arena_at(&a, net.dloss);
        for (int i = 0; i < batch; i++) dl[i] = 1.0f / batch; // mean loss
        float lr = step < warmup ? lr_peak * (step + 1) / warmup
                                 : 0.5f * lr_peak * (1 + cosf(3.14159265f * (step - warmup) / (steps - warmup)));
        params_zero(&p, ROLE_GRAD);
        net_forward(&d, &net, &a, &p);
        net_backward(&d, &net, &a, &p);
        sgd_step(&p, lr, 0.9f, 5e-4f);
        double loss = 0;
        for (int i = 0; i < batch; i++) loss += arena_at(&a, net.loss)[i];
        loss /= batch;
        CHECK(isfinite(loss), "demo: loss is %g at step %d: diverged (try a smaller --lr)", loss, step);
        loss_avg = step ? 0.95 * loss_avg + 0.05 * loss : loss;
        double el = now() - t0;
        if (tty || step % 50 == 0 || step == run_steps - 1)
            printf("%sstep %5d/%d  epoch %d  lr %.4f  loss %.4f  %6.0f img/s  ETA %4.0fs%s", tty ? "\r" : "",
                   step + 1, steps, epoch + 1, lr, loss_avg, (step + 1) * batch / el,
                   el / (step + 1) * (run_steps - step - 1), tty ? "" : "\n");
        fflush(stdout);
    }
    double train_s = now() - t0;
    if (tty) printf("\n");

    // evaluation: running statistics, batches of 500
    int eb = 500, correct = 0;
    net_plan(&net, &a, eb, false);
    for (int first = 0; first + eb <= test.n; first += eb) {
        load_batch(&test, NULL, first, eb, arena_at(&a, net.x), (int *)arena_at(&a, net.labels));
        net_forward(&d, &net, &a, &p);
        const float *z = arena_at(&a, net.logits);
        const int *y = (const int *)arena_at(&a, net.labels);
        for (int i = 0; i < eb; i++) {
            int best = 0;
            for (int k = 1; k < CLASSES; k++) if (z[i * CLASSES + k] > z[i * CLASSES + best]) best = k;
            correct += best == y[i];
        }
    }
    printf("demo: trained %d steps in %.1f s (%.0f img/s); test top-1 %.2f%% (%d/%d)\n", run_steps,
           train_s, run_steps * (double)batch / train_s, 100.0 * correct / (test.n / eb * eb), correct,
           test.n / eb * eb);
    free(perm);
    arena_free(&a);
    params_free(&p);
    idx_free(&train);
    idx_free(&test);
    dev_close(&d);
    return 0;
}
