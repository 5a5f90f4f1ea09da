/* tests/test_nets.c — models/nets.h: evaluation with batch norm folded into the convolutions
 * (graph_fold_bn), and the inverted residuals' expansion and depthwise convolutions chained into
 * one op (graph_chain_convs: cpu's bands on the larger maps here), gives the unfolded graph's
 * logits within float rounding, for every family, with weights and running statistics drawn away
 * from their initial values (fixture_param); a folded net that runs before its folded weights are
 * made (after a plan) is stopped.
 */
#include <criterion/criterion.h>
#include <string.h> // memcpy

#include "fixtures.h"
#include "models/nets.h"

// the logits (3 x 10) of `name` on backend be for the fixed input, unfolded (a training-mode plan
// run in evaluation, as before folding existed) or folded (NetSet's evaluation net)
static void logits_of(const char *be, bool folded, const char *name, const ModelKnobs *k, int res, float *out)
{
    Dev d;
    cr_assert_eq(dev_open(&d, be), 0);
    Params p = {0};
    NetSet s;
    netset_init(&s, &d);
    Net *n = netset_add(&s, &p, name, k, 3, res, folded ? GRAPH_EVAL : GRAPH_TRAIN);
    cr_assert(!folded || n->g.fold_n > 0, "%s: no batch norm was folded", name);
    int chains = 0; // 1x1 -> depthwise pairs run as one op (graph_chain_convs)
    for (int i = 0; i < n->g.n_node; i++) chains += n->g.node[i].chain_to >= 0;
    bool compact = strncmp(name, "resnet", 6); // MBConv, UIB and ghost blocks have such pairs
    cr_assert(folded && compact ? chains > 0 : chains == 0, "%s (%s): %d chained convolutions", name,
              folded ? "folded" : "unfolded", chains);
    cr_assert_eq(params_alloc_weights(&p, &d), 0);
    for (int i = 0; i < p.count; i++) fixture_param(&p.info[i], params_at(&p, ROLE_W, i));
    netset_plan(&s, NULL, NULL);
    netset_refresh(&s, &p);
    size_t xn = shape_numel(graph_shape(&n->g, 0));
    float *x = xmalloc(xn * sizeof *x);
    fixture_uniform(FIX_WEIGHT_KEY, 77, xn, x);
    net_forward(&s, n, x, false, 0, 0); // evaluation: running statistics
    memcpy(out, graph_val(&n->g, &s.a, n->out), 30 * sizeof *out);
    free(x);
    netset_free(&s);
    params_free(&p);
    dev_close(&d);
}

// folded and unfolded cpu logits agree within 1e-5 of the largest, or within 3x what the
// unfolded cpu and ref logits already disagree by (random weights can make logits of 1e10,
// where every rounding difference grows: GhostNetV3 x0.5 disagrees by 4.6e-5 unfolded)
static void folded_equals_unfolded(const char *name, float width, int res, int in_chans)
{
    ModelKnobs k = model_knobs_default();
    k.width = width, k.in_chans = in_chans, k.num_classes = 10;
    float want[30], ref[30], got[30];
    logits_of("cpu", false, name, &k, res, want);
    logits_of("ref", false, name, &k, res, ref);
    logits_of("cpu", true, name, &k, res, got);
    double noise = max_rel_err(want, ref, 30), err = max_rel_err(got, want, 30);
    cr_expect(err < 1e-5 || err < 3 * noise, "%s x%g at %d px, %d channel(s): folded logits differ by %.2e "
              "(cpu and ref unfolded: %.2e)", name, width, res, in_chans, err, noise);
}

Test(fold, folded_batch_norm_gives_the_same_logits)
{
    folded_equals_unfolded("resnet20", 1, 32, 1);
    folded_equals_unfolded("resnet50", 0.25f, 64, 3);
    folded_equals_unfolded("mobilenetv2_100", 0.5f, 56, 1);
    folded_equals_unfolded("mobilenetv2_100", 0.5f, 128, 3); // 64x64 maps: chains in several bands
    folded_equals_unfolded("mobilenetv3_large_100", 0.5f, 64, 3);
    folded_equals_unfolded("mobilenetv4_conv_small", 0.5f, 56, 1);
    folded_equals_unfolded("efficientnet_b0", 0.5f, 64, 3);
    folded_equals_unfolded("ghostnetv3_100", 0.5f, 64, 3);
}

Test(fold, a_forward_before_the_refresh_stops)
{
    NetSet s;
    Dev d;
    cr_assert_eq(dev_open(&d, "cpu"), 0);
    Params p = {0};
    netset_init(&s, &d);
    ModelKnobs k = model_knobs_default();
    Net *n = netset_add(&s, &p, "resnet20", &k, 2, 32, GRAPH_EVAL);
    cr_assert_eq(params_alloc_weights(&p, &d), 0);
    netset_plan(&s, NULL, NULL);
    cr_expect(!n->g.folds_fresh, "a new plan has no folded weights yet");
    netset_refresh(&s, &p);
    cr_expect(n->g.folds_fresh);
    netset_plan(&s, NULL, NULL);
    cr_expect(!n->g.folds_fresh, "a plan again (progressive learning) needs a refresh again");
    netset_free(&s);
    params_free(&p);
    dev_close(&d);
}
