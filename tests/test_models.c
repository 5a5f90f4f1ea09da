/* tests/test_models.c — model builders against the reference implementations' counts.
 *
 * Parameter counts are timm's (`sum(p.numel() for p in model.parameters())`, buffers excluded),
 * for the option-A CIFAR nets akamaster/pytorch_resnet_cifar10's; MACs are conv + linear
 * multiply-accumulates per image, within 1% of the figures (the builder matches them
 * exactly). Also: shapes are asserted as the graph is built (a wrong graph stops with a message),
 * parameter names follow timm's state dict, and small models match the references' logits and
 * gradients (fixtures, below).
 */
#include <criterion/criterion.h>
#include <math.h>   // fabs, fmax, sqrt
#include <signal.h> // SIGABRT

#include "core/rng.h"
#include "models/resnet.h"

typedef struct { size_t params; uint64_t macs; } Counts;

static Counts count(const char *name, int res)
{
    ResNetArgs a;
    cr_assert(resnet_args(name, &a), "unknown model %s", name);
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    int logits = resnet_build(&g, a, 2, res);
    Shape4 s = graph_shape(&g, logits);
    cr_expect(s.n == 2 && s.h == 1 && s.w == 1 && s.c == a.num_classes, "%s: logits (%d,%d,%d,%d)",
              name, s.n, s.h, s.w, s.c);
    Counts c = {params_count(&p, true), graph_macs(&g)};
    graph_free(&g);
    params_free(&p);
    return c;
}

static void expect_params(const char *name, size_t want)
{
    Counts c = count(name, resnet_default_res(name));
    cr_expect_eq(c.params, want, "%s: %zu parameters, timm has %zu", name, c.params, want);
}

static void expect_macs(const char *name, int res, uint64_t want)
{
    Counts c = count(name, res);
    double rel = ((double)c.macs - (double)want) / (double)want;
    cr_expect(rel < 0.01 && rel > -0.01, "%s at %d: %llu MACs, reference %llu (%.2f%%)", name, res,
              (unsigned long long)c.macs, (unsigned long long)want, 100 * rel);
}

Test(resnet, parameter_counts_match_timm)
{
    expect_params("resnet18", 11689512);
    expect_params("resnet50", 25557032);
    expect_params("resnet101", 44549160);
    expect_params("resnet152", 60192808);
    expect_params("resnet50d", 25576264);
    expect_params("resnetrs50", 35691912);
    expect_params("resnetrs101", 63618696);
    expect_params("resnetrs420", 191891656);
}

// He et al. 2016 §4.2's CIFAR nets with option-A shortcuts, counted on akamaster's PyTorch code
// (3 input channels, 10 classes; tests/ref/gen_model_fixtures.py asserts the same numbers there)
Test(resnet, option_a_parameter_counts_match_akamaster)
{
    expect_params("resnet20a", 269722);
    expect_params("resnet32a", 464154);
    expect_params("resnet44a", 658586);
    expect_params("resnet56a", 853018);
    expect_params("resnet110a", 1727962);
    expect_params("resnet20", 272474); // option B keeps its projections
}

Test(resnet, option_a_shortcuts_are_parameter_free)
{
    ResNetArgs a;
    cr_assert(resnet_args("resnet20a", &a));
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    resnet_build(&g, a, 2, 32);
    cr_expect(params_find(&p, "layer2.0.downsample.0.weight") < 0, "option A has no projection");
    int pads = 0;
    for (int i = 0; i < g.n_node; i++) {
        const GNode *n = &g.node[i];
        if (n->kind != G_CHANPAD) continue;
        int c = n->cp.x.c; // 16 -> 32 at 16x16, 32 -> 64 at 8x8: half the new channels each side
        cr_expect(n->cp.before == c / 2 && n->cp.after == c / 2 && n->cp.x.h == 32 / c * 8,
                  "chanpad %d: x (%d,%d,%d,%d) before %d after %d", pads, n->cp.x.n, n->cp.x.h,
                  n->cp.x.w, c, n->cp.before, n->cp.after);
        const GNode *sub = &g.node[i - 1];
        cr_expect(sub->kind == G_AVGPOOL && sub->pool.kh == 1 && sub->pool.sh == 2 &&
                      sub->pool.ph == 0,
                  "the subsampling before chanpad %d is avgpool 1x1/2", pads);
        pads++;
    }
    cr_expect_eq(pads, 2, "resnet20a: %d channel paddings, want 2 (stages 2 and 3)", pads);
    graph_free(&g);
    params_free(&p);
}

