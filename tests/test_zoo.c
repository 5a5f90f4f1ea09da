/* tests/test_zoo.c — the MobileNet / EfficientNet zoo (engine/models/efficientnet.h) against timm.
 *
 *  - counts: every registered model's parameters equal timm's (sum of numel over parameters,
 *    buffers excluded) and its MACs (conv + linear multiply-accumulates, graph_macs) are within
 *    1% of the issue's table (which is timm's: tests/ref/gen_zoo_fixtures.py's models, counted)
 *  - names, knobs and init: timm's state-dict names, the registry's errors, width/depth
 *    behaviour, the initialization (timm's _init_weight_goog)
 *  - logits: every named model on Philox weights and input at a small resolution against timm's
 *    eval logits (tests/ref/zoo.fix), on cpu; small variants that turn the knobs (width, depth,
 *    SE ratio, Fused-MBConv boundary) in train mode too: logits, every gradient (as signatures)
 *    and the running statistics, on ref as built and on cpu fused as the trainer runs them
 *  - drop-path: the per-block rates equal timm's
 *  - training: one SGD step of every named model on the cpu backend at 32x32 from the builder's
 *    own initialization: the loss is finite before and after and every parameter moves
 *  - blocks: each block kind alone, ref against cpu (fused): forward, every parameter gradient,
 *    the block's input gradient (through a 1x1 conv before it) and the running statistics
 */
#include <criterion/criterion.h>
#include <math.h>   // isfinite, fmax
#include <omp.h>    // omp_set_num_threads
#include <string.h> // strcmp, strcspn, strstr, memcpy

#include "fixtures.h"
#include "models/efficientnet.h"
#include "models/models.h"
#include "train/optim.h"

// Criterion runs as many tests at once as there are cores: each on one thread, or OpenMP's
// spinning barriers on oversubscribed cores make the run several times slower (15 s vs 110 s)
static void one_thread(void) { omp_set_num_threads(1); }
TestSuite(zoo, .init = one_thread);
TestSuite(timm_logits, .init = one_thread);
TestSuite(timm_variants, .init = one_thread);
TestSuite(train_step, .init = one_thread);
TestSuite(blocks, .init = one_thread);

// tests/ref/gen_zoo_fixtures.py's keys for the input and the loss weights
enum { INPUT_KEY = 0x5EED0A03, R_KEY = 0x5EED0A04 };

static const struct { const char *name; int res; size_t params; uint64_t macs; } ZOO[] = {
    {"mobilenetv1_100", 224, 4231976, 568740352ull},
    {"mobilenetv2_100", 224, 3504872, 300774272ull},
    {"mobilenetv2_110d", 224, 4516520, 430516080ull},
    {"mobilenetv3_large_100", 224, 5483032, 216589760ull},
    {"mobilenetv3_small_100", 224, 2542856, 56510400ull},
    {"mobilenetv4_conv_small", 224, 3774024, 186005568ull},
    {"mobilenetv4_conv_medium", 256, 9715512, 1080244224ull},
    {"mobilenetv4_conv_large", 384, 32590864, 6376220672ull},
    {"efficientnet_b0", 224, 5288548, 385814752ull},
    {"efficientnet_b1", 240, 7794184, 686802832ull},
    {"efficientnet_b2", 260, 9109994, 993561872ull},
    {"efficientnet_b3", 300, 12233232, 1827141392ull},
    {"efficientnet_b4", 380, 19341616, 4393771024ull},
    {"efficientnet_b5", 456, 30389784, 10266384752ull},
    {"efficientnet_b6", 528, 43040704, 19067593536ull},
    {"efficientnet_b7", 600, 66347960, 37745884192ull},
    {"efficientnetv2_s", 384, 21458488, 8365617152ull},
    {"efficientnetv2_m", 480, 54139356, 24582460384ull},
    {"efficientnetv2_l", 480, 118515272, 56079699008ull},
};

// ---------------------------------------------------------------------------------------------
// a model or block graph on a backend, with its parameters and activations

typedef struct {
    Dev    d;
    Params p;
    Graph  g;
    Arena  a;
    int    out;
} Net;

static void net_open(Net *n, const char *backend)
{
    memset(n, 0, sizeof *n);
    cr_assert_eq(dev_open(&n->d, backend), 0, "backend %s", backend);
    graph_init(&n->g, &n->p);
}

// after building: fuse (as the trainer) or not, allocate (slots: optimizer slots), plan for
// mode; weights drawn from Philox when philox, else left for graph_init_params
static void net_ready(Net *n, bool fuse, GraphMode mode, int slots, bool philox)
{
    if (fuse) cr_expect(graph_fuse(&n->g) > 0, "nothing to fuse");
    n->out = n->g.node[n->g.n_node - 1].out;
    cr_assert_eq(params_alloc(&n->p, &n->d, slots, false), 0);
    for (int i = 0; philox && i < n->p.count; i++) fixture_param(&n->p.info[i], params_at(&n->p, ROLE_W, i));
    arena_init(&n->a, &n->d);
    arena_begin(&n->a);
    graph_plan(&n->g, &n->a, mode);
    arena_commit(&n->a);
}

