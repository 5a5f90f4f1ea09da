/* engine/models/resnet.c — ResNet, ResNet-D, SE-ResNet, ResNet-RS and the CIFAR ResNets.
 *
 * Follows timm's timm/models/resnet.py (module names included, so parameter names match its
 * state dict): BasicBlock conv3x3(s)-BN-ReLU-conv3x3-BN; Bottleneck conv1x1-BN-ReLU-conv3x3(s)-
 * BN-ReLU-conv1x1(x4)-BN with the stride on the 3x3; SE (SEModule: 1x1 conv with bias to
 * make_divisible(C*ratio, 8), ReLU, 1x1 conv back, sigmoid) after the last BN; drop-path on the
 * residual branch; shortcut conv1x1(s)+BN, or for ResNet-D AvgPool2d(2, s, ceil, exclude pad) +
 * conv1x1 + BN; stems 7x7/2 + maxpool, deep (3x3/2 32, 3x3 32, 3x3 64) + maxpool or, for
 * ResNet-RS, a 3x3/2 conv+BN+ReLU in place of the max-pool. CIFAR-style (He et al. 2016 §4.2):
 * 3x3 16 stem, three stages 16/32/64, and on the blocks that change shape either projection
 * shortcuts (option B: resnet20..110, timm's conv1x1(s)+BN) or, as the paper's CIFAR nets,
 * option A (resnet20a..110a): x[:, ::2, ::2] zero-padded on channels, x's channels at offset
 * (OC - C)/2 with zeros before and after, as akamaster/pytorch_resnet_cifar10's
 * F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes//4, planes//4)) — no parameters (ResNet-20:
 * 269,722 for 10 classes). The subsampling is avgpool 1x1/s, a one-element window divided by 1,
 * so it is exact and, unlike a max-pool, its backward needs no saved input; then chanpad.
 */
#include "resnet.h"

#include "models.h" // ModelFamily: the registry's entry

#include <string.h> // strcmp

static int scaled(int c, float width)
{
    return width == 1.0f ? c : make_divisible(c * width, 8, 0); // timm: round_limit 0
}

static int conv_bn(Graph *g, const char *conv, const char *bn, int x, int oc, int k, int s, bool act)
{
    return g_conv_bn(g, conv, bn, x, oc, k, s, 1, act ? ACT_RELU : ACT_NONE);
}

static int squeeze_excite(Graph *g, const char *prefix, int x, float ratio)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%s.se.fc1", prefix);
    snprintf(b, sizeof b, "%s.se.fc2", prefix);
    return g_se(g, a, b, x, make_divisible(graph_shape(g, x).c * ratio, 8, 0), ACT_RELU, ACT_SIGMOID);
}

// one block "layer{s+1}.{b}"; returns its output
static int block(Graph *g, ResNetArgs a, int x, int s, int b, int planes, int stride, float dpr)
{
    char p[48], n1[64], n2[64];
    snprintf(p, sizeof p, "layer%d.%d", s + 1, b);
    int out_c = a.bottleneck ? planes * 4 : planes, in_c = graph_shape(g, x).c, y;
#define NAME2(buf1, buf2, l1, l2) (snprintf(buf1, 64, "%s." l1, p), snprintf(buf2, 64, "%s." l2, p))
    if (a.bottleneck) {
        NAME2(n1, n2, "conv1", "bn1");
        y = conv_bn(g, n1, n2, x, planes, 1, 1, true);
        NAME2(n1, n2, "conv2", "bn2");
        y = conv_bn(g, n1, n2, y, planes, 3, stride, true);
        NAME2(n1, n2, "conv3", "bn3");
        y = conv_bn(g, n1, n2, y, out_c, 1, 1, false);
    } else {
        NAME2(n1, n2, "conv1", "bn1");
        y = conv_bn(g, n1, n2, x, planes, 3, stride, true);
        NAME2(n1, n2, "conv2", "bn2");
        y = conv_bn(g, n1, n2, y, out_c, 3, 1, false);
    }
    g->node[g->n_node - 1].zero_init = a.zero_init_last; // the branch's last BN
    if (a.se_ratio > 0) y = squeeze_excite(g, p, y, a.se_ratio);
    if (dpr > 0) y = g_droppath(g, y, dpr);
    int sc = x;
    if (stride != 1 || in_c != out_c) {
        if (a.shortcut_a) {
            CHECK(out_c >= in_c, "resnet: %s: an option-A shortcut cannot drop channels (%d -> %d)",
                  p, in_c, out_c);
            if (stride != 1) sc = g_avgpool(g, sc, 1, stride, 0, false, true); // x[:, ::s, ::s]
            sc = g_chanpad(g, sc, (out_c - in_c) / 2, out_c - in_c - (out_c - in_c) / 2);
        } else if (a.avg_down) {
            if (stride != 1) sc = g_avgpool(g, sc, 2, stride, 0, true, false);
            NAME2(n1, n2, "downsample.1", "downsample.2");
            sc = conv_bn(g, n1, n2, sc, out_c, 1, 1, false);
        } else {
            NAME2(n1, n2, "downsample.0", "downsample.1");
            sc = conv_bn(g, n1, n2, sc, out_c, 1, stride, false);
        }
    }
#undef NAME2
    return g_act(g, g_add(g, y, sc), ACT_RELU);
}

