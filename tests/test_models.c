/* tests/test_models.c — model builders against the reference implementations' counts.
 *
 * Parameter counts are timm's (`sum(p.numel() for p in model.parameters())`, buffers excluded);
 * MACs are conv + linear multiply-accumulates per image, within 1% of the figures (the
 * builder matches them exactly). Also: shapes are asserted as the graph is built (a wrong graph
 * stops with a message), and parameter names follow timm's state dict.
 */
#include <criterion/criterion.h>
#include <math.h>   // fabs, fmax
#include <signal.h> // SIGABRT

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
// tiny timm ResNets (tests/ref/gen_model_fixtures.py): same weights, same input, on ref and cpu:
// eval logits, train logits, every parameter gradient of L = sum(r * logits), running statistics

#include "fixtures.h"

static void check_timm_model(const char *model, ResNetArgs a, int batch, int res, const char *backend)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/models.fix"), 0);
    Dev d;
    cr_assert_eq(dev_open(&d, backend), 0);
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    int out = resnet_build(&g, a, batch, res);
    params_alloc(&p, &d, 0, false);
    char key[192];
    int n_fixture_params = 0;
    for (int i = 0; i < fx.count; i++) n_fixture_params += strncmp(fx.t[i].name, model, strlen(model)) == 0 &&
                                                           strstr(fx.t[i].name, "/param/") != NULL;
    cr_expect_eq(n_fixture_params, p.count, "%s: timm has %d parameters and buffers, we have %d", model,
                 n_fixture_params, p.count);
    for (int i = 0; i < p.count; i++) {
        snprintf(key, sizeof key, "param/%s", p.info[i].name);
        const FixTensor *t = fixture_find(&fx, model, key);
        cr_assert(t && t->n == p.info[i].numel, "%s: timm has no parameter %s of %zu values", model,
                  p.info[i].name, p.info[i].numel);
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
    cr_expect(e < 1e-4, "%s on %s: eval logits differ from timm by %.2e", model, backend, e);

    graph_forward(&g, &d, &ar, true, 1, 0);
    e = max_rel_err(graph_val(&g, &ar, out), fixture_find(&fx, model, "logits_train")->data, nl);
    cr_expect(e < 1e-4, "%s on %s: train logits differ from timm by %.2e", model, backend, e);
    graph_zero_grads(&g, &d, &ar);
    params_zero(&p, ROLE_GRAD);
    memcpy(graph_grad(&g, &ar, out), fixture_find(&fx, model, "r")->data, nl * sizeof(float));
    graph_backward(&g, &d, &ar, true, 1, 0);
    double worst = 0;
    for (int i = 0; i < p.count; i++) {
        const char *role = p.info[i].buffer ? "after" : "grad";
        snprintf(key, sizeof key, "%s/%s", role, p.info[i].name);
        const FixTensor *t = fixture_find(&fx, model, key);
        cr_assert(t && t->n == p.info[i].numel, "%s: fixture lacks %s", model, key);
        const float *got = params_at(&p, p.info[i].buffer ? ROLE_W : ROLE_GRAD, i);
        e = max_rel_err(got, t->data, t->n);
        worst = fmax(worst, e);
        cr_expect(e < 1e-3, "%s on %s: %s differs from timm by %.2e", model, backend, key, e);
    }
    cr_log_info("%s on %s: worst gradient / running-stat error vs timm %.2e", model, backend, worst);
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

Test(timm, tiny_rs_basic_ref) { check_timm_model("tiny_rs_basic", tiny_rs_basic(), 3, 32, "ref"); }
Test(timm, tiny_rs_basic_cpu) { check_timm_model("tiny_rs_basic", tiny_rs_basic(), 3, 32, "cpu"); }
Test(timm, tiny_bottleneck_ref) { check_timm_model("tiny_bottleneck", tiny_bottleneck(), 2, 29, "ref"); }
Test(timm, tiny_bottleneck_cpu) { check_timm_model("tiny_bottleneck", tiny_bottleneck(), 2, 29, "cpu"); }