static void net_close(Net *n)
{
    arena_free(&n->a);
    graph_free(&n->g);
    params_free(&n->p);
    dev_close(&n->d);
}

static size_t numel(const Net *n, int t) { return shape_numel(graph_shape(&n->g, t)); }

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

// backward of L = sum(r * out) for r drawn from (R_KEY, stream); parameter grads zeroed first
static void backward_r(Net *n, uint64_t stream, uint64_t seed)
{
    graph_zero_grads(&n->g, &n->d, &n->a);
    params_zero(&n->p, ROLE_GRAD);
    fixture_uniform(R_KEY, stream, numel(n, n->out), graph_grad(&n->g, &n->a, n->out));
    graph_backward(&n->g, &n->d, &n->a, true, seed, 0);
}

// the indices of the trainable parameters (buffers: the BN running statistics) in name order
static int sorted_params(const Params *p, bool buffers, int *idx)
{
    int n = 0;
    for (int i = 0; i < p->count; i++) {
        if (p->info[i].buffer != buffers) continue;
        int j = n++;
        for (; j > 0 && strcmp(p->info[idx[j - 1]].name, p->info[i].name) > 0; j--) idx[j] = idx[j - 1];
        idx[j] = i;
    }
    return n;
}

// ---------------------------------------------------------------------------------------------

Test(zoo, parameter_counts_and_macs_match_timm)
{
    for (int i = 0; i < LEN(ZOO); i++) {
        ModelKnobs k = model_knobs_default();
        cr_assert_eq(model_default_res(ZOO[i].name), ZOO[i].res, "%s", ZOO[i].name);
        cr_assert_eq(model_check(ZOO[i].name, &k), 0);
        Params p = {0};
        Graph g;
        graph_init(&g, &p);
        Shape4 s = graph_shape(&g, model_build(&g, ZOO[i].name, &k, 1, ZOO[i].res));
        cr_expect(s.n == 1 && s.h == 1 && s.w == 1 && s.c == 1000, "%s: logits %s", ZOO[i].name,
                  SHAPE_STR(s));
        size_t np = params_count(&p, true);
        uint64_t macs = graph_macs(&g);
        double rel = ((double)macs - (double)ZOO[i].macs) / (double)ZOO[i].macs;
        cr_expect_eq(np, ZOO[i].params, "%s: %zu parameters, timm has %zu", ZOO[i].name, np,
                     ZOO[i].params);
        cr_expect(fabs(rel) < 0.01, "%s at %d: %llu MACs, timm %llu (%.3f%%)", ZOO[i].name,
                  ZOO[i].res, (unsigned long long)macs, (unsigned long long)ZOO[i].macs, 100 * rel);
        cr_log_info("%-24s %3d  params %10zu (timm %10zu)  macs %12llu (timm %12llu, %+.4f%%)",
                    ZOO[i].name, ZOO[i].res, np, ZOO[i].params, (unsigned long long)macs,
                    (unsigned long long)ZOO[i].macs, 100 * rel);
        graph_free(&g);
        params_free(&p);
    }
}

Test(zoo, registry_names_every_model)
{
    for (int i = 0; i < LEN(ZOO); i++) {
        cr_expect(model_known(ZOO[i].name), "%s unknown", ZOO[i].name);
        cr_expect(strstr(model_names(), ZOO[i].name) != NULL, "model_names lacks %s", ZOO[i].name);
    }
    cr_expect(strstr(model_names(), "resnet50,") != NULL, "the ResNets are still listed");
    cr_expect(!model_known("efficientnet_b9") && !model_known("mobilenetv5"));
}

// parameters and buffers under timm's state-dict names, with timm's shapes (ours: OC,KH,KW,C/G)
static void expect_param(const Params *p, const char *name, int d0, int d1)
{
    int i = params_find(p, name);
    cr_expect(i >= 0, "no parameter named %s", name);
    if (i >= 0) cr_expect(p->info[i].dims[0] == d0 && (d1 == 0 || p->info[i].dims[p->info[i].ndim - 1] == d1),
                          "%s: dims %d..%d, want %d..%d", name, p->info[i].dims[0],
                          p->info[i].dims[p->info[i].ndim - 1], d0, d1);
}

