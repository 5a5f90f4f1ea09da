/* tests/test_ghost.c — GhostNetV3 (engine/nn/ghost.h, engine/models/ghostnet.h) against timm.
 *
 * Counts: parameters exactly timm's, MACs (conv + linear at 224) within 1%, both forms. Logits:
 * the three named models in the training form (eval mode) and re-parameterized (ghost_fold)
 * against timm's, which tests/ref/gen_ghost_fixtures.py computes in float64 on the same weights
 * (drawn from Philox by name on both sides, so the fixture holds logits only) and the same input;
 * a wrong parameter name draws other weights and fails here. Folding: the folded model equals the
 * training form on random BN statistics and on fresh ones. Training: one step of ghostnetv3_100
 * against timm's batch-statistics logits and gradient signatures, the blocks' gradients on cpu
 * against the ref backend, and a few SGD steps on cpu that lower the loss.
 */
#include <criterion/criterion.h>
#include <math.h>   // isfinite, fabs, fmax
#include <signal.h> // SIGABRT
#include <stdlib.h> // qsort
#include <string.h> // memcpy, strcmp, strstr

#include "core/rng.h"
#include "fixtures.h"
#include "models/ghostnet.h"
#include "models/models.h"
#include "train/optim.h"

static const char *FIXTURES = "tests/ref/ghost.fix";
enum { RES = 56, BATCH = 2 };                           // as the generator's RES, BATCH
enum { X_KEY = 0x5EED0A03, R_KEY = 0x5EED0A04 };        // and X_KEY, R_KEY
static const float VAR_SCALE = 4; // and VAR_SCALE: running variances scaled, so that eval-mode
                                  // activations stay O(1) (the generator says why)

static const char *MODELS[] = {"ghostnetv3_100", "ghostnetv3_130", "ghostnetv3_160"};

// ---------------------------------------------------------------------------------------------
// counts and names

// timm 1.0.31 at 224: parameters and MACs, training form and folded (the generator asserts them)
static const struct {
    const char *name;
    size_t      params, params_folded;
    uint64_t    macs, macs_folded;
} COUNTS[] = {
    {"ghostnetv3_100", 8129028, 6147588, 404128320, 167048288},
    {"ghostnetv3_130", 12217720, 8948296, 654842824, 269322976},
    {"ghostnetv3_160", 17275700, 12377778, 971574612, 398607224},
};

static void expect_counts(const char *name, bool reparam, size_t params, uint64_t macs)
{
    ModelKnobs k = model_knobs_default();
    k.reparam = reparam;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    int out = model_build(&g, name, &k, 1, 224);
    Shape4 s = graph_shape(&g, out);
    cr_expect(s.h == 1 && s.w == 1 && s.c == 1000, "%s: logits (%d,%d,%d,%d)", name, s.n, s.h, s.w,
              s.c);
    size_t got = params_count(&p, true);
    double rel = ((double)graph_macs(&g) - (double)macs) / (double)macs;
    cr_expect_eq(got, params, "%s%s: %zu parameters, timm has %zu", name, reparam ? " folded" : "",
                 got, params);
    cr_expect(fabs(rel) < 0.01, "%s%s: %llu MACs, timm %llu (%.2f%%)", name,
              reparam ? " folded" : "", (unsigned long long)graph_macs(&g),
              (unsigned long long)macs, 100 * rel);
    graph_free(&g);
    params_free(&p);
}

Test(ghostnet, counts_match_timm)
{
    for (int i = 0; i < LEN(COUNTS); i++) {
        expect_counts(COUNTS[i].name, false, COUNTS[i].params, COUNTS[i].macs);
        expect_counts(COUNTS[i].name, true, COUNTS[i].params_folded, COUNTS[i].macs_folded);
    }
}

// a parameter of the table, with its dims (ours: conv (OC,KH,KW,C/G)), or its absence (dims NULL)
static void expect_entry(const Params *p, const char *name, const int *dims)
{
    int i = params_find(p, name);
    if (!dims) {
        cr_expect(i < 0, "%s should not exist", name);
        return;
    }
    cr_assert(i >= 0, "no parameter named %s", name);
    for (int k = 0; k < p->info[i].ndim; k++)
        cr_expect_eq(p->info[i].dims[k], dims[k], "%s: dim %d is %d, want %d", name, k,
                     p->info[i].dims[k], dims[k]);
}

