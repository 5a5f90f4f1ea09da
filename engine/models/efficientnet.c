/* engine/models/efficientnet.c — timm's EfficientNetBuilder over block strings, and the EfficientNet
 * and EfficientNetV2 configurations (efficientnet.h).
 *
 * Follows timm/models/_efficientnet_builder.py: _decode_block_str (the strings), _scale_stage_depth
 * (depth: ceil(repeats * multiplier) per stage, handed back to the stage's block strings in
 * reverse, rounding half to even as Python's round), round_channels / make_divisible (width),
 * EfficientNetBuilder._make_block (output channels through round_chs_fn, SE ratio over the
 * expansion unless se_from_exp, drop-path rate * block index / block count, stride on a stage's
 * first block only), and the stems and heads of timm's EfficientNet and MobileNetV3 classes.
 * Multipliers are doubles as in Python, so products and roundings land where timm's do.
 */
#include "efficientnet.h"

#include "models.h" // ModelFamily: the registry's entry

#include <math.h>   // ceil, rint
#include <stdio.h>  // snprintf
#include <stdlib.h> // strtod
#include <string.h> // strcmp, strncmp, strcat

// round_chs_fn: channels c scaled by the width multiplier
static int round_chs(const EffNetArgs *a, int c) { return make_divisible(c * a->width, 8, a->round_limit); }

// ---------------------------------------------------------------------------------------------
// block strings

typedef struct {
    MbKind  kind;
    int     r, k, a, p, s, c;  // repeats, kernel, uir start/end kernels, stride, channels
    double  e, se;             // expansion, SE ratio
    bool    dsa, skip, noskip; // "dsa": ds with pointwise act and no skip; "skip", "noskip"
    bool    own_act;
    ActKind act;
} BlockDef;

// one block string, str[0 .. len), as timm's _decode_block_str
static BlockDef parse_block(const char *str, int len)
{
    BlockDef d = {.r = -1, .k = -1, .s = -1, .c = -1, .e = 1};
    char tok[32];
    bool first = true;
    for (int at = 0; at < len;) {
        int n = 0;
        while (at + n < len && str[at + n] != '_') n++;
        CHECK(n > 0 && n < (int)sizeof tok, "effnet: bad block string '%.*s'", len, str);
        snprintf(tok, sizeof tok, "%.*s", n, str + at);
        at += n + 1;
        if (first) {
            static const char *kinds[] = {"cn", "ds", "ir", "er", "uir"};
            d.dsa = strcmp(tok, "dsa") == 0;
            d.kind = d.dsa ? MB_DS : (MbKind)-1;
            for (int i = 0; i < LEN(kinds); i++)
                if (!strcmp(tok, kinds[i])) d.kind = (MbKind)i;
            CHECK((int)d.kind >= 0, "effnet: '%.*s': unknown block type '%s' (cn, ds, dsa, ir, er, "
                  "uir)", len, str, tok);
            first = false;
            continue;
        }
        if (!strcmp(tok, "skip")) { d.skip = true; continue; }
        if (!strcmp(tok, "noskip")) { d.noskip = true; continue; }
        if (tok[0] == 'n') {
            static const struct { const char *s; ActKind a; } acts[] = {
                {"re", ACT_RELU}, {"r6", ACT_RELU6}, {"hs", ACT_HSWISH}, {"sw", ACT_SILU}};
            for (int i = 0; i < LEN(acts) && !d.own_act; i++)
                if (!strcmp(tok + 1, acts[i].s)) d.own_act = true, d.act = acts[i].a;
            CHECK(d.own_act, "effnet: '%.*s': unknown activation '%s' (nre, nr6, nhs, nsw)", len, str, tok);
            continue;
        }
        int kl = 0;
        while (tok[kl] && (tok[kl] < '0' || tok[kl] > '9')) kl++;
        char *end;
        double v = strtod(tok + kl, &end);
        CHECK(kl > 0 && end != tok + kl && !*end, "effnet: '%.*s': bad option '%s'", len, str, tok);
        if (kl == 1 && tok[0] == 'r') d.r = (int)v;
        else if (kl == 1 && tok[0] == 'k') d.k = (int)v;
        else if (kl == 1 && tok[0] == 'a') d.a = (int)v;
        else if (kl == 1 && tok[0] == 'p') d.p = (int)v;
        else if (kl == 1 && tok[0] == 's') d.s = (int)v;
        else if (kl == 1 && tok[0] == 'c') d.c = (int)v;
        else if (kl == 1 && tok[0] == 'e') d.e = v;
        else if (kl == 2 && !strncmp(tok, "se", 2)) d.se = v;
        else CHECK(false, "effnet: '%.*s': unknown option '%s' (r k a p s c e se n.. skip noskip)",
                   len, str, tok);
    }
    CHECK(d.r > 0 && d.k >= 0 && d.s > 0 && d.c > 0 && d.e > 0 && (d.kind == MB_UIR || d.k > 0) &&
              (d.kind == MB_UIR || (d.a == 0 && d.p == 0)),
          "effnet: '%.*s': needs r, k, s, c (and e > 0); a and p are UIB options", len, str);
    return d;
}