Test(zoo, timm_parameter_names)
{
    static const struct { const char *model, *name; int d0, d_last; } names[] = {
        {"efficientnet_b0", "conv_stem.weight", 32, 3},
        {"efficientnet_b0", "bn1.running_mean", 32, 0},
        {"efficientnet_b0", "blocks.0.0.conv_dw.weight", 32, 1},
        {"efficientnet_b0", "blocks.0.0.se.conv_reduce.weight", 8, 32},
        {"efficientnet_b0", "blocks.1.0.conv_pw.weight", 96, 16},
        {"efficientnet_b0", "blocks.1.0.se.conv_expand.bias", 96, 0},
        {"efficientnet_b0", "blocks.6.0.bn3.running_var", 320, 0},
        {"efficientnet_b0", "conv_head.weight", 1280, 320},
        {"efficientnet_b0", "classifier.weight", 1000, 1280},
        {"efficientnetv2_s", "blocks.0.1.conv.weight", 24, 24},
        {"efficientnetv2_s", "blocks.1.0.conv_exp.weight", 96, 24},
        {"efficientnetv2_s", "blocks.2.3.conv_pwl.weight", 64, 256},
        {"mobilenetv3_large_100", "blocks.6.0.conv.weight", 960, 160},
        {"mobilenetv3_large_100", "conv_head.bias", 1280, 0},
        {"mobilenetv4_conv_medium", "blocks.1.0.dw_start.conv.weight", 48, 1},
        {"mobilenetv4_conv_medium", "blocks.1.0.pw_exp.bn.weight", 192, 0},
        {"mobilenetv4_conv_medium", "blocks.1.0.dw_mid.conv.weight", 192, 1},
        {"mobilenetv4_conv_medium", "blocks.1.0.pw_proj.conv.weight", 80, 192},
        {"mobilenetv4_conv_medium", "norm_head.running_var", 1280, 0},
        {"mobilenetv1_100", "blocks.4.1.conv_pw.weight", 1024, 1024},
    };
    for (int i = 0; i < LEN(names); i++) {
        ModelKnobs k = model_knobs_default();
        Params p = {0};
        Graph g;
        graph_init(&g, &p);
        model_build(&g, names[i].model, &k, 1, 64);
        expect_param(&p, names[i].name, names[i].d0, names[i].d_last);
        graph_free(&g);
        params_free(&p);
    }
}

static int check_quiet(const char *name, ModelKnobs k) { return model_check(name, &k); }

Test(zoo, knobs_the_registry_rejects)
{
    ModelKnobs k = model_knobs_default();
    k.se_ratio = 0.25f;
    cr_expect_eq(check_quiet("mobilenetv2_100", k), ERR_ARG, "MobileNetV2 has no SE to change");
    cr_expect_eq(check_quiet("efficientnet_b0", k), 0);
    k = model_knobs_default();
    k.fused_stages = 2;
    cr_expect_eq(check_quiet("mobilenetv4_conv_small", k), ERR_ARG, "no Fused-MBConv boundary");
    cr_expect_eq(check_quiet("resnet50", k), ERR_ARG);
    cr_expect_eq(check_quiet("efficientnet_b4", k), 0);
    k.fused_stages = 8;
    cr_expect_eq(check_quiet("efficientnetv2_s", k), ERR_ARG, "V2-S has 6 stages");
    k = model_knobs_default();
    k.depth = 2;
    cr_expect_eq(check_quiet("mobilenetv3_small_100", k), 0, "the builder scales any family's depth");
    cr_expect_eq(check_quiet("resnet18", k), ERR_ARG);
}

// the knobs act as timm's multipliers: width 1.1 on mobilenetv2_100 keeps the 1280 head (at
// least), depth scales each stage by ceil; efficientnet_b0 with depth 1.1 is efficientnet_b1
Test(zoo, width_and_depth_knobs)
{
    ModelKnobs k = model_knobs_default();
    k.depth = 1.1f;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, "efficientnet_b0", &k, 1, 240);
    cr_expect_eq(params_count(&p, true), 7794184, "b0 at depth 1.1 is b1 (timm: 7,794,184)");
    cr_expect(params_find(&p, "blocks.1.2.conv_pw.weight") >= 0 &&
                  params_find(&p, "blocks.1.3.conv_pw.weight") < 0,
              "stage 1: ceil(2 * 1.1) = 3 blocks");
    graph_free(&g);
    params_free(&p);
    k = model_knobs_default();
    k.width = 0.5f;
    graph_init(&g, &p);
    model_build(&g, "mobilenetv2_100", &k, 1, 224);
    expect_param(&p, "conv_head.weight", 1280, 160);  // max(1280, 640): MobileNetV2's head
    expect_param(&p, "conv_stem.weight", 16, 3);
    graph_free(&g);
    params_free(&p);
}