Test(ghostnet, timm_parameter_names)
{
    ModelKnobs k = model_knobs_default();
    for (int folded = 0; folded < 2; folded++) {
        k.reparam = folded;
        Params p = {0};
        Graph g;
        graph_init(&g, &p);
        model_build(&g, "ghostnetv3_100", &k, 1, 224);
#define TRAINING_FORM(...) (folded ? NULL : (const int[]){__VA_ARGS__})
#define FOLDED_FORM(...) (folded ? (const int[]){__VA_ARGS__} : NULL)
        // both forms
        expect_entry(&p, "conv_stem.weight", (const int[]){16, 3, 3, 3});
        expect_entry(&p, "blocks.3.0.ghost1.short_conv.2.weight", (const int[]){72, 1, 5, 1});
        expect_entry(&p, "blocks.3.0.ghost1.short_conv.4.weight", (const int[]){72, 5, 1, 1});
        expect_entry(&p, "blocks.3.0.ghost1.short_conv.5.running_var", (const int[]){72});
        expect_entry(&p, "blocks.3.0.se.conv_reduce.bias", (const int[]){20});
        expect_entry(&p, "blocks.3.0.shortcut.0.weight", (const int[]){24, 5, 5, 1});
        expect_entry(&p, "blocks.9.0.bn1.weight", (const int[]){960});
        expect_entry(&p, "conv_head.bias", (const int[]){1280});
        expect_entry(&p, "classifier.weight", (const int[]){1000, 1280});
        expect_entry(&p, "blocks.0.0.ghost1.short_conv.0.weight", NULL); // DFC from the third block
        // the training form's branches ...
        expect_entry(&p, "blocks.1.0.ghost1.primary_rpr_conv.2.conv.weight",
                     TRAINING_FORM(24, 1, 1, 16));
        expect_entry(&p, "blocks.1.0.ghost1.cheap_rpr_skip.running_mean", TRAINING_FORM(24));
        expect_entry(&p, "blocks.1.0.ghost1.cheap_rpr_scale.conv.weight", TRAINING_FORM(24, 1, 1, 1));
        expect_entry(&p, "blocks.1.0.dw_rpr_conv.0.bn1.bias", TRAINING_FORM(48));
        expect_entry(&p, "blocks.3.0.dw_rpr_scale.conv.weight", TRAINING_FORM(72, 1, 1, 1));
        expect_entry(&p, "blocks.1.0.ghost1.primary_rpr_skip.weight", NULL); // timm: None
        // ... and the folded convs
        expect_entry(&p, "blocks.1.0.ghost1.primary_conv.0.bias", FOLDED_FORM(24));
        expect_entry(&p, "blocks.1.0.ghost2.cheap_operation.0.weight", FOLDED_FORM(12, 3, 3, 1));
        expect_entry(&p, "blocks.3.0.conv_dw.weight", FOLDED_FORM(72, 5, 5, 1));
        expect_entry(&p, "blocks.2.0.conv_dw.weight", NULL); // stride 1: no depthwise conv
#undef TRAINING_FORM
#undef FOLDED_FORM
        graph_free(&g);
        params_free(&p);
    }
}

Test(ghostnet, registry_refuses_what_timm_lacks)
{
    ModelKnobs k = model_knobs_default();
    cr_expect(model_known("ghostnetv3_130") && strstr(model_names(), "ghostnetv3_160"));
    cr_expect_eq(model_default_res("ghostnetv3_100"), 224);
    k.drop_path = 0.1f;
    cr_expect_eq(model_check("ghostnetv3_100", &k), ERR_ARG, "GhostNet has no drop-path");
    k = model_knobs_default();
    k.reparam = true;
    cr_expect_eq(model_check("ghostnetv3_100", &k), 0);
    cr_expect_eq(model_check("resnet50", &k), ERR_ARG, "a ResNet has nothing to fold");
    cr_expect(model_has_reparam("ghostnetv3_160") && !model_has_reparam("resnet50") &&
              !model_has_reparam("efficientnetv2_s"));
    // the last stage is ceil(res / 32): 2x2 from 33 on (too_small_an_input_stops: the abort below)
    cr_expect_eq(model_check_res("ghostnetv3_100", 33), 0);
    cr_expect_eq(model_check_res("ghostnetv3_100", 32), ERR_ARG);
    cr_expect_eq(model_check_res("resnet20", 28), 0);
}