// EfficientNetV2's boundary: a MBConv-family block (ir, er, ds, cn with skip) as Fused-MBConv or
// as MBConv
static void set_fused(BlockDef *d, bool fused)
{
    bool mbconv = d->kind == MB_IR || d->kind == MB_ER || (d->kind == MB_DS && !d->dsa) ||
                  (d->kind == MB_CN && d->skip);
    if (!mbconv) return;
    bool e1 = d->kind == MB_DS || d->kind == MB_CN || d->e == 1;
    d->kind = fused ? (e1 ? MB_CN : MB_ER) : (e1 ? MB_DS : MB_IR);
    d->skip = d->kind == MB_CN;
    if (d->kind == MB_CN) d->se = 0; // timm's ConvBnAct has no SE
}

enum { MAX_DEFS = 16 };
typedef struct { BlockDef def[MAX_DEFS]; int reps[MAX_DEFS], n; } Stage;

// a stage's strings, repeats scaled by `mult` as _scale_stage_depth with depth_trunc 'ceil'
static void decode_stage(const char *s, double mult, Stage *st)
{
    st->n = 0;
    int total = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        int len = 0;
        while (p[len] && p[len] != ' ') len++;
        if (!len) break;
        CHECK(st->n < MAX_DEFS, "effnet: stage '%s' has more than %d block strings", s, MAX_DEFS);
        st->def[st->n] = parse_block(p, len);
        total += st->def[st->n++].r;
        p += len;
    }
    CHECK(st->n > 0, "effnet: empty stage string");
    int scaled = (int)ceil(total * mult);
    for (int i = st->n - 1; i >= 0; i--) { // in reverse: the first string is the last to grow
        int r = st->def[i].r, rs = MAX(1, (int)rint((double)r / total * scaled));
        st->reps[i] = rs;
        total -= r;
        scaled -= rs;
    }
}

// ---------------------------------------------------------------------------------------------
// the builder

// the block of string d with input channels in (EfficientNetBuilder._make_block)
static MbBlock make_block(const EffNetArgs *a, const BlockDef *d, int in, int stride, float dpr)
{
    MbBlock b = {.kind = d->kind, .out = round_chs(a, d->c), .stride = stride, .k = d->k,
                 .k_start = d->a, .k_end = d->p, .pw_act = d->dsa, .act = d->own_act ? d->act : a->act,
                 .drop_path = dpr};
    b.skip = d->kind == MB_CN ? d->skip : !d->noskip && !d->dsa;
    bool expands = d->kind == MB_IR || d->kind == MB_ER || d->kind == MB_UIR;
    if (expands) b.mid = make_divisible(in * d->e, 8, 0.9);
    double se = d->se > 0 && a->se_ratio > 0 ? a->se_ratio : d->se;
    if (se > 0 && d->kind != MB_CN) {
        int chs = expands ? b.mid : in;
        if (a->se_style == EFFNET_SE_IN)
            b.se = (MbSe){(int)rint(chs * (se / (expands ? d->e : 1.0))), b.act, ACT_SIGMOID};
        else
            b.se = (MbSe){make_divisible(chs * se, 8, 0.9), ACT_RELU, ACT_HSIGMOID};
    }
    return b;
}