Test(resnet, shortcut_a_with_avg_down_aborts, .signal = SIGABRT)
{
    ResNetArgs a;
    cr_assert(resnet_args("resnet20a", &a));
    a.avg_down = true;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    resnet_build(&g, a, 1, 32);
}

// the option-A shortcut, avgpool 1x1/2 then chanpad, is x[:, ::2, ::2] zero-padded exactly (bit
// for bit), and its backward hands dy's middle channels back to the kept pixels, zero elsewhere
static void check_shortcut_exact(const char *backend)
{
    Dev d;
    cr_assert_eq(dev_open(&d, backend), 0);
    Pool2d sub = {{2, 7, 6, 3}, 1, 1, 2, 2, 0, 0, false, true};
    Shape4 ss = pool2d_out(sub);
    ChanPad cp = {ss, 2, 3, false};
    Shape4 ys = chanpad_out(cp);
    size_t nx = shape_numel(sub.x), ns = shape_numel(ss), ny = shape_numel(ys);
    float *hx = xmalloc(nx * sizeof(float)), *hy = xmalloc(ny * sizeof(float));
    float *hdx = xmalloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) hx[i] = 2 * rng_uniform(7, 0, i) - 1;
    float *x = dev_alloc(&d, nx * 4), *s = dev_alloc(&d, ns * 4), *y = dev_alloc(&d, ny * 4);
    float *dy = dev_alloc(&d, ny * 4), *ds = dev_alloc(&d, ns * 4), *dx = dev_alloc(&d, nx * 4);
    dev_upload(&d, x, hx, nx * 4);
    avgpool_forward(&d, sub, s, x);
    chanpad_forward(&d, cp, y, s);
    dev_download(&d, hy, y, ny * 4);
    int bad = 0;
    for (int n = 0; n < ys.n; n++)
        for (int h = 0; h < ys.h; h++)
            for (int w = 0; w < ys.w; w++)
                for (int c = 0; c < ys.c; c++) {
                    int k = c - cp.before;
                    size_t xi = (((size_t)n * 7 + 2 * h) * 6 + 2 * w) * 3 + k;
                    float want = k >= 0 && k < ss.c ? hx[xi] : 0.0f;
                    size_t yi = (((size_t)n * ys.h + h) * ys.w + w) * ys.c + c;
                    bad += memcmp(&hy[yi], &want, 4) != 0;
                }
    cr_expect_eq(bad, 0, "%s: %d values of the option-A shortcut are not x[:, ::2, ::2] padded",
                 backend, bad);
    // backward: dy = y itself, so the kept pixels of dx get x back exactly and the others 0
    dev_memset0(&d, ds, ns * 4);
    dev_memset0(&d, dx, nx * 4);
    dev_upload(&d, dy, hy, ny * 4);
    chanpad_backward(&d, cp, ds, dy, 0);
    avgpool_backward(&d, sub, dx, ds, 0);
    dev_download(&d, hdx, dx, nx * 4);
    bad = 0;
    for (int n = 0; n < 2; n++)
        for (int h = 0; h < 7; h++)
            for (int w = 0; w < 6; w++)
                for (int c = 0; c < 3; c++) {
                    size_t i = (((size_t)n * 7 + h) * 6 + w) * 3 + c;
                    float want = h % 2 == 0 && w % 2 == 0 ? hx[i] : 0.0f;
                    bad += memcmp(&hdx[i], &want, 4) != 0;
                }
    cr_expect_eq(bad, 0, "%s: %d gradient values of the option-A shortcut are not exact", backend,
                 bad);
    float *bufs[] = {x, s, y, dy, ds, dx};
    for (int i = 0; i < LEN(bufs); i++) dev_free(&d, bufs[i]);
    free(hx);
    free(hy);
    free(hdx);
    dev_close(&d);
}