int resnet_build(Graph *g, ResNetArgs a, int batch, int res)
{
    CHECK(a.stages >= 1 && a.stages <= 4 && a.in_chans > 0 && a.num_classes > 0 && a.width > 0,
          "resnet_build: stages %d in_chans %d classes %d width %g", a.stages, a.in_chans,
          a.num_classes, a.width);
    CHECK(!(a.shortcut_a && a.avg_down), "resnet_build: shortcut_a and avg_down are two kinds of "
          "shortcut: choose one");
    int x = g_input(g, (Shape4){batch, res, res, a.in_chans});
    int base = scaled(a.base, a.width);
    if (a.stem == STEM_CIFAR) {
        x = conv_bn(g, "conv1", "bn1", x, base, 3, 1, true);
    } else {
        if (a.stem == STEM_DEEP) {
            int sw = scaled(a.stem_width, a.width);
            x = conv_bn(g, "conv1.0", "conv1.1", x, sw, 3, 2, true);
            x = conv_bn(g, "conv1.3", "conv1.4", x, sw, 3, 1, true);
            x = conv_bn(g, "conv1.6", "bn1", x, 2 * sw, 3, 1, true);
        } else {
            x = conv_bn(g, "conv1", "bn1", x, base, 7, 2, true);
        }
        if (a.replace_stem_pool) {
            int c = graph_shape(g, x).c;
            x = conv_bn(g, "maxpool.0", "maxpool.1", x, c, 3, 2, true);
        } else {
            x = g_maxpool(g, x, 3, 2, 1);
        }
    }
    int total = 0, idx = 0;
    for (int s = 0; s < a.stages; s++) total += a.layers[s];
    for (int s = 0; s < a.stages; s++)
        for (int b = 0; b < a.layers[s]; b++, idx++) {
            float dpr = total > 1 ? a.drop_path * idx / (total - 1) : 0; // timm: rises linearly
            int planes = a.channels[s] ? scaled(a.channels[s], a.width) : base << s;
            x = block(g, a, x, s, b, planes, b == 0 && s > 0 ? 2 : 1, dpr);
        }
    x = g_gap(g, x);
    if (a.dropout > 0) x = g_dropout(g, x, a.dropout);
    return g_linear(g, "fc", x, a.num_classes);
}

// ---------------------------------------------------------------------------------------------
// registry

typedef struct { const char *name; ResNetArgs a; } Named;

#define IMAGENET(l0, l1, l2, l3, bott) \
    .stages = 4, .layers = {l0, l1, l2, l3}, .bottleneck = bott, .base = 64, .width = 1, \
    .in_chans = 3, .num_classes = 1000, .zero_init_last = true
#define RS .stem = STEM_DEEP, .stem_width = 32, .replace_stem_pool = true, .avg_down = true, \
    .se_ratio = 0.25f
#define CIFAR(n, bott) \
    .stages = 3, .layers = {n, n, n}, .bottleneck = bott, .base = 16, .width = 1, \
    .stem = STEM_CIFAR, .in_chans = 3, .num_classes = 10