int effnet_build(Graph *g, const EffNetArgs *a, int batch, int res)
{
    CHECK(a->width > 0 && a->depth > 0 && a->in_chans > 0 && a->num_classes > 0 && a->stem > 0,
          "effnet_build: width %g depth %g in_chans %d classes %d stem %d", a->width, a->depth,
          a->in_chans, a->num_classes, a->stem);
    int n_stages = 0;
    while (n_stages < LEN(a->arch) && a->arch[n_stages]) n_stages++;
    CHECK(n_stages > 0 && a->fused_stages <= n_stages, "effnet_build: %d stages, fused_stages %d",
          n_stages, a->fused_stages);
    Stage st[LEN(a->arch)];
    int total = 0;
    for (int s = 0; s < n_stages; s++) {
        bool fixed = a->fix_first_last && (s == 0 || s == n_stages - 1);
        decode_stage(a->arch[s], fixed ? 1.0 : a->depth, &st[s]);
        for (int i = 0; i < st[s].n; i++) {
            if (a->fused_stages >= 0) set_fused(&st[s].def[i], s < a->fused_stages);
            total += st[s].reps[i];
        }
    }
    g->init_goog = true;
    int x = g_input(g, (Shape4){batch, res, res, a->in_chans});
    x = mb_stem(g, x, a->width < a->stem_fixed_below ? a->stem : round_chs(a, a->stem), a->act);
    int idx = 0;
    for (int s = 0; s < n_stages; s++)
        for (int i = 0, b = 0; i < st[s].n; i++)
            for (int r = 0; r < st[s].reps[i]; r++, b++, idx++) {
                char prefix[32];
                snprintf(prefix, sizeof prefix, "blocks.%d.%d", s, b);
                float dpr = (float)(a->drop_path * (double)idx / total);
                MbBlock blk = make_block(a, &st[s].def[i], graph_shape(g, x).c, b ? 1 : st[s].def[i].s, dpr);
                x = mb_block(g, prefix, x, &blk);
            }
    int head = a->head_chs;
    if (a->head_scale == EFFNET_HEAD_SCALED) head = round_chs(a, head);
    if (a->head_scale == EFFNET_HEAD_AT_LEAST) head = MAX(head, round_chs(a, head));
    return mb_head(g, x, a->head, head, a->act, a->dropout, a->num_classes);
}

bool effnet_has_se(const EffNetArgs *a)
{
    for (int s = 0; s < LEN(a->arch) && a->arch[s]; s++) {
        Stage st;
        decode_stage(a->arch[s], 1.0, &st);
        for (int i = 0; i < st.n; i++)
            if (st.def[i].se > 0) return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// registry: EfficientNet B0-B7 (Tan & Le 2019; timm's _gen_efficientnet, Table: width, depth,
// resolution per model) and EfficientNetV2-S/M/L (Tan & Le 2021; timm's _gen_efficientnetv2_*,
// resolutions the paper's evaluation sizes)

#define EFFNET_CLASS(w, d) .width = w, .depth = d, .round_limit = 0.9, .head = MB_HEAD_EFFNET, \
    .se_style = EFFNET_SE_IN, .act = ACT_SILU, .in_chans = 3, .num_classes = 1000
#define B_ARCH "ds_r1_k3_s1_e1_c16_se0.25", "ir_r2_k3_s2_e6_c24_se0.25", \
    "ir_r2_k5_s2_e6_c40_se0.25", "ir_r3_k3_s2_e6_c80_se0.25", "ir_r3_k5_s1_e6_c112_se0.25", \
    "ir_r4_k5_s2_e6_c192_se0.25", "ir_r1_k3_s1_e6_c320_se0.25"
#define EFFNET_B(w, d) {EFFNET_CLASS(w, d), .arch = {B_ARCH}, .stem = 32, \
    .head_chs = 1280, .head_scale = EFFNET_HEAD_SCALED, .fused_stages = 0}
#define EFFNET_V2(stem_chs, scale) EFFNET_CLASS(1, 1), .stem = stem_chs, .head_chs = 1280, \
    .head_scale = scale, .fused_stages = 3

const EffNetNamed efficientnet_models[] = {
    {"efficientnet_b0", 224, EFFNET_B(1.0, 1.0)},
    {"efficientnet_b1", 240, EFFNET_B(1.0, 1.1)},
    {"efficientnet_b2", 260, EFFNET_B(1.1, 1.2)},
    {"efficientnet_b3", 300, EFFNET_B(1.2, 1.4)},
    {"efficientnet_b4", 380, EFFNET_B(1.4, 1.8)},
    {"efficientnet_b5", 456, EFFNET_B(1.6, 2.2)},
    {"efficientnet_b6", 528, EFFNET_B(1.8, 2.6)},
    {"efficientnet_b7", 600, EFFNET_B(2.0, 3.1)},
    {"efficientnetv2_s", 384, {EFFNET_V2(24, EFFNET_HEAD_SCALED),
        .arch = {"cn_r2_k3_s1_e1_c24_skip", "er_r4_k3_s2_e4_c48", "er_r4_k3_s2_e4_c64",
                 "ir_r6_k3_s2_e4_c128_se0.25", "ir_r9_k3_s1_e6_c160_se0.25",
                 "ir_r15_k3_s2_e6_c256_se0.25"}}},
    {"efficientnetv2_m", 480, {EFFNET_V2(24, EFFNET_HEAD_FIXED),
        .arch = {"cn_r3_k3_s1_e1_c24_skip", "er_r5_k3_s2_e4_c48", "er_r5_k3_s2_e4_c80",
                 "ir_r7_k3_s2_e4_c160_se0.25", "ir_r14_k3_s1_e6_c176_se0.25",
                 "ir_r18_k3_s2_e6_c304_se0.25", "ir_r5_k3_s1_e6_c512_se0.25"}}},
    {"efficientnetv2_l", 480, {EFFNET_V2(32, EFFNET_HEAD_FIXED),
        .arch = {"cn_r4_k3_s1_e1_c32_skip", "er_r7_k3_s2_e4_c64", "er_r7_k3_s2_e4_c96",
                 "ir_r10_k3_s2_e4_c192_se0.25", "ir_r19_k3_s1_e6_c224_se0.25",
                 "ir_r25_k3_s2_e6_c384_se0.25", "ir_r7_k3_s1_e6_c640_se0.25"}}},
};
const int efficientnet_models_count = LEN(efficientnet_models);

static const EffNetNamed *find(const char *name)
{
    for (int i = 0; i < efficientnet_models_count; i++)
        if (!strcmp(efficientnet_models[i].name, name)) return &efficientnet_models[i];
    for (int i = 0; i < mobilenet_models_count; i++)
        if (!strcmp(mobilenet_models[i].name, name)) return &mobilenet_models[i];
    return NULL;
}

bool effnet_args(const char *name, EffNetArgs *a, int *res)
{
    const EffNetNamed *m = find(name);
    if (!m) return false;
    *a = m->a;
    if (res) *res = m->res;
    return true;
}

const char *effnet_names(void)
{
    static char buf[1024];
    if (!buf[0]) {
        const EffNetNamed *t[2] = {mobilenet_models, efficientnet_models};
        int n[2] = {mobilenet_models_count, efficientnet_models_count};
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < n[k]; i++) {
                if (buf[0]) strcat(buf, ", ");
                strcat(buf, t[k][i].name);
            }
    }
    return buf;
}