Test(resnet, option_a_shortcut_exact_ref) { check_shortcut_exact("ref"); }
Test(resnet, option_a_shortcut_exact_cpu) { check_shortcut_exact("cpu"); }

Test(resnet, macs_match_reference)
{
    expect_macs("resnet50", 224, 4089184256ull);
    expect_macs("resnetrs50", 160, 2278629376ull);
}

Test(resnet, timm_parameter_names)
{
    ResNetArgs a;
    cr_assert(resnet_args("resnetrs50", &a));
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    resnet_build(&g, a, 1, 160);
    const char *names[] = {"conv1.0.weight", "conv1.1.weight", "conv1.6.weight", "bn1.running_var",
                           "maxpool.0.weight", "layer1.0.conv3.weight", "layer1.0.se.fc1.bias",
                           "layer2.0.downsample.1.weight", "layer4.2.bn3.bias", "fc.weight"};
    for (int i = 0; i < LEN(names); i++)
        cr_expect(params_find(&p, names[i]) >= 0, "no parameter named %s", names[i]);
    cr_expect(params_find(&p, "layer1.0.downsample.0.weight") < 0, "avg-down has no downsample.0 conv");
    int fc = params_find(&p, "fc.weight");
    cr_expect(p.info[fc].dims[0] == 1000 && p.info[fc].dims[1] == 2048);
    graph_free(&g);
    params_free(&p);
}

Test(resnet, width_and_resolution_knobs)
{
    ResNetArgs a;
    cr_assert(resnet_args("resnet20", &a));
    a.in_chans = 1;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    resnet_build(&g, a, 4, 28);
    cr_expect_eq(graph_shape(&g, g.node[g.n_node - 3].out).c, 64, "ResNet-20 ends with 64 channels");
    size_t base = params_count(&p, true);
    graph_free(&g);
    params_free(&p);
    a.width = 2;
    graph_init(&g, &p);
    resnet_build(&g, a, 4, 28);
    size_t wide = params_count(&p, true);
    cr_expect(wide > 3 * base && wide < 5 * base, "width 2: %zu vs %zu parameters", wide, base);
    graph_free(&g);
    params_free(&p);
}

Test(graph, add_of_different_shapes_aborts, .signal = SIGABRT)
{
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    int x = g_input(&g, (Shape4){1, 8, 8, 4});
    int y = g_conv(&g, "c", x, 8, 3, 2, 1, false);
    g_add(&g, x, y);
}

Test(graph, kernel_larger_than_input_aborts, .signal = SIGABRT)
{
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    int x = g_input(&g, (Shape4){1, 2, 2, 4});
    g_maxpool(&g, x, 5, 1, 0);
}

Test(graph, linear_needs_pooled_input, .signal = SIGABRT)
{
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    g_linear(&g, "fc", g_input(&g, (Shape4){1, 3, 3, 4}), 10);
}

Test(resnet, unknown_name)
{
    ResNetArgs a;
    cr_expect(!resnet_args("resnet51", &a));
    cr_expect(strstr(resnet_names(), "resnetrs350") != NULL);
}

// ---------------------------------------------------------------------------------------------
// small ResNets against their references (tests/ref/gen_model_fixtures.py): same weights, same
// input, on ref and cpu: eval logits, train logits, every parameter gradient of
// L = sum(r * logits), running statistics. Tiny timm ResNets store their weights in the fixture;
// the option-A ResNet-20 (0.27M parameters) draws them here as the generator does (generated(),
// fixture_param) and finds its larger gradients as signatures (gsig/: fixture_signature)

