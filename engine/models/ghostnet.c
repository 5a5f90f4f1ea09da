/* engine/models/ghostnet.c — GhostNetV3, following timm/models/ghostnet.py (GhostNet with
 * version='v3'), module names included, so parameter names match its state dict in both forms.
 *
 * Stem: conv_stem 3x3/2 (make_divisible(16 * width, 4)) + bn1 + ReLU. Then timm's cfgs, 16
 * GhostBottleneckV3 blocks "blocks.<stage>.<i>" (engine/nn/ghost.h), widths make_divisible(c *
 * width, 4), DFC attention on every block after the second (timm's layer_idx > 1); then
 * "blocks.9.0", a ConvBnAct 1x1 to make_divisible(960 * width, 4) + ReLU; global average pool,
 * conv_head 1x1 to 1280 with bias + ReLU, dropout, classifier. Folded (timm's reparameterize()):
 * the blocks' re-parameterizable convs become one conv with bias each (ghost_fold fills them).
 * Initial weights: PyTorch's defaults (graph.h's torch_init), since timm's GhostNet sets none.
 * ghostnetv3_100: 8,129,028 parameters (6,147,588 folded), 404M (167M folded) MACs at 224.
 */
#include "ghostnet.h"

#include "models.h" // ModelFamily: the registry's entry

#include <stdio.h>  // snprintf
#include <string.h> // strcmp

// timm's cfgs: stage, depthwise kernel, expansion, output channels, SE ratio, stride
static const struct { int stage, k, exp, c; float se; int s; } CFG[] = {
    {0, 3, 16, 16, 0, 1},
    {1, 3, 48, 24, 0, 2},
    {2, 3, 72, 24, 0, 1},
    {3, 5, 72, 40, 0.25f, 2},
    {4, 5, 120, 40, 0.25f, 1},
    {5, 3, 240, 80, 0, 2},
    {6, 3, 200, 80, 0, 1},
    {6, 3, 184, 80, 0, 1},
    {6, 3, 184, 80, 0, 1},
    {6, 3, 480, 112, 0.25f, 1},
    {6, 3, 672, 112, 0.25f, 1},
    {7, 5, 672, 160, 0.25f, 2},
    {8, 5, 960, 160, 0, 1},
    {8, 5, 960, 160, 0.25f, 1},
    {8, 5, 960, 160, 0, 1},
    {8, 5, 960, 160, 0.25f, 1},
};

int ghostnet_build(Graph *g, GhostNetArgs a, int batch, int res)
{
    CHECK(a.width > 0 && a.in_chans > 0 && a.num_classes > 0 && a.se_ratio >= 0 && a.branches >= 1,
          "ghostnet_build: width %g in_chans %d classes %d se_ratio %g branches %d", a.width, a.in_chans,
          a.num_classes, a.se_ratio, a.branches);
    g->torch_init = true; // timm's GhostNet has no init of its own ("FIXME init")
    int x = g_input(g, (Shape4){batch, res, res, a.in_chans});
    x = g_conv_bn(g, "conv_stem", "bn1", x, make_divisible(16 * a.width, 4, 0.9), 3, 2, 1, ACT_RELU);
    for (int i = 0, in_stage = 0; i < LEN(CFG); i++) {
        in_stage = i > 0 && CFG[i].stage == CFG[i - 1].stage ? in_stage + 1 : 0;
        GhostBlock b = {make_divisible(CFG[i].exp * a.width, 4, 0.9),
                        make_divisible(CFG[i].c * a.width, 4, 0.9), CFG[i].k, CFG[i].s,
                        CFG[i].se > 0 && a.se_ratio > 0 ? a.se_ratio : CFG[i].se, i > 1, a.branches};
        char name[32];
        snprintf(name, sizeof name, "blocks.%d.%d", CFG[i].stage, in_stage);
        x = ghost_bottleneck(g, name, x, b, a.folded);
    }
    int last = CFG[LEN(CFG) - 1].exp;
    x = g_conv_bn(g, "blocks.9.0.conv", "blocks.9.0.bn1", x, make_divisible(last * a.width, 4, 0.9),
                  1, 1, 1, ACT_RELU);
    x = g_act(g, g_conv(g, "conv_head", g_gap(g, x), 1280, 1, 1, 1, true), ACT_RELU);
    if (a.dropout > 0) x = g_dropout(g, x, a.dropout);
    return g_linear(g, "classifier", x, a.num_classes);
}

// ---------------------------------------------------------------------------------------------
// registry: timm's named widths, in percent ("ghostnetv3_130" is width 1.3)

static const int WIDTHS[] = {100, 130, 160};

bool ghostnet_args(const char *name, GhostNetArgs *a)
{
    for (int i = 0; i < LEN(WIDTHS); i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "ghostnetv3_%d", WIDTHS[i]);
        if (strcmp(nm, name) == 0) {
            *a = (GhostNetArgs){WIDTHS[i] / 100.0, 0, 0, 3, 1000, false, 3}; // 1.3 as Python's
            return true;
        }
    }
    return false;
}

const char *ghostnet_names(void)
{
    static char buf[128];
    if (buf[0]) return buf;
    for (int i = 0, at = 0; i < LEN(WIDTHS); i++)
        at += snprintf(buf + at, sizeof buf - (size_t)at, "%sghostnetv3_%d", i ? ", " : "", WIDTHS[i]);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// the family's entry in the registry (models.h): width, SE ratio, dropout, the input and classes,
// and the folded form (reparam); no depth knob and no stochastic depth (timm's has none)

static bool ghostnet_known(const char *name)
{
    GhostNetArgs a;
    return ghostnet_args(name, &a);
}

static int ghostnet_default_res(const char *name) { return 224; }

static int ghostnet_check(const char *name, const ModelKnobs *k)
{
    if (k->drop_path > 0) {
        log_error("model %s: timm's GhostNet has no stochastic depth (drop_path %g): set it to 0",
                  name, k->drop_path);
        return ERR_ARG;
    }
    return 0;
}

// stem and four stride-2 blocks, each ceil(h / 2): the last stage is ceil(res / 32), and its DFC
// attention's 2x2 pool needs 2 rows
static int ghostnet_check_res(const char *name, int res)
{
    if (res < 33) {
        log_error("model %s: res %d is too small: its last stage would be %dx%d, and its DFC attention "
                  "pools 2x2 (valid: res >= 33)", name, res, (res + 31) / 32, (res + 31) / 32);
        return ERR_ARG;
    }
    return 0;
}

static int ghostnet_build_knobs(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    CHECK(k->drop_path == 0, "ghostnet_build: %s has no stochastic depth (model_check first)", name);
    GhostNetArgs ga;
    ghostnet_args(name, &ga);
    ga.width *= k->width;
    ga.se_ratio = k->se_ratio;
    ga.dropout = k->dropout;
    if (k->in_chans > 0) ga.in_chans = k->in_chans;
    if (k->num_classes > 0) ga.num_classes = k->num_classes;
    ga.folded = k->reparam;
    if (k->branches) ga.branches = k->branches;
    return ghostnet_build(g, ga, batch, res);
}

const ModelFamily ghostnet_family = {
    .plural = "GhostNets", .known = ghostnet_known, .names = ghostnet_names, .default_res = ghostnet_default_res,
    .check = ghostnet_check, .check_res = ghostnet_check_res, .build = ghostnet_build_knobs, .fold = ghost_fold,
};