Test(ghostnet, width_knob_multiplies_the_named_width)
{
    ModelKnobs k = model_knobs_default();
    k.width = 1.3f;
    Params a = {0}, b = {0};
    Graph ga, gb;
    graph_init(&ga, &a);
    graph_init(&gb, &b);
    model_build(&ga, "ghostnetv3_100", &k, 1, 64);
    ModelKnobs named = model_knobs_default();
    model_build(&gb, "ghostnetv3_130", &named, 1, 64);
    cr_expect_eq(params_count(&a, true), params_count(&b, true), "1.0 x 1.3 is ghostnetv3_130");
    graph_free(&ga);
    graph_free(&gb);
    params_free(&a);
    params_free(&b);
}

Test(ghostnet, too_small_an_input_stops, .signal = SIGABRT)
{
    ModelKnobs k = model_knobs_default();
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, "ghostnetv3_100", &k, 1, 32); // last stage 1x1: DFC's 2x2 pool has no output
}

// ---------------------------------------------------------------------------------------------
// a model on a device, its weights drawn as the generator draws them

typedef struct { Dev own, *d; Params p; Graph g; Arena a; int out; } Net; // d: own, or another's

static void net_plan(Net *n, GraphMode mode)
{
    arena_init(&n->a, n->d);
    arena_begin(&n->a);
    graph_plan(&n->g, &n->a, mode);
    arena_commit(&n->a);
    n->out = n->g.node[n->g.n_node - 1].out;
}

// the generator's weights: generated(), running variances times VAR_SCALE
static void net_draw(Net *n)
{
    for (int i = 0; i < n->p.count; i++) {
        const ParamInfo *pi = &n->p.info[i];
        float *w = params_at(&n->p, ROLE_W, i);
        fixture_param(pi, w);
        size_t len = strlen(pi->name);
        if (len > 12 && strcmp(pi->name + len - 12, ".running_var") == 0)
            for (size_t j = 0; j < pi->numel; j++) w[j] *= VAR_SCALE;
    }
}

// builds `name` with knobs k, batch x res, on `backend`; fuse as the trainer does; draws its
// weights (net_draw) when `draw`, else leaves them to the caller; n_slots optimizer slots
static void net_open(Net *n, const char *backend, const char *name, ModelKnobs k, int batch, int res,
                     GraphMode mode, bool fuse, bool draw, int n_slots)
{
    memset(n, 0, sizeof *n);
    cr_assert_eq(dev_open(&n->own, backend), 0);
    n->d = &n->own;
    graph_init(&n->g, &n->p);
    model_build(&n->g, name, &k, batch, res);
    if (fuse) graph_fuse(&n->g);
    cr_assert_eq(params_alloc(&n->p, n->d, n_slots, false), 0);
    if (draw) net_draw(n);
    net_plan(n, mode);
}

// the folded form of `trained` (built with knobs k; eval plan, on trained's device):
// model_reparameterize
static void net_fold_knobs(Net *f, Net *trained, const char *name, ModelKnobs k, int batch, int res)
{
    memset(f, 0, sizeof *f);
    f->d = trained->d;
    graph_init(&f->g, &f->p);
    model_reparameterize(&f->g, &f->p, name, &k, &trained->p, batch, res);
    net_plan(f, GRAPH_EVAL);
}

static void net_fold(Net *f, Net *trained, const char *name, int batch, int res)
{
    net_fold_knobs(f, trained, name, model_knobs_default(), batch, res);
}

static void net_close(Net *n)
{
    arena_free(&n->a);
    graph_free(&n->g);
    params_free(&n->p);
    if (n->d == &n->own) dev_close(&n->own);
}

// the generator's input: x[j] = 2 rng_uniform(X_KEY, 0, j) - 1 over the NHWC batch
static void net_input(Net *n)
{
    float *x = graph_val(&n->g, &n->a, 0);
    size_t nx = shape_numel(graph_shape(&n->g, 0));
    for (size_t j = 0; j < nx; j++) x[j] = (float)(2 * rng_uniform(X_KEY, 0, j) - 1);
}

static const float *net_eval(Net *n)
{
    net_input(n);
    graph_forward(&n->g, n->d, &n->a, false, 1, 0);
    return graph_val(&n->g, &n->a, n->out);
}

static const FixTensor *fixture(const Fixtures *fx, const char *model, const char *what)
{
    const FixTensor *t = fixture_find(fx, model, what);
    cr_assert(t, "%s lacks %s/%s: run make fixtures", FIXTURES, model, what);
    return t;
}

// ---------------------------------------------------------------------------------------------
// logits against timm, and the folded model against the training form