// the builder's initialization is timm's _init_weight_goog: conv N(0, 2/fan_out) with fan_out =
// OC*KH*KW/G (a depthwise 3x3's std is sqrt(2/9)), conv and linear biases 0, linear U(+-1/sqrt(OUT))
Test(zoo, init_is_timms_goog_init)
{
    static const struct { const char *name; double std, bound; } want[] = {
        {"conv_stem.weight", 0.08333, 0},                  // sqrt(2 / (32*3*3))
        {"blocks.1.0.conv_dw.weight", 0.47140, 0},         // depthwise: sqrt(2 / 9)
        {"blocks.1.0.conv_pw.weight", 0.14434, 0},         // sqrt(2 / 96)
        {"classifier.weight", 0, 0.031623},                // U(+-1/sqrt(1000))
        {"classifier.bias", 0, 0}, {"blocks.1.0.se.conv_reduce.bias", 0, 0},
    };
    ModelKnobs k = model_knobs_default();
    Net n;
    net_open(&n, "cpu");
    model_build(&n.g, "efficientnet_b0", &k, 1, 32);
    net_ready(&n, false, GRAPH_EVAL, 0, false);
    graph_init_params(&n.g, 3);
    for (int i = 0; i < LEN(want); i++) {
        int j = params_find(&n.p, want[i].name);
        cr_assert(j >= 0, "%s", want[i].name);
        const float *w = params_at(&n.p, ROLE_W, j);
        size_t m = n.p.info[j].numel;
        double s2 = 0;
        for (size_t e = 0; e < m; e++) s2 += (double)w[e] * w[e];
        double std = sqrt(s2 / m), amax = max_abs(w, m);
        if (want[i].std > 0)
            cr_expect(fabs(std / want[i].std - 1) < 0.1, "%s: std %.4f, timm's init %.4f", want[i].name,
                      std, want[i].std);
        else if (want[i].bound > 0)
            cr_expect(amax <= want[i].bound && amax > 0.99 * want[i].bound, "%s: max |w| %.5f, bound %.5f",
                      want[i].name, amax, want[i].bound);
        else
            cr_expect(amax == 0, "%s: timm's init zeroes it, max |w| %g", want[i].name, amax);
    }
    net_close(&n);
}

// timm's drop-path rate of every residual block (rate * block index / block count), in order
static void check_drop_path(const char *model)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/zoo.fix"), 0);
    const FixTensor *t = fixture_find(&fx, model, "drop_path");
    cr_assert(t, "zoo.fix lacks %s/drop_path", model);
    ModelKnobs k = model_knobs_default();
    k.drop_path = 0.2f; // gen_zoo_fixtures.py's DROP_PATH
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, model, &k, 1, 64);
    size_t n = 0;
    for (int i = 0; i < g.n_node; i++)
        if (g.node[i].kind == G_DROPPATH) {
            cr_assert(n < t->n, "%s: more drop-path nodes than timm's %zu", model, t->n);
            cr_expect(fabs(g.node[i].p - t->data[n]) < 1e-6, "%s: drop-path %zu: %g, timm %g", model,
                      n, g.node[i].p, t->data[n]);
            n++;
        }
    cr_expect_eq(n, t->n, "%s: %zu drop-path nodes, timm has %zu", model, n, t->n);
    graph_free(&g);
    params_free(&p);
    fixtures_free(&fx);
}

Test(zoo, drop_path_rates_match_timm)
{
    check_drop_path("efficientnet_b0");
    check_drop_path("mobilenetv4_conv_medium");
    check_drop_path("efficientnetv2_s");
}

// ---------------------------------------------------------------------------------------------
// against timm (tests/ref/zoo.fix): the case's config names the knobs, the name (before '@') the
// model

// the gradients (buffers: running statistics) against timm's signatures, in name order. A gradient
// that is zero in exact arithmetic (timm's norm below 1e-10 of the largest: a BN bias whose every
// path passes a 1x1 conv into a train-mode BN, which removes per-channel constants) is float noise
// here and must be below 1e-6 of the largest instead; returns the worst relative error of the rest
static double compare_signatures(const Fixtures *fx, const char *cs, const Params *p, bool buffers)
{
    const char *what = buffers ? "running statistic" : "gradient";
    const FixTensor *t = fixture_find(fx, cs, buffers ? "asig" : "gsig");
    int *idx = xmalloc((size_t)p->count * sizeof *idx), n = sorted_params(p, buffers, idx);
    cr_assert(t && t->n == 5 * (size_t)n, "%s: timm has %zu %ss, we have %d", cs, t ? t->n / 5 : 0,
              what, n);
    double worst = 0, scale = 0;
    for (int r = 0; r < n; r++) scale = fmax(scale, t->data[5 * r]);
    for (int r = 0; r < n; r++) {
        const ParamInfo *pi = &p->info[idx[r]];
        float sig[5];
        fixture_signature(params_at(p, buffers ? ROLE_W : ROLE_GRAD, idx[r]), pi->numel, sig);
        if (t->data[5 * r] < 1e-10 * scale) {
            cr_expect(sig[0] < 1e-6 * scale, "%s: the %s of %s is zero in timm (%.2e), %.2e here "
                      "(largest %.2e)", cs, what, pi->name, t->data[5 * r], sig[0], scale);
            continue;
        }
        double e = max_rel_err(sig, t->data + 5 * r, 5);
        cr_expect(e < 1e-3, "%s: %s of %s differs from timm's by %.2e", cs, what, pi->name, e);
        worst = fmax(worst, e);
    }
    free(idx);
    return worst;
}