#include "fixtures.h"

// fuse: fold activations into the batch norms and adds before them (graph_fuse), as training does
static void check_model(const char *model, const char *ref, ResNetArgs a, int batch, int res,
                        const char *backend, bool fuse)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/models.fix"), 0);
    Dev d;
    cr_assert_eq(dev_open(&d, backend), 0);
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    int out = resnet_build(&g, a, batch, res);
    if (fuse) cr_expect(graph_fuse(&g) > 0, "%s: nothing to fuse", model);
    out = g.node[g.n_node - 1].out;
    params_alloc(&p, &d, 0, false);
    char key[192];
    int n_fixture_params = 0;
    for (int i = 0; i < fx.count; i++) n_fixture_params += strncmp(fx.t[i].name, model, strlen(model)) == 0 &&
                                                           strstr(fx.t[i].name, "/param/") != NULL;
    bool generated = n_fixture_params == 0; // weights drawn on both sides, not stored
    cr_expect(generated || n_fixture_params == p.count,
              "%s: %s has %d parameters and buffers, we have %d", model, ref, n_fixture_params,
              p.count);
    for (int i = 0; i < p.count; i++) {
        if (generated) {
            fixture_param(&p.info[i], params_at(&p, ROLE_W, i));
            continue;
        }
        snprintf(key, sizeof key, "param/%s", p.info[i].name);
        const FixTensor *t = fixture_find(&fx, model, key);
        cr_assert(t && t->n == p.info[i].numel, "%s: %s has no parameter %s of %zu values", model,
                  ref, p.info[i].name, p.info[i].numel);
        memcpy(params_at(&p, ROLE_W, i), t->data, t->n * sizeof(float));
    }
    Arena ar;
    arena_init(&ar, &d);
    arena_begin(&ar);
    graph_plan(&g, &ar, GRAPH_TRAIN);
    arena_commit(&ar);
    const FixTensor *x = fixture_find(&fx, model, "x");
    cr_assert(x && x->n == shape_numel(graph_shape(&g, 0)));
    memcpy(graph_val(&g, &ar, 0), x->data, x->n * sizeof(float));
    size_t nl = shape_numel(graph_shape(&g, out));

    graph_forward(&g, &d, &ar, false, 1, 0);
    double e = max_rel_err(graph_val(&g, &ar, out), fixture_find(&fx, model, "logits_eval")->data, nl);
    cr_expect(e < 1e-4, "%s on %s: eval logits differ from %s by %.2e", model, backend, ref, e);
    cr_log_info("%s on %s: eval logits vs %s %.2e", model, backend, ref, e);

    graph_forward(&g, &d, &ar, true, 1, 0);
    e = max_rel_err(graph_val(&g, &ar, out), fixture_find(&fx, model, "logits_train")->data, nl);
    cr_expect(e < 1e-4, "%s on %s: train logits differ from %s by %.2e", model, backend, ref, e);
    cr_log_info("%s on %s: train logits vs %s %.2e", model, backend, ref, e);
    graph_zero_grads(&g, &d, &ar);
    params_zero(&p, ROLE_GRAD);
    memcpy(graph_grad(&g, &ar, out), fixture_find(&fx, model, "r")->data, nl * sizeof(float));
    graph_backward(&g, &d, &ar, true, 1, 0);
    double worst = 0;
    int n_sig = 0;
    for (int i = 0; i < p.count; i++) {
        const char *role = p.info[i].buffer ? "after" : "grad";
        snprintf(key, sizeof key, "%s/%s", role, p.info[i].name);
        const FixTensor *t = fixture_find(&fx, model, key);
        const float *got = params_at(&p, p.info[i].buffer ? ROLE_W : ROLE_GRAD, i);
        float sig[5];
        if (!t && generated && !p.info[i].buffer) { // a large gradient: compare signatures
            snprintf(key, sizeof key, "gsig/%s", p.info[i].name);
            t = fixture_find(&fx, model, key);
            cr_assert(t && t->n == 5, "%s: fixture lacks grad/ or gsig/%s", model, p.info[i].name);
            fixture_signature(got, p.info[i].numel, sig);
            got = sig;
            n_sig++;
        }
        cr_assert(t && t->n == (got == sig ? 5 : p.info[i].numel), "%s: fixture lacks %s", model,
                  key);
        e = max_rel_err(got, t->data, t->n);
        worst = fmax(worst, e);
        cr_expect(e < 1e-3, "%s on %s: %s differs from %s by %.2e", model, backend, key, ref, e);
    }
    cr_log_info("%s on %s: worst gradient / running-stat error vs %s %.2e (%d of %d as signatures)",
                model, backend, ref, worst, n_sig, p.count);
    arena_free(&ar);
    graph_free(&g);
    params_free(&p);
    dev_close(&d);
    fixtures_free(&fx);
}