static void check_logits(const char *name, const char *backend)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, FIXTURES), 0);
    Net a, f;
    net_open(&a, backend, name, model_knobs_default(), BATCH, RES, GRAPH_EVAL, false, true, 0);
    net_fold(&f, &a, name, BATCH, RES);
    const FixTensor *ent = fixture(&fx, name, "entries");
    cr_expect(a.p.count == (int)ent->data[0] && f.p.count == (int)ent->data[1],
              "%s: %d and %d entries (training form, folded), timm's state dicts %g and %g", name,
              a.p.count, f.p.count, ent->data[0], ent->data[1]);
    size_t nl = (size_t)BATCH * 1000;
    const float *za = net_eval(&a), *zf = net_eval(&f);
    const FixTensor *ta = fixture(&fx, name, "logits_eval"), *tf = fixture(&fx, name, "logits_folded");
    cr_assert(ta->n == nl && tf->n == nl);
    double ea = max_rel_err(za, ta->data, nl), ef = max_rel_err(zf, tf->data, nl);
    double eq = max_rel_err(zf, za, nl);
    cr_expect(ea < 1e-4, "%s on %s: eval logits differ from timm's by %.2e", name, backend, ea);
    cr_expect(ef < 1e-4, "%s on %s: folded logits differ from timm's by %.2e", name, backend, ef);
    cr_expect(eq < 1e-5, "%s on %s: folded logits differ from the training form's by %.2e", name,
              backend, eq);
    cr_log_info("%s on %s: vs timm %.2e (folded %.2e); folded vs training form %.2e", name, backend,
                ea, ef, eq);
    net_close(&f);
    net_close(&a);
    fixtures_free(&fx);
}

// the model's wiring on the oracle (plain loops: quick at this size), and the fast path once
Test(timm_ghost, logits_100_ref) { check_logits("ghostnetv3_100", "ref"); }
Test(timm_ghost, logits_130_ref) { check_logits("ghostnetv3_130", "ref"); }
Test(timm_ghost, logits_160_ref) { check_logits("ghostnetv3_160", "ref"); }
Test(timm_ghost, logits_100_cpu) { check_logits("ghostnetv3_100", "cpu"); }

// a fresh model (graph_init_params: PyTorch's default init, batch norms gamma 1, beta 0, mean 0,
// var 1) folds to the same logits too (random statistics: check_logits)
Test(fold, fresh_model)
{
    for (int m = 0; m < LEN(MODELS); m++) {
        Net a, f;
        net_open(&a, "ref", MODELS[m], model_knobs_default(), BATCH, RES, GRAPH_EVAL, false, false, 0);
        graph_init_params(&a.g, 7);
        net_fold(&f, &a, MODELS[m], BATCH, RES);
        size_t nl = (size_t)BATCH * 1000;
        float *za = xmalloc(nl * sizeof(float));
        memcpy(za, net_eval(&a), nl * sizeof(float));
        double e = max_rel_err(net_eval(&f), za, nl);
        cr_expect(e < 1e-5, "%s: folded logits differ from the training form's by %.2e", MODELS[m], e);
        cr_log_info("%s, fresh: folded vs training form %.2e", MODELS[m], e);
        free(za);
        net_close(&f);
        net_close(&a);
    }
}

// the branch-count knob (model.branches, the paper's ablation): parameters linear in the count
// (each re-parameterizable conv gains a conv-BN branch), the folded form the same whatever the
// count, and a model of 1 and of 5 branches with drawn weights and statistics folds to its logits
Test(fold, branch_count_knob)
{
    size_t count[6] = {0}, folded[6] = {0};
    for (int b = 1; b <= 5; b += 2) {
        ModelKnobs k = model_knobs_default();
        k.branches = b;
        cr_assert_eq(model_check("ghostnetv3_100", &k), 0);
        for (int f = 0; f < 2; f++) {
            k.reparam = f;
            Params p = {0};
            Graph g;
            graph_init(&g, &p);
            model_build(&g, "ghostnetv3_100", &k, 1, 64);
            (f ? folded : count)[b] = params_count(&p, true);
            graph_free(&g);
            params_free(&p);
        }
    }
    cr_expect_eq(count[3], 8129028, "3 branches is timm's model: %zu parameters", count[3]);
    cr_expect(count[1] < count[3] && count[5] - count[3] == count[3] - count[1], "parameters by branch count: "
              "%zu, %zu, %zu", count[1], count[3], count[5]);
    cr_expect(folded[1] == 6147588 && folded[3] == folded[1] && folded[5] == folded[1], "folded: %zu, %zu, %zu",
              folded[1], folded[3], folded[5]);
    for (int b = 1; b <= 5; b += 4) {
        ModelKnobs k = model_knobs_default();
        k.branches = b;
        Net a, f;
        net_open(&a, "ref", "ghostnetv3_100", k, BATCH, RES, GRAPH_EVAL, false, true, 0);
        net_fold_knobs(&f, &a, "ghostnetv3_100", k, BATCH, RES);
        size_t nl = (size_t)BATCH * 1000;
        float *za = xmalloc(nl * sizeof(float));
        memcpy(za, net_eval(&a), nl * sizeof(float));
        double e = max_rel_err(net_eval(&f), za, nl);
        cr_expect(e < 1e-5, "%d branches: folded logits differ from the training form's by %.2e", b, e);
        cr_log_info("%d branches: folded vs training form %.2e", b, e);
        free(za);
        net_close(&f);
        net_close(&a);
    }
    ModelKnobs r = model_knobs_default();
    r.branches = 2;
    cr_expect_eq(model_check("resnet50", &r), ERR_ARG, "a ResNet has no branches to count");
}