static void check_case(const char *cs, const char *backend, bool fuse, bool train)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/zoo.fix"), 0);
    const FixTensor *cfg = fixture_find(&fx, cs, "config");
    cr_assert(cfg && cfg->n == 7, "zoo.fix lacks %s/config", cs);
    char model[64];
    snprintf(model, sizeof model, "%.*s", (int)strcspn(cs, "@"), cs);
    ModelKnobs k = model_knobs_default();
    k.width = cfg->data[0];
    k.depth = cfg->data[1];
    k.se_ratio = cfg->data[2];
    k.fused_stages = (int)cfg->data[3];
    k.num_classes = (int)cfg->data[4];
    int res = (int)cfg->data[5], batch = (int)cfg->data[6];
    cr_assert_eq(model_check(model, &k), 0, "%s", cs);
    Net n;
    net_open(&n, backend);
    model_build(&n.g, model, &k, batch, res);
    net_ready(&n, fuse, train ? GRAPH_TRAIN : GRAPH_EVAL, 0, true);
    fixture_uniform(INPUT_KEY, fixture_fnv1a(cs), numel(&n, 0), graph_val(&n.g, &n.a, 0));
    const FixTensor *want = fixture_find(&fx, cs, "logits_eval");
    cr_assert(want && want->n == numel(&n, n.out), "%s: logits_eval", cs);
    graph_forward(&n.g, &n.d, &n.a, false, 1, 0);
    double e = max_rel_err(graph_val(&n.g, &n.a, n.out), want->data, want->n);
    cr_expect(e < 1e-4, "%s on %s: eval logits differ from timm's by %.2e", cs, backend, e);
    cr_log_info("%s on %s%s: eval logits vs timm %.2e", cs, backend, fuse ? " (fused)" : "", e);
    if (train) {
        graph_forward(&n.g, &n.d, &n.a, true, 1, 0);
        want = fixture_find(&fx, cs, "logits_train");
        e = max_rel_err(graph_val(&n.g, &n.a, n.out), want->data, want->n);
        cr_expect(e < 1e-4, "%s on %s: train logits differ from timm's by %.2e", cs, backend, e);
        backward_r(&n, fixture_fnv1a(cs), 1);
        double eg = compare_signatures(&fx, cs, &n.p, false), ea = compare_signatures(&fx, cs, &n.p, true);
        cr_log_info("%s on %s%s: train logits %.2e, gradients %.2e, running statistics %.2e", cs,
                    backend, fuse ? " (fused)" : "", e, eg, ea);
    }
    net_close(&n);
    fixtures_free(&fx);
}

#define NAMED(model) Test(timm_logits, model) { check_case(#model, "cpu", false, false); }
NAMED(mobilenetv1_100)
NAMED(mobilenetv2_100)
NAMED(mobilenetv2_110d)
NAMED(mobilenetv3_large_100)
NAMED(mobilenetv3_small_100)
NAMED(mobilenetv4_conv_small)
NAMED(mobilenetv4_conv_medium)
NAMED(mobilenetv4_conv_large)
NAMED(efficientnet_b0)
NAMED(efficientnet_b1)
NAMED(efficientnet_b2)
NAMED(efficientnet_b3)
NAMED(efficientnet_b4)
NAMED(efficientnet_b5)
NAMED(efficientnet_b6)
NAMED(efficientnet_b7)
NAMED(efficientnetv2_s)
NAMED(efficientnetv2_m)
NAMED(efficientnetv2_l)