static ResNetArgs tiny_rs_basic(void)
{
    ResNetArgs a = {.stages = 4, .layers = {1, 1, 1, 1}, .base = 64, .channels = {8, 8, 16, 16},
                    .width = 1, .stem = STEM_DEEP, .stem_width = 4, .replace_stem_pool = true,
                    .avg_down = true, .se_ratio = 0.25f, .in_chans = 1, .num_classes = 5};
    return a;
}

static ResNetArgs tiny_bottleneck(void)
{
    ResNetArgs a = {.stages = 4, .layers = {2, 1, 1, 1}, .bottleneck = true, .base = 64,
                    .channels = {4, 4, 8, 8}, .width = 1, .stem = STEM_7X7, .in_chans = 3,
                    .num_classes = 7};
    return a;
}

Test(timm, tiny_rs_basic_ref) { check_model("tiny_rs_basic", "timm", tiny_rs_basic(), 3, 32, "ref", false); }
Test(timm, tiny_rs_basic_cpu) { check_model("tiny_rs_basic", "timm", tiny_rs_basic(), 3, 32, "cpu", false); }
Test(timm, tiny_bottleneck_ref) { check_model("tiny_bottleneck", "timm", tiny_bottleneck(), 2, 29, "ref", false); }
Test(timm, tiny_bottleneck_cpu) { check_model("tiny_bottleneck", "timm", tiny_bottleneck(), 2, 29, "cpu", false); }
// the same models with BN-act and add-act fused, as the trainer runs them
Test(timm, tiny_rs_basic_fused_ref) { check_model("tiny_rs_basic", "timm", tiny_rs_basic(), 3, 32, "ref", true); }
Test(timm, tiny_rs_basic_fused_cpu) { check_model("tiny_rs_basic", "timm", tiny_rs_basic(), 3, 32, "cpu", true); }
Test(timm, tiny_bottleneck_fused_cpu) { check_model("tiny_bottleneck", "timm", tiny_bottleneck(), 2, 29, "cpu", true); }

// He et al.'s ResNet-20 with option-A shortcuts as registered, against akamaster's model (the
// generator re-implements it), two 3x15x15 images: odd sizes, where x[:, ::2, ::2] rounds up
static ResNetArgs resnet20a(void)
{
    ResNetArgs a;
    cr_assert(resnet_args("resnet20a", &a));
    return a;
}

#define AKAMASTER(backend, fuse) \
    check_model("resnet20a_akamaster", "akamaster", resnet20a(), 2, 15, backend, fuse)
Test(akamaster, resnet20a_ref) { AKAMASTER("ref", false); }
Test(akamaster, resnet20a_cpu) { AKAMASTER("cpu", false); }
Test(akamaster, resnet20a_fused_cpu) { AKAMASTER("cpu", true); }