// another model's table: conv_stem.weight has 648 values trained, 432 folded
Test(fold, wrong_table_stops, .signal = SIGABRT)
{
    Net a, f;
    net_open(&a, "cpu", "ghostnetv3_130", model_knobs_default(), 1, 64, GRAPH_EVAL, false, false, 0);
    net_fold(&f, &a, "ghostnetv3_100", 1, 64);
}

// ---------------------------------------------------------------------------------------------
// training

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// one training step of ghostnetv3_100 (fused, as the trainer runs it) against timm's batch-
// statistics logits and the gradient signatures of the stem, blocks.3.0 and the classifier
Test(timm_ghost, train_step_100_cpu)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, FIXTURES), 0);
    const char *name = "ghostnetv3_100";
    Net a;
    net_open(&a, "cpu", name, model_knobs_default(), BATCH, RES, GRAPH_TRAIN, true, true, 0);
    net_input(&a);
    graph_forward(&a.g, a.d, &a.a, true, 1, 0);
    size_t nl = (size_t)BATCH * 1000;
    double e = max_rel_err(graph_val(&a.g, &a.a, a.out), fixture(&fx, name, "logits_train")->data, nl);
    cr_expect(e < 1e-4, "%s: train logits differ from timm's by %.2e", name, e);
    graph_zero_grads(&a.g, a.d, &a.a);
    params_zero(&a.p, ROLE_GRAD);
    float *r = graph_grad(&a.g, &a.a, a.out);
    for (size_t j = 0; j < nl; j++) r[j] = (float)(2 * rng_uniform(R_KEY, 0, j) - 1);
    graph_backward(&a.g, a.d, &a.a, true, 1, 0);
    // as in check_blocks_against_ref: a gradient that batch norm's invariances make zero is
    // rounding noise on both sides, so each is measured against the larger of its own norm and
    // 1% of the median norm of the compared gradients
    const FixTensor **sigs = xcalloc((size_t)a.p.count, sizeof *sigs);
    double *norms = xcalloc((size_t)a.p.count, sizeof *norms), worst = 0;
    int n = 0;
    for (int i = 0; i < a.p.count; i++) {
        char key[96];
        snprintf(key, sizeof key, "gsig/%s", a.p.info[i].name);
        sigs[i] = fixture_find(&fx, name, key);
        if (sigs[i]) norms[n++] = sigs[i]->data[0];
    }
    qsort(norms, (size_t)n, sizeof *norms, cmp_double);
    double noise_floor = n ? 1e-2 * norms[n / 2] : 0;
    for (int i = 0; i < a.p.count; i++) {
        if (!sigs[i]) continue;
        float sig[5];
        fixture_signature(params_at(&a.p, ROLE_GRAD, i), a.p.info[i].numel, sig);
        double diff = 0, m = noise_floor;
        for (int k = 0; k < 5; k++) {
            diff = fmax(diff, fabs((double)sig[k] - sigs[i]->data[k]));
            m = fmax(m, fabs(sigs[i]->data[k]));
        }
        cr_expect(diff <= 1e-3 * m, "%s: gradient of %s differs from timm's by %.2e (of %.2e)", name,
                  a.p.info[i].name, diff, m);
        worst = fmax(worst, diff / m);
    }
    free(sigs);
    free(norms);
    cr_expect(n > 60, "%s: only %d gradient signatures compared", name, n);
    cr_log_info("%s: train logits vs timm %.2e, %d gradients within %.2e", name, e, n, worst);
    net_close(&a);
    fixtures_free(&fx);
}