// the variants: on ref as built, and on cpu fused as the trainer runs them
#define VARIANT(test, cs) \
    Test(timm_variants, test##_ref) { check_case(cs, "ref", false, true); } \
    Test(timm_variants, test##_cpu_fused) { check_case(cs, "cpu", true, true); }
VARIANT(mobilenetv1_w50d50, "mobilenetv1_100@w50d50")
VARIANT(mobilenetv2_110d_w50d25, "mobilenetv2_110d@w50d25")
VARIANT(mobilenetv3_large_w50, "mobilenetv3_large_100@w50")
VARIANT(mobilenetv3_small_w75se50, "mobilenetv3_small_100@w75se50")
VARIANT(mobilenetv4_small_w50, "mobilenetv4_conv_small@w50")
VARIANT(mobilenetv4_medium_w25, "mobilenetv4_conv_medium@w25")
VARIANT(efficientnet_b0_w25d50se50f2, "efficientnet_b0@w25d50se50f2")
VARIANT(efficientnetv2_s_w25d25f4, "efficientnetv2_s@w25d25f4")
VARIANT(efficientnetv2_m_w25d20f0, "efficientnetv2_m@w25d20f0")

// ---------------------------------------------------------------------------------------------
// one training step of every named model on cpu, from the builder's initialization (GhostNetV3's
// in test_ghost.c)

static void train_step(const char *model)
{
    enum { BATCH = 2, RES = 64 };
    ModelKnobs k = model_knobs_default();
    k.num_classes = 1000; // the labels below; CIFAR-style ResNets default to 10
    Net n;
    net_open(&n, "cpu");
    model_build(&n.g, model, &k, BATCH, RES);
    net_ready(&n, true, GRAPH_TRAIN, 1, false);
    graph_init_params(&n.g, 7);
    fixture_uniform(INPUT_KEY, 1, numel(&n, 0), graph_val(&n.g, &n.a, 0));
    Params *p = &n.p;
    float *before = xmalloc(p->total * sizeof(float)), loss[BATCH], prob[BATCH * 1000], dl[BATCH];
    bool *reached = xcalloc((size_t)p->count, sizeof *reached); // a non-zero gradient in a step
    memcpy(before, p->buf[ROLE_W], p->total * sizeof(float));
    int labels[BATCH] = {3, 917};
    Xent xo = {BATCH, 1000, 0};
    // two steps: a model whose residual branches end in a zero-initialized BN gamma (timm's
    // ResNets, zero_init_last) moves only those gammas in the first; the second moves the rest
    for (int step = 0; step < 3; step++) {
        graph_forward(&n.g, &n.d, &n.a, true, 5, 0);
        xent_forward(&n.d, xo, loss, prob, graph_val(&n.g, &n.a, n.out), labels, NULL);
        cr_expect(isfinite(loss[0]) && isfinite(loss[1]), "%s: step %d: loss %g %g", model, step,
                  loss[0], loss[1]);
        if (step == 2) break;
        for (int i = 0; i < BATCH; i++) dl[i] = 1.0f / BATCH;
        params_zero(p, ROLE_GRAD);
        xent_backward(&n.d, xo, graph_grad(&n.g, &n.a, n.out), dl, prob, labels, NULL, SET_0);
        graph_backward(&n.g, &n.d, &n.a, true, 5, 0);
        cr_log_info("%s: loss %g %g grad norm %g", model, loss[0], loss[1], grad_norm(p));
        for (int i = 0; i < p->count; i++) {
            const float *g = params_at(p, ROLE_GRAD, i);
            for (size_t j = 0; j < p->info[i].numel && !reached[i]; j++) reached[i] = g[j] != 0;
        }
        sgd_step(p, (Sgd){.lr = 0.1f, .momentum = 0.9f});
    }
    // every parameter got a gradient (a BN gamma of 1 may not move: a tiny step rounds away in
    // float), and every buffer (BN running statistics) moved
    int frozen = 0;
    for (int i = 0; i < p->count; i++) {
        const float *w = params_at(p, ROLE_W, i), *w0 = before + p->info[i].offset;
        size_t moved = 0;
        for (size_t j = 0; j < p->info[i].numel; j++) moved += w[j] != w0[j];
        bool ok = p->info[i].buffer ? moved > 0 : reached[i];
        if (!ok) cr_log_error("%s: %s %s in two steps", model, p->info[i].name,
                              p->info[i].buffer ? "did not change" : "got no gradient");
        frozen += !ok;
    }
    cr_expect_eq(frozen, 0, "%s: %d of %d parameters and buffers got no gradient or did not change",
                 model, frozen, p->count);
    free(reached);
    free(before);
    net_close(&n);
}

#define TRAIN(model) Test(train_step, model) { train_step(#model); }
TRAIN(mobilenetv1_100)
TRAIN(mobilenetv2_100)
TRAIN(mobilenetv2_110d)
TRAIN(mobilenetv3_large_100)
TRAIN(mobilenetv3_small_100)
TRAIN(mobilenetv4_conv_small)
TRAIN(mobilenetv4_conv_medium)
TRAIN(mobilenetv4_conv_large)
TRAIN(efficientnet_b0)
TRAIN(efficientnet_b1)
TRAIN(efficientnet_b2)
TRAIN(efficientnet_b3)
TRAIN(efficientnet_b4)
TRAIN(efficientnet_b5)
TRAIN(efficientnet_b6)
TRAIN(efficientnet_b7)
TRAIN(efficientnetv2_s)
TRAIN(efficientnetv2_m)
TRAIN(efficientnetv2_l)
// the ResNet family too (GhostNetV3's step is in test_ghost.c)
TRAIN(resnet18)
TRAIN(resnet34)
TRAIN(resnet50)
TRAIN(resnet101)
TRAIN(resnet152)
TRAIN(resnet200)
TRAIN(resnet50d)
TRAIN(resnetrs50)
TRAIN(resnetrs101)
TRAIN(resnetrs152)
TRAIN(resnetrs200)
TRAIN(resnetrs270)
TRAIN(resnetrs350)
TRAIN(resnetrs420)
TRAIN(resnet20)
TRAIN(resnet32)
TRAIN(resnet44)
TRAIN(resnet56)
TRAIN(resnet110)
TRAIN(resnet20a)
TRAIN(resnet32a)
TRAIN(resnet44a)
TRAIN(resnet56a)
TRAIN(resnet110a)
TRAIN(resnet44b)
TRAIN(resnet56b)
TRAIN(resnet110b)

// ---------------------------------------------------------------------------------------------
// each block kind alone, ref against cpu: x (4,res,res,c) - pre 1x1 conv - block - mean -
// classifier (5), train mode (drop-path draws from the seed, the same on both), L = sum(r * out).
// (A batch of 4: MobileNetV4's norm_head normalizes N values, and over 2 it is ill-conditioned.)

#define SE_IN(rd) {rd, ACT_SILU, ACT_SIGMOID}
#define SE_V3(rd) {rd, ACT_RELU, ACT_HSIGMOID}
static const struct { const char *name; int c, res; MbBlock b; } BLOCKS[] = {
    {"cn 3x3 skip (V2 stage 0)", 8, 9, {MB_CN, 8, 1, 3, .skip = true, .act = ACT_SILU, .drop_path = 0.4f}},
    {"cn 3x3/2 (V4 stem)", 8, 9, {MB_CN, 16, 2, 3, .act = ACT_RELU}},
    {"ds 3x3/2 + pw act (V1)", 8, 9, {MB_DS, 16, 2, 3, .pw_act = true, .act = ACT_RELU6}},
    {"ds 3x3 skip + SE (B0)", 8, 7, {MB_DS, 8, 1, 3, .skip = true, .act = ACT_SILU, .se = SE_IN(2)}},
    {"ds 3x3/2 + hsigmoid SE (V3-S)", 8, 9, {MB_DS, 8, 2, 3, .act = ACT_RELU, .se = SE_V3(8)}},
    {"ir 3x3/2 relu6 (V2)", 8, 9, {MB_IR, 12, 2, 3, .mid = 48, .skip = true, .act = ACT_RELU6}},
    {"ir 5x5 hswish + SE (V3)", 8, 7, {MB_IR, 8, 1, 5, .mid = 24, .skip = true, .act = ACT_HSWISH,
                                       .se = SE_V3(8), .drop_path = 0.3f}},
    {"mbconv 3x3 silu + SE (B0)", 8, 7, {MB_IR, 8, 1, 3, .mid = 48, .skip = true, .act = ACT_SILU,
                                        .se = SE_IN(2), .drop_path = 0.5f}},
    {"fused-mbconv 3x3/2 (V2)", 8, 9, {MB_ER, 16, 2, 3, .mid = 32, .skip = true, .act = ACT_SILU}},
    {"fused-mbconv 3x3 + SE", 8, 7, {MB_ER, 8, 1, 3, .mid = 32, .skip = true, .act = ACT_SILU,
                                    .se = SE_IN(2), .drop_path = 0.4f}},
    {"uib extra-dw 3,5/2", 8, 9, {MB_UIR, 16, 2, 5, .k_start = 3, .mid = 32, .skip = true, .act = ACT_RELU}},
    {"uib ib 3", 8, 7, {MB_UIR, 8, 1, 3, .mid = 16, .skip = true, .act = ACT_RELU, .drop_path = 0.4f}},
    {"uib convnext 5", 8, 7, {MB_UIR, 8, 1, 0, .k_start = 5, .mid = 32, .skip = true, .act = ACT_RELU}},
    {"uib ffn", 8, 7, {MB_UIR, 8, 1, 0, .mid = 16, .skip = true, .act = ACT_RELU, .drop_path = 0.4f}},
    {"uib convnext 3/2 (start stride)", 8, 9, {MB_UIR, 16, 2, 0, .k_start = 3, .mid = 16, .skip = true,
                                              .act = ACT_RELU}},
    {"uib end 3/2 (end stride)", 8, 9, {MB_UIR, 16, 2, 0, .k_end = 3, .mid = 16, .skip = true,
                                        .act = ACT_RELU}},
    {"uib all three + SE", 8, 7, {MB_UIR, 8, 1, 3, 3, 3, .mid = 16, .skip = true, .act = ACT_RELU,
                                  .se = SE_V3(8)}},
};

// the heads and the stem: x - conv_stem/bn1 - head
static const struct { const char *name; MbHead head; int chs; ActKind act; } HEADS[] = {
    {"head efficientnet", MB_HEAD_EFFNET, 24, ACT_SILU},
    {"head mobilenetv1 (none)", MB_HEAD_EFFNET, 0, ACT_RELU6},
    {"head mobilenetv3", MB_HEAD_MNV3, 24, ACT_HSWISH},
    {"head mobilenetv4", MB_HEAD_MNV4, 24, ACT_RELU},
};

// builds case i (< LEN(BLOCKS): a block, else a head) on backend; runs forward and backward
static void run_block(Net *n, int i, const char *backend, bool fuse)
{
    net_open(n, backend);
    bool block = i < LEN(BLOCKS);
    int c = block ? BLOCKS[i].c : 8, res = block ? BLOCKS[i].res : 9;
    int x = g_conv(&n->g, "pre", g_input(&n->g, (Shape4){4, res, res, c}), c, 1, 1, 1, false);
    if (block) {
        x = mb_head(&n->g, mb_block(&n->g, "blk", x, &BLOCKS[i].b), MB_HEAD_EFFNET, 0, ACT_NONE, 0, 5);
    } else {
        int h = i - LEN(BLOCKS);
        x = mb_head(&n->g, mb_stem(&n->g, x, 16, HEADS[h].act), HEADS[h].head, HEADS[h].chs,
                    HEADS[h].act, 0.25f, 5);
    }
    net_ready(n, fuse, GRAPH_TRAIN, 0, true);
    fixture_uniform(INPUT_KEY, (uint64_t)i, numel(n, 0), graph_val(&n->g, &n->a, 0));
    graph_forward(&n->g, &n->d, &n->a, true, 3, 0);
    backward_r(n, (uint64_t)i, 3);
}

static void check_block(int i)
{
    const char *name = i < LEN(BLOCKS) ? BLOCKS[i].name : HEADS[i - LEN(BLOCKS)].name;
    Net r, c;
    run_block(&r, i, "ref", false);
    run_block(&c, i, "cpu", true);
    double e = max_rel_err(graph_val(&c.g, &c.a, c.out), graph_val(&r.g, &r.a, r.out), numel(&r, r.out));
    cr_expect(e < 1e-5, "%s: cpu output differs from ref by %.2e", name, e);
    // a gradient zero in exact arithmetic (a BN bias into a 1x1 conv and a train-mode BN, as
    // UIB's dw_start) is float noise on both: below 1e-5 of the largest gradient is zero here
    double worst = 0, scale = 0;
    for (int k = 0; k < r.p.count; k++)
        if (!r.p.info[k].buffer) scale = fmax(scale, max_abs(params_at(&r.p, ROLE_GRAD, k), r.p.info[k].numel));
    for (int k = 0; k < r.p.count; k++) {
        ParamRole role = r.p.info[k].buffer ? ROLE_W : ROLE_GRAD;
        const float *got = params_at(&c.p, role, k), *want = params_at(&r.p, role, k);
        size_t nk = r.p.info[k].numel;
        if (role == ROLE_GRAD && max_abs(want, nk) < 1e-5 * scale) {
            cr_expect(max_abs(got, nk) < 1e-5 * scale, "%s: the gradient of %s is zero on ref "
                      "(%.2e), %.2e on cpu (largest %.2e)", name, r.p.info[k].name,
                      max_abs(want, nk), max_abs(got, nk), scale);
            continue;
        }
        double ek = max_rel_err(got, want, nk);
        cr_expect(ek < 1e-4, "%s: %s of %s on cpu differs from ref by %.2e", name,
                  role == ROLE_W ? "value" : "gradient", r.p.info[k].name, ek);
        worst = fmax(worst, ek);
    }
    cr_log_info("%-32s cpu vs ref: output %.2e, gradients and running statistics %.2e", name, e, worst);
    net_close(&r);
    net_close(&c);
}

Test(blocks, cpu_matches_ref)
{
    for (int i = 0; i < LEN(BLOCKS) + LEN(HEADS); i++) check_block(i);
}

// drop-path sits on the residual branch of a block that keeps its shape, nowhere else (what it
// does per sample is the droppath op's test)
Test(blocks, drop_path_only_on_residual_branches)
{
    int with = 0;
    for (int i = 0; i < LEN(BLOCKS); i++) {
        Params p = {0};
        Graph g;
        graph_init(&g, &p);
        int x = g_input(&g, (Shape4){2, BLOCKS[i].res, BLOCKS[i].res, BLOCKS[i].c});
        mb_block(&g, "blk", x, &BLOCKS[i].b);
        bool has = false, residual = BLOCKS[i].b.stride == 1 && BLOCKS[i].b.out == BLOCKS[i].c;
        for (int k = 0; k < g.n_node; k++) has |= g.node[k].kind == G_DROPPATH;
        cr_expect_eq(has, residual && BLOCKS[i].b.drop_path > 0, "%s: drop-path node %d", BLOCKS[i].name, has);
        with += has;
        graph_free(&g);
        params_free(&p);
    }
    cr_expect(with >= 4, "the block cases exercise drop-path (%d do)", with);
}