// ---------------------------------------------------------------------------------------------
// the family's entry in the registry (models.h): every knob, the depth multiplier and the
// Fused-MBConv boundary included

static bool effnet_known(const char *name)
{
    EffNetArgs a;
    return effnet_args(name, &a, NULL);
}

static int effnet_default_res(const char *name)
{
    EffNetArgs a;
    int res = 0;
    effnet_args(name, &a, &res);
    return res;
}

static int effnet_check(const char *name, const ModelKnobs *k)
{
    EffNetArgs e = {0};
    effnet_args(name, &e, NULL);
    int stages = 0;
    while (stages < LEN(e.arch) && e.arch[stages]) stages++;
    if (k->fused_stages != -1 && (e.fused_stages < 0 || k->fused_stages < 0 || k->fused_stages > stages)) {
        log_error("model %s: fused_stages %d: %s", name, k->fused_stages, e.fused_stages < 0
                  ? "only the EfficientNet family (efficientnet_*) has a Fused-MBConv boundary"
                  : "expected -1 (the model's own) or 0 .. the model's stage count");
        if (e.fused_stages >= 0) log_error("model %s has %d stages", name, stages);
        return ERR_ARG;
    }
    if (k->se_ratio > 0 && !effnet_has_se(&e)) {
        log_error("model %s has no squeeze-excitation blocks for se_ratio %g to change (models with "
                  "SE: efficientnet_*, mobilenetv3_*)", name, k->se_ratio);
        return ERR_ARG;
    }
    return 0;
}

// a float knob as the decimal it was written as (1.1f -> 1.1), so that timm's double arithmetic
// (channels * 1.1, ceil(repeats * 1.2)) rounds here as it does there
static double decimal(float v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", v);
    return strtod(buf, NULL);
}

static int effnet_build_knobs(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    EffNetArgs e;
    effnet_args(name, &e, NULL);
    if (k->width != 1) e.width *= decimal(k->width);
    if (k->depth != 1) e.depth *= decimal(k->depth);
    if (k->se_ratio > 0) e.se_ratio = decimal(k->se_ratio);
    if (k->fused_stages >= 0) e.fused_stages = k->fused_stages;
    e.dropout = k->dropout;
    e.drop_path = k->drop_path;
    if (k->in_chans > 0) e.in_chans = k->in_chans;
    if (k->num_classes > 0) e.num_classes = k->num_classes;
    return effnet_build(g, &e, batch, res);
}

const ModelFamily effnet_family = {
    .plural = "EfficientNets", .known = effnet_known, .names = effnet_names, .default_res = effnet_default_res,
    .takes_depth = true, .takes_fused_stages = true, .check = effnet_check, .build = effnet_build_knobs,
};