// the blocks alone, both forms, forward and backward on cpu against ref: a stride-2 bottleneck
// with DFC, SE and a projection shortcut on 9x9, and a stride-1 one with DFC on 7x7 (pooled to
// 3x3, upsampled back), an identity shortcut and 2 conv branches (model.branches) instead of 3

static const GhostBlock BLOCKS[] = {{12, 16, 3, 2, 0.25f, true, 3}, {20, 16, 5, 1, 0, true, 2}};
static const Shape4 BLOCK_IN[] = {{2, 9, 9, 8}, {3, 7, 7, 16}};

// host copies: the output, the whole gradient and weight tables, the table's entries
typedef struct { float *y, *grad, *w; size_t ny, total; ParamInfo *info; int count; } BlockRun;

// one training step of block b on `backend` (running statistics updated)
static BlockRun run_block(const char *backend, int b, bool folded)
{
    Net n;
    memset(&n, 0, sizeof n);
    cr_assert_eq(dev_open(&n.own, backend), 0);
    n.d = &n.own;
    graph_init(&n.g, &n.p);
    ghost_bottleneck(&n.g, "b", g_input(&n.g, BLOCK_IN[b]), BLOCKS[b], folded);
    cr_assert_eq(params_alloc(&n.p, n.d, 0, false), 0);
    net_draw(&n);
    net_plan(&n, GRAPH_TRAIN);
    net_input(&n);
    graph_forward(&n.g, n.d, &n.a, true, 1, 0);
    BlockRun r = {.ny = shape_numel(graph_shape(&n.g, n.out)), .total = n.p.total, .count = n.p.count};
    r.y = xmalloc(r.ny * sizeof(float));
    memcpy(r.y, graph_val(&n.g, &n.a, n.out), r.ny * sizeof(float));
    graph_zero_grads(&n.g, n.d, &n.a);
    params_zero(&n.p, ROLE_GRAD);
    float *dy = graph_grad(&n.g, &n.a, n.out);
    for (size_t j = 0; j < r.ny; j++) dy[j] = (float)(2 * rng_uniform(R_KEY, 1, j) - 1);
    graph_backward(&n.g, n.d, &n.a, true, 1, 0);
    r.grad = xmalloc(n.p.total * sizeof(float));
    r.w = xmalloc(n.p.total * sizeof(float));
    memcpy(r.grad, n.p.buf[ROLE_GRAD], n.p.total * sizeof(float));
    memcpy(r.w, n.p.buf[ROLE_W], n.p.total * sizeof(float));
    r.info = xmalloc((size_t)n.p.count * sizeof *r.info);
    memcpy(r.info, n.p.info, (size_t)n.p.count * sizeof *r.info);
    net_close(&n);
    return r;
}

// A gradient that batch norm's invariances make zero (a BN's beta ahead of a conv and a training
// BN; a depthwise 1x1 "scale" conv straight into a training BN) is rounding noise on both sides:
// each entry is measured against the larger of its own and 1% of the block's largest gradient
static void check_blocks_against_ref(bool folded)
{
    for (int b = 0; b < LEN(BLOCKS); b++) {
        BlockRun r = run_block("ref", b, folded), c = run_block("cpu", b, folded);
        double e = max_rel_err(c.y, r.y, r.ny), gmax = 0, worst = 0;
        cr_expect(e < 1e-5, "block %d%s: cpu output differs from ref's by %.2e", b,
                  folded ? " folded" : "", e);
        for (size_t j = 0; j < r.total; j++) gmax = fmax(gmax, fabs(r.grad[j]));
        for (int i = 0; i < r.count; i++) {
            const ParamInfo *pi = &r.info[i];
            const float *want = (pi->buffer ? r.w : r.grad) + pi->offset;
            const float *got = (pi->buffer ? c.w : c.grad) + pi->offset;
            double diff = 0, m = pi->buffer ? 0 : 1e-2 * gmax;
            for (size_t j = 0; j < pi->numel; j++) {
                diff = fmax(diff, fabs((double)got[j] - want[j]));
                m = fmax(m, fabs(want[j]));
            }
            cr_expect(diff <= 1e-4 * m, "block %d%s: %s of %s differs from ref's by %.2e (of %.2e)",
                      b, folded ? " folded" : "", pi->buffer ? "value" : "gradient", pi->name, diff, m);
            worst = fmax(worst, diff / m);
        }
        cr_log_info("block %d%s: output %.2e, %d entries within %.2e", b, folded ? " folded" : "", e,
                    r.count, worst);
        for (BlockRun *run = &r; run; run = run == &r ? &c : NULL) {
            free(run->y);
            free(run->grad);
            free(run->w);
            free(run->info);
        }
    }
}

