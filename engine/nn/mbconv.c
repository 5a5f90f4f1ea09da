/* engine/nn/mbconv.c — MobileNet / EfficientNet blocks, stem and heads over graph nodes (mbconv.h).
 *
 * Each block is a few conv-BN(-act) pairs named as timm's modules, an optional squeeze-excitation
 * and an optional residual with drop-path; the graph's nodes do the rest (depthwise = groups C).
 */
#include "mbconv.h"

#include <stdio.h> // snprintf

// "<prefix>.<leaf>", or the leaf alone for prefix ""
static void path(char out[64], const char *prefix, const char *leaf)
{
    if (prefix[0]) snprintf(out, 64, "%s.%s", prefix, leaf);
    else snprintf(out, 64, "%s", leaf);
}

int mb_conv_bn(Graph *g, const char *prefix, const char *conv, const char *bn, int x, int oc,
               int k, int stride, int groups, ActKind act)
{
    char c[64], b[64];
    path(c, prefix, conv);
    path(b, prefix, bn);
    x = g_bn(g, b, g_conv(g, c, x, oc, k, stride, groups, false));
    return act == ACT_NONE ? x : g_act(g, x, act);
}

int mb_se(Graph *g, const char *prefix, int x, MbSe se)
{
    if (se.rd <= 0) return x;
    char r[64], e[64];
    snprintf(r, sizeof r, "%s.se.conv_reduce", prefix);
    snprintf(e, sizeof e, "%s.se.conv_expand", prefix);
    int c = graph_shape(g, x).c;
    int s = g_act(g, g_conv(g, r, g_gap(g, x), se.rd, 1, 1, 1, true), se.act);
    s = g_act(g, g_conv(g, e, s, c, 1, 1, 1, true), se.gate);
    return g_chanmul(g, x, s);
}

// depthwise kxk/stride - BN [- act] as UIR's "<prefix>.<module>.conv/.bn"; k 0: x unchanged
static int uir_dw(Graph *g, const char *prefix, const char *module, int x, int k, int stride,
                  ActKind act)
{
    if (!k) return x;
    char m[64];
    snprintf(m, sizeof m, "%s.%s", prefix, module);
    int c = graph_shape(g, x).c;
    return mb_conv_bn(g, m, "conv", "bn", x, c, k, stride, c, act);
}

// the UIB: the stride goes to dw_mid when it exists, else dw_start, else dw_end (timm)
static int uir(Graph *g, const char *p, int x, const MbBlock *b)
{
    CHECK(b->stride == 1 || b->k_start || b->k || b->k_end, "mbconv: %s: a strided UIB needs a "
          "depthwise conv (k_start, k, k_end all 0)", p);
    int s_start = b->k ? 1 : b->stride, s_end = b->k_start || b->k ? 1 : b->stride;
    char m[64];
    x = uir_dw(g, p, "dw_start", x, b->k_start, s_start, ACT_NONE);
    snprintf(m, sizeof m, "%s.pw_exp", p);
    x = mb_conv_bn(g, m, "conv", "bn", x, b->mid, 1, 1, 1, b->act);
    x = uir_dw(g, p, "dw_mid", x, b->k, b->stride, b->act);
    x = mb_se(g, p, x, b->se);
    snprintf(m, sizeof m, "%s.pw_proj", p);
    x = mb_conv_bn(g, m, "conv", "bn", x, b->out, 1, 1, 1, ACT_NONE);
    return uir_dw(g, p, "dw_end", x, b->k_end, s_end, ACT_NONE);
}

int mb_block(Graph *g, const char *prefix, int x, const MbBlock *b)
{
    Shape4 xs = graph_shape(g, x);
    CHECK(b->out > 0 && (b->stride == 1 || b->stride == 2), "mbconv: %s: out %d stride %d",
          prefix, b->out, b->stride);
    CHECK(b->kind == MB_CN || b->kind == MB_DS || b->mid > 0, "mbconv: %s: mid channels %d",
          prefix, b->mid);
    int y;
    switch (b->kind) {
    case MB_CN:
        y = mb_conv_bn(g, prefix, "conv", "bn1", x, b->out, b->k, b->stride, 1, b->act);
        break;
    case MB_DS:
        y = mb_conv_bn(g, prefix, "conv_dw", "bn1", x, xs.c, b->k, b->stride, xs.c, b->act);
        y = mb_se(g, prefix, y, b->se);
        y = mb_conv_bn(g, prefix, "conv_pw", "bn2", y, b->out, 1, 1, 1, b->pw_act ? b->act : ACT_NONE);
        break;
    case MB_IR:
        y = mb_conv_bn(g, prefix, "conv_pw", "bn1", x, b->mid, 1, 1, 1, b->act);
        y = mb_conv_bn(g, prefix, "conv_dw", "bn2", y, b->mid, b->k, b->stride, b->mid, b->act);
        y = mb_se(g, prefix, y, b->se);
        y = mb_conv_bn(g, prefix, "conv_pwl", "bn3", y, b->out, 1, 1, 1, ACT_NONE);
        break;
    case MB_ER:
        y = mb_conv_bn(g, prefix, "conv_exp", "bn1", x, b->mid, b->k, b->stride, 1, b->act);
        y = mb_se(g, prefix, y, b->se);
        y = mb_conv_bn(g, prefix, "conv_pwl", "bn2", y, b->out, 1, 1, 1, ACT_NONE);
        break;
    case MB_UIR: y = uir(g, prefix, x, b); break;
    default: CHECK(false, "mbconv: %s: unknown block kind %d", prefix, (int)b->kind);
    }
    if (!b->skip || b->stride != 1 || xs.c != b->out) return y;
    if (b->drop_path > 0) y = g_droppath(g, y, b->drop_path);
    return g_add(g, y, x);
}

int mb_stem(Graph *g, int x, int chs, ActKind act)
{
    return mb_conv_bn(g, "", "conv_stem", "bn1", x, chs, 3, 2, 1, act);
}

int mb_head(Graph *g, int x, MbHead head, int chs, ActKind act, float dropout, int num_classes)
{
    CHECK(chs > 0 || head == MB_HEAD_EFFNET, "mbconv: head %d needs conv_head channels (got %d)",
          (int)head, chs);
    if (head == MB_HEAD_EFFNET && chs > 0) x = mb_conv_bn(g, "", "conv_head", "bn2", x, chs, 1, 1, 1, act);
    x = g_gap(g, x);
    if (head == MB_HEAD_MNV3) x = g_act(g, g_conv(g, "conv_head", x, chs, 1, 1, 1, true), act);
    if (head == MB_HEAD_MNV4) x = mb_conv_bn(g, "", "conv_head", "norm_head", x, chs, 1, 1, 1, act);
    if (dropout > 0) x = g_dropout(g, x, dropout);
    return g_linear(g, "classifier", x, num_classes);
}