static const Named registry[] = {
    {"resnet18", {IMAGENET(2, 2, 2, 2, false)}},
    {"resnet34", {IMAGENET(3, 4, 6, 3, false)}},
    {"resnet50", {IMAGENET(3, 4, 6, 3, true)}},
    {"resnet101", {IMAGENET(3, 4, 23, 3, true)}},
    {"resnet152", {IMAGENET(3, 8, 36, 3, true)}},
    {"resnet200", {IMAGENET(3, 24, 36, 3, true)}},
    {"resnet50d", {IMAGENET(3, 4, 6, 3, true), .stem = STEM_DEEP, .stem_width = 32, .avg_down = true}},
    {"resnetrs50", {IMAGENET(3, 4, 6, 3, true), RS}},
    {"resnetrs101", {IMAGENET(3, 4, 23, 3, true), RS}},
    {"resnetrs152", {IMAGENET(3, 8, 36, 3, true), RS}},
    {"resnetrs200", {IMAGENET(3, 24, 36, 3, true), RS}},
    {"resnetrs270", {IMAGENET(4, 29, 53, 4, true), RS}},
    {"resnetrs350", {IMAGENET(4, 36, 72, 4, true), RS}},
    {"resnetrs420", {IMAGENET(4, 44, 87, 4, true), RS}},
    // He et al. 2016 §4.2: depth 6n+2 with basic blocks
    {"resnet20", {CIFAR(3, false)}},
    {"resnet32", {CIFAR(5, false)}},
    {"resnet44", {CIFAR(7, false)}},
    {"resnet56", {CIFAR(9, false)}},
    {"resnet110", {CIFAR(18, false)}},
    // option A, the paper's CIFAR nets: parameter-free shortcuts (0.27M ... 1.7M parameters)
    {"resnet20a", {CIFAR(3, false), .shortcut_a = true}},
    {"resnet32a", {CIFAR(5, false), .shortcut_a = true}},
    {"resnet44a", {CIFAR(7, false), .shortcut_a = true}},
    {"resnet56a", {CIFAR(9, false), .shortcut_a = true}},
    {"resnet110a", {CIFAR(18, false), .shortcut_a = true}},
    // bottleneck variants, as the Random Erasing code builds depth >= 44 (bearpaw's
    // pytorch-classification: n = (depth - 2) // 9 blocks per stage, so "44" has 4, i.e. 38 layers)
    {"resnet44b", {CIFAR(4, true)}},
    {"resnet56b", {CIFAR(6, true)}},
    {"resnet110b", {CIFAR(12, true)}},
};

bool resnet_args(const char *name, ResNetArgs *a)
{
    for (int i = 0; i < LEN(registry); i++)
        if (strcmp(registry[i].name, name) == 0) {
            *a = registry[i].a;
            return true;
        }
    return false;
}

const char *resnet_names(void)
{
    static char buf[1024];
    if (!buf[0])
        for (int i = 0; i < LEN(registry); i++) {
            strcat(buf, registry[i].name);
            if (i + 1 < LEN(registry)) strcat(buf, ", ");
        }
    return buf;
}

int resnet_default_res(const char *name)
{
    ResNetArgs a;
    return resnet_args(name, &a) && a.stem == STEM_CIFAR ? 32 : 224;
}

// ---------------------------------------------------------------------------------------------
// the family's entry in the registry (models.h): width, dropout, drop-path, SE and the input and
// classes change a named ResNet; its depth is its name

static bool resnet_known(const char *name)
{
    ResNetArgs a;
    return resnet_args(name, &a);
}

static int resnet_build_knobs(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    ResNetArgs a;
    resnet_args(name, &a);
    a.width = k->width;
    a.dropout = k->dropout;
    a.drop_path = k->drop_path;
    if (k->se_ratio > 0) a.se_ratio = k->se_ratio;
    if (k->in_chans > 0) a.in_chans = k->in_chans;
    if (k->num_classes > 0) a.num_classes = k->num_classes;
    return resnet_build(g, a, batch, res);
}

const ModelFamily resnet_family = {
    .plural = "ResNets", .known = resnet_known, .names = resnet_names, .default_res = resnet_default_res,
    .build = resnet_build_knobs,
};