Test(blocks, gradients_cpu_match_ref) { check_blocks_against_ref(false); }
Test(blocks, folded_gradients_cpu_match_ref) { check_blocks_against_ref(true); }

// SGD with momentum on one fixed batch of ghostnetv3_100 (10 classes, 40 px, batch 4, fused):
// finite losses that fall
Test(train, sgd_steps_lower_the_loss_cpu)
{
    enum { B = 4, K = 10, STEPS = 6 };
    ModelKnobs k = model_knobs_default();
    k.num_classes = K;
    Net n;
    net_open(&n, "cpu", "ghostnetv3_100", k, B, 40, GRAPH_TRAIN, true, false, 1);
    graph_init_params(&n.g, 3);
    int labels[B] = {1, 7, 3, 3};
    float loss[B], prob[B * K], dloss[B];
    double first = 0, last = 0;
    Xent xo = {B, K, 0};
    for (int s = 0; s < STEPS; s++) {
        net_input(&n);
        graph_forward(&n.g, n.d, &n.a, true, 1, 0);
        xent_forward(n.d, xo, loss, prob, graph_val(&n.g, &n.a, n.out), labels, NULL);
        double mean = 0;
        for (int i = 0; i < B; i++) mean += loss[i] / B;
        cr_assert(isfinite(mean), "step %d: loss %g", s, mean);
        if (s == 0) first = mean;
        last = mean;
        for (int i = 0; i < B; i++) dloss[i] = 1.0f / B;
        params_zero(&n.p, ROLE_GRAD);
        xent_backward(n.d, xo, graph_grad(&n.g, &n.a, n.out), dloss, prob, labels, NULL, SET_0);
        graph_backward(&n.g, n.d, &n.a, true, 1, 0);
        sgd_step(&n.p, (Sgd){0.05f, 0.9f, 0, false, false});
    }
    cr_expect(last < 0.7 * first, "loss %g after %d steps, %g at the first", last, STEPS, first);
    cr_log_info("ghostnetv3_100 on cpu, 40 px: loss %.4f -> %.4f in %d SGD steps", first, last, STEPS);
    net_close(&n);
}

// ---------------------------------------------------------------------------------------------
// re-parameterized training: the multi-branch form trained by the trainer (train_run), then folded

#include <unistd.h> // getpid, unlink, access

#include "run/recipe.h"
#include "io/weights.h"
#ifdef HAVE_HDF5
#include "io/runfile.h"
#endif

enum { TR_RES = 36, TR_B = 4 }; // the smallest resolution GhostNet takes (33) rounded up

static bool have_fmnist(void)
{
    return access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0;
}

// a tiny GhostNetV3 run on Fashion-MNIST: width 0.5, 36 px, one channel, 10 classes; 6 SGD steps of
// 16 with no warm-up (the weights move from the first step), BN momentum 0.5 (the running
// statistics move far from a fresh model's), an EMA; a checkpoint at `ckpt`
static TrainConfig tiny_ghost_run(const char *ckpt)
{
    TrainConfig c;
    char *sets[] = {"model.name=ghostnetv3_100", "model.width=0.5", "model.res=36", "model.bn_momentum=0.5",
                    "data.train_limit=96", "data.eval_limit=200", "train.batch=16", "train.eval_batch=64",
                    "train.epochs=1", "schedule.warmup_epochs=0", "train.ema_decay=0.5"};
    cr_assert_eq(recipe_load(&c, "recipes/fmnist_resnet20.recipe", LEN(sets), sets), 0);
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", ckpt);
    snprintf(c.run_id, sizeof c.run_id, "ghost");
    return c;
}

#ifdef HAVE_HDF5
// the hook writes the run file as `repro train` does
static int write_run(const TrainResult *r, void *user)
{
    RunMeta m = {.study = "t", .run_id = "ghost", .status = r->status, .model = "ghostnetv3_100"};
    return runfile_write(user, &m, r->epochs, r->n_epochs, &r->final);
}

// column `name` of the run file's epoch `row`, read back by name (NAN when absent)
static double table_column(const RunRecord *r, const char *name, int row)
{
    int j = run_col(r, name);
    return j >= 0 && row < r->n_rows ? r->rows[(size_t)row * r->n_cols + j] : NAN;
}
#endif

// the folded form scores as the branches do: a float-rounding tie may flip one prediction
static void expect_same_top1(const char *what, double top1, double folded, int images)
{
    cr_expect(isfinite(folded) && fabs(top1 - folded) * images / 100 <= 1.001,
              "%s: top-1 %.2f%% with the branches, %.2f%% folded", what, top1, folded);
}

// the acceptance of issue 5's re-parameterized training: trained a few steps in the multi-branch
// form, the checkpoint's weights folded give the branches' eval logits within 1e-5 (max |a - b| /
// max |a|), and the run recorded both forms' accuracies, which agree
Test(reparam, trained_then_folded_gives_the_same_logits_cpu, .timeout = 600)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char ckpt[96], run[96];
    snprintf(ckpt, sizeof ckpt, "/tmp/repro_ghost_reparam_%d.safetensors", (int)getpid());
    snprintf(run, sizeof run, "/tmp/repro_ghost_reparam_%d.h5", (int)getpid());
    TrainConfig c = tiny_ghost_run(ckpt);
    TrainResult r;
#ifdef HAVE_HDF5
    cr_assert_eq(train_run(&c, &r, write_run, run), 0);
#else
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
#endif
    cr_assert_eq(r.n_epochs, 1);
    const EpochLog *e = &r.epochs[0];
    expect_same_top1("weights", e->eval_top1, e->eval_top1_reparam, 200);
    expect_same_top1("EMA weights", e->ema_top1, e->ema_top1_reparam, 200);
    cr_log_info("ghostnetv3_100 x0.5, 6 steps: top-1 %.2f%% (folded %.2f%%), EMA %.2f%% (folded %.2f%%)",
                e->eval_top1, e->eval_top1_reparam, e->ema_top1, e->ema_top1_reparam);
#ifdef HAVE_HDF5
    RunRecord rf;
    cr_assert_eq(runfile_read(run, &rf), 0, "no run file %s", run);
    cr_expect_eq(table_column(&rf, "eval_top1", 0), e->eval_top1);
    cr_expect_eq(table_column(&rf, "eval_top1_reparam", 0), e->eval_top1_reparam);
    cr_expect_eq(table_column(&rf, "ema_top1_reparam", 0), e->ema_top1_reparam);
    cr_expect_eq(run_final(&rf, "top1_reparam"), e->eval_top1_reparam);
    cr_expect_eq(run_final(&rf, "ema_top1_reparam"), e->ema_top1_reparam);
    runfile_record_free(&rf);
    unlink(run);
#endif
    train_result_free(&r);
    // the checkpoint's weights, in both forms, on the test's input
    ModelKnobs k = c.net;
    Net a, fo;
    net_open(&a, "cpu", c.model, k, TR_B, TR_RES, GRAPH_EVAL, true, false, 0);
    cr_assert_eq(weights_load(&a.p, ckpt, false, c.model, NULL), 0);
    net_fold_knobs(&fo, &a, c.model, k, TR_B, TR_RES);
    size_t nl = (size_t)TR_B * 10;
    float za[TR_B * 10];
    memcpy(za, net_eval(&a), sizeof za);
    double err = max_rel_err(net_eval(&fo), za, nl);
    cr_expect(err < 1e-5, "trained, then folded: logits differ by %.2e (max |a - b| / max |a|)", err);
    cr_log_info("trained 6 steps, folded: logits differ by %.2e", err);
    // and the training moved what the fold folds: BN statistics away from a fresh model's
    int iv = params_find(&a.p, "blocks.1.0.ghost1.primary_rpr_conv.0.bn1.running_var");
    cr_assert(iv >= 0);
    const float *var = params_at(&a.p, ROLE_W, iv);
    double dev = 0;
    for (size_t j = 0; j < a.p.info[iv].numel; j++) dev = fmax(dev, fabs(var[j] - 1));
    cr_expect(dev > 0.1, "running variances within %.3f of 1: the run did not train the branches", dev);
    net_close(&fo);
    net_close(&a);
    unlink(ckpt);
}

// ---------------------------------------------------------------------------------------------

// one test at a time unless -j says otherwise: the cpu backend's OpenMP threads take every core,
// and two tests' threads spinning against each other made the file 7x slower on 2 cores
int main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    criterion_options.jobs = 1;
    int rc = 0;
    if (criterion_handle_args(argc, argv, true)) rc = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return rc;
}
