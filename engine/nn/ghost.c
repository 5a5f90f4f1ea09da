/* engine/nn/ghost.c — GhostNetV3's blocks in both forms, and folding one form into the other.
 *
 * Shapes and names as ghost.h says. The training form of a re-parameterizable conv is built as
 * timm's forward computes it, in its order (scale + skip, then the conv branches one by one), so
 * the sums round alike. Folding works on host copies of both tables in double and uploads the
 * result once: a one-off step at the end of training, not worth a device kernel.
 */
#include "ghost.h"

#include <math.h>   // sqrt
#include <stdarg.h> // va_list
#include <stdio.h>  // vsnprintf
#include <string.h> // strlen, strncmp

// each re-parameterizable conv: its branches' prefix, and the module timm folds them into
static const struct { const char *rpr, *folded; } REP[] = {
    [GHOST_PRIMARY] = {"primary_rpr", "primary_conv.0"},
    [GHOST_CHEAP] = {"cheap_rpr", "cheap_operation.0"},
    [GHOST_DW] = {"dw_rpr", "conv_dw"},
};

// a module path into buf (64 bytes, the table's name length); stops on a longer one
static const char *path(char buf[64], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, 64, fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && n < 64, "ghost: module path '%s...' is longer than 63 characters", buf);
    return buf;
}

static int plus(Graph *g, int sum, int t) { return sum < 0 ? t : g_add(g, sum, t); }

// ---------------------------------------------------------------------------------------------
// the blocks

int ghost_rep_conv(Graph *g, const char *module, GhostRep which, int x, int oc, int k, int stride,
                   int groups, int branches, bool scale, bool skip, bool folded)
{
    CHECK(branches >= 1, "ghost: %s: %d conv branches: expected 1 or more", module, branches);
    const char *r = REP[which].rpr;
    char a[64], b[64];
    if (folded)
        return g_conv(g, path(a, "%s.%s", module, REP[which].folded), x, oc, k, stride, groups, true);
    int sum = -1;
    if (scale)
        sum = g_conv_bn(g, path(a, "%s.%s_scale.conv", module, r),
                        path(b, "%s.%s_scale.bn1", module, r), x, oc, 1, stride, groups, ACT_NONE);
    if (skip) {
        Shape4 xs = graph_shape(g, x);
        CHECK(stride == 1 && oc == xs.c, "ghost: %s: a skip branch needs stride 1 (got %d) and as "
              "many output as input channels (%d, %d)", module, stride, oc, xs.c);
        sum = plus(g, sum, g_bn(g, path(a, "%s.%s_skip", module, r), x));
    }
    for (int i = 0; i < branches; i++)
        sum = plus(g, sum, g_conv_bn(g, path(a, "%s.%s_conv.%d.conv", module, r, i),
                                     path(b, "%s.%s_conv.%d.bn1", module, r, i), x, oc, k, stride,
                                     groups, ACT_NONE));
    return sum;
}

// DFC attention: y (N,H,W,C) * nearest_upsample(sigmoid(short_conv(avgpool 2x2/2 (x)))), x the
// module's input; timm pools with floor, so an odd H upsamples H/2 rows back to H (3 -> 7 at 224)
static int dfc_attention(Graph *g, const char *prefix, int x, int y)
{
    Shape4 xs = graph_shape(g, x), ys = graph_shape(g, y);
    CHECK(xs.h >= 2 && xs.w >= 2, "ghost: %s: DFC attention pools its %dx%d input 2x2, which "
          "needs 2x2 or more (PyTorch stops there too): give the model a larger input (GhostNet: "
          "res >= 33)", prefix, xs.h, xs.w);
    char a[64], b[64];
    int r = g_avgpool(g, x, 2, 2, 0, false, true);
    r = g_conv_bn(g, path(a, "%s.short_conv.0", prefix), path(b, "%s.short_conv.1", prefix), r,
                  ys.c, 1, 1, 1, ACT_NONE);
    r = g_conv_hw(g, path(a, "%s.short_conv.2", prefix), r, ys.c, 1, 5, 1, ys.c, false);
    r = g_bn(g, path(b, "%s.short_conv.3", prefix), r);
    r = g_conv_hw(g, path(a, "%s.short_conv.4", prefix), r, ys.c, 5, 1, 1, ys.c, false);
    r = g_bn(g, path(b, "%s.short_conv.5", prefix), r);
    r = g_resize(g, g_act(g, r, ACT_SIGMOID), ys.h, ys.w, RESIZE_NEAREST);
    return g_mul(g, y, r);
}

int ghost_module(Graph *g, const char *prefix, int x, int out, bool relu, bool dfc, int branches, bool folded)
{
    CHECK(out > 0 && out % 2 == 0, "ghost: %s: %d output channels: the module concatenates two "
          "equal halves (timm's ratio 2), so it needs an even count", prefix, out);
    int init = out / 2;
    int x1 = ghost_rep_conv(g, prefix, GHOST_PRIMARY, x, init, 1, 1, 1, branches, false, false, folded);
    if (relu) x1 = g_act(g, x1, ACT_RELU);
    int x2 = ghost_rep_conv(g, prefix, GHOST_CHEAP, x1, init, 3, 1, init, branches, true, true, folded);
    if (relu) x2 = g_act(g, x2, ACT_RELU);
    int y = g_concat(g, x1, x2);
    return dfc ? dfc_attention(g, prefix, x, y) : y;
}

int ghost_bottleneck(Graph *g, const char *prefix, int x, GhostBlock b, bool folded)
{
    CHECK(b.mid > 0 && b.out > 0 && b.k > 0 && b.stride > 0 && b.se_ratio >= 0 && b.branches >= 1,
          "ghost: %s: mid %d out %d k %d stride %d se %g branches %d: sizes must be positive", prefix,
          b.mid, b.out, b.k, b.stride, b.se_ratio, b.branches);
    char a[64], c[64];
    int in = graph_shape(g, x).c;
    int y = ghost_module(g, path(a, "%s.ghost1", prefix), x, b.mid, true, b.dfc, b.branches, folded);
    if (b.stride > 1)
        y = ghost_rep_conv(g, prefix, GHOST_DW, y, b.mid, b.k, b.stride, b.mid, b.branches, true, false, folded);
    if (b.se_ratio > 0)
        y = g_se(g, path(a, "%s.se.conv_reduce", prefix), path(c, "%s.se.conv_expand", prefix), y,
                 make_divisible(b.mid * (double)b.se_ratio, 4, 0.9), ACT_RELU, ACT_HSIGMOID);
    y = ghost_module(g, path(a, "%s.ghost2", prefix), y, b.out, false, false, b.branches, folded);
    int sc = x;
    if (b.stride != 1 || in != b.out) {
        sc = g_conv_bn(g, path(a, "%s.shortcut.0", prefix), path(c, "%s.shortcut.1", prefix), x, in,
                       b.k, b.stride, in, ACT_NONE);
        sc = g_conv_bn(g, path(a, "%s.shortcut.2", prefix), path(c, "%s.shortcut.3", prefix), sc,
                       b.out, 1, 1, 1, ACT_NONE);
    }
    return g_add(g, y, sc);
}

// ---------------------------------------------------------------------------------------------
// folding

typedef struct {
    const Params *p;
    const float  *w;    // host copy of the table's weights
    bool         *used; // per entry: consumed by the fold
} Table;

// entry `name` of t (marked used), or NULL when absent
static const float *entry(Table *t, const char *name, const ParamInfo **info)
{
    int i = params_find(t->p, name);
    if (i < 0) return NULL;
    t->used[i] = true;
    if (info) *info = &t->p->info[i];
    return t->w + t->p->info[i].offset;
}

// adds one branch into the folded kernel w (OC,KH,KW,CG) and bias b (OC): kernel k (OC,kh,kw,CG)
// centred, or the identity (k NULL: 1 at the centre tap of input channel o % CG), scaled per
// output channel by the batch norm `bn`'s gamma / sqrt(var + eps), plus beta - mean * that
static void add_branch(double *w, double *b, const int dims[4], const float *k, const int kdims[4],
                       Table *t, const char *bn, float eps)
{
    char nm[64];
    const float *gamma = entry(t, path(nm, "%s.weight", bn), NULL);
    const float *beta = entry(t, path(nm, "%s.bias", bn), NULL);
    const float *mean = entry(t, path(nm, "%s.running_mean", bn), NULL);
    const float *var = entry(t, path(nm, "%s.running_var", bn), NULL);
    CHECK(gamma && beta && mean && var, "ghost_fold: batch norm %s is missing from the trained table",
          bn);
    int oc = dims[0], kh = dims[1], kw = dims[2], cg = dims[3];
    int bh = k ? kdims[1] : 1, bw = k ? kdims[2] : 1, dh = (kh - bh) / 2, dw = (kw - bw) / 2;
    CHECK(!k || (kdims[0] == oc && kdims[3] == cg && bh <= kh && bw <= kw && (kh - bh) % 2 == 0 &&
                 (kw - bw) % 2 == 0),
          "ghost_fold: %s: a (%d,%d,%d,%d) branch does not centre in the (%d,%d,%d,%d) kernel", bn,
          kdims[0], bh, bw, kdims[3], oc, kh, kw, cg);
    for (int o = 0; o < oc; o++) {
        double s = gamma[o] / sqrt((double)var[o] + eps);
        b[o] += beta[o] - mean[o] * s;
        double *wo = w + (size_t)o * kh * kw * cg;
        if (!k) {
            wo[((size_t)(kh / 2) * kw + kw / 2) * cg + o % cg] += s;
            continue;
        }
        for (int i = 0; i < bh; i++)
            for (int j = 0; j < bw; j++)
                for (int c = 0; c < cg; c++)
                    wo[((size_t)(i + dh) * kw + (j + dw)) * cg + c] +=
                        k[(((size_t)o * bh + i) * bw + j) * cg + c] * s;
    }
}

// the folded conv `base`.REP[r].folded from base's branches of kind r; writes its weight and bias
static void fold_conv(float *wout, float *bout, const int dims[4], Table *t, const char *base,
                      GhostRep r, float eps)
{
    size_t nw = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
    double *w = xcalloc(nw, sizeof *w), *b = xcalloc((size_t)dims[0], sizeof *b);
    const char *rpr = REP[r].rpr;
    char nm[64], bn[64];
    const ParamInfo *info;
    const float *k;
    int n = 0;
    if ((k = entry(t, path(nm, "%s.%s_scale.conv.weight", base, rpr), &info)))
        add_branch(w, b, dims, k, info->dims, t, path(bn, "%s.%s_scale.bn1", base, rpr), eps), n++;
    if (params_find(t->p, path(bn, "%s.%s_skip.weight", base, rpr)) >= 0)
        add_branch(w, b, dims, NULL, NULL, t, path(bn, "%s.%s_skip", base, rpr), eps), n++;
    for (int i = 0; (k = entry(t, path(nm, "%s.%s_conv.%d.conv.weight", base, rpr, i), &info)); i++)
        add_branch(w, b, dims, k, info->dims, t, path(bn, "%s.%s_conv.%d.bn1", base, rpr, i), eps), n++;
    CHECK(n > 0, "ghost_fold: %s.%s has no %s_* branches in the trained table", base, REP[r].folded,
          REP[r].rpr);
    for (size_t j = 0; j < nw; j++) wout[j] = (float)w[j];
    for (int o = 0; o < dims[0]; o++) bout[o] = (float)b[o];
    free(w);
    free(b);
}

// is `name` "<base>.<REP[r].folded>.weight"? then its base goes into `base`, its kind into r
static bool folded_weight(const char *name, GhostRep *r, char base[64])
{
    size_t len = strlen(name);
    for (int i = 0; i < LEN(REP); i++) {
        char suffix[64];
        size_t sl = (size_t)snprintf(suffix, sizeof suffix, ".%s.weight", REP[i].folded);
        if (len > sl && strcmp(name + len - sl, suffix) == 0) {
            snprintf(base, 64, "%.*s", (int)(len - sl), name);
            *r = (GhostRep)i;
            return true;
        }
    }
    return false;
}

void ghost_fold(Params *folded, const Params *trained, float eps)
{
    CHECK(folded->dev && trained->dev, "ghost_fold: allocate both parameter tables first");
    float *fw = xcalloc(folded->total, sizeof(float)), *tw = xmalloc(trained->total * sizeof(float));
    dev_download(trained->dev, tw, trained->buf[ROLE_W], trained->total * sizeof(float));
    Table t = {trained, tw, xcalloc((size_t)trained->count, sizeof(bool))};
    bool *done = xcalloc((size_t)folded->count, sizeof(bool));
    for (int i = 0; i < folded->count; i++) {
        const ParamInfo *fi = &folded->info[i];
        const ParamInfo *ti;
        const float *src = entry(&t, fi->name, &ti);
        if (src) { // the same entry in both forms
            CHECK(ti->numel == fi->numel, "ghost_fold: %s has %zu values trained, %zu folded",
                  fi->name, ti->numel, fi->numel);
            memcpy(fw + fi->offset, src, fi->numel * sizeof(float));
            done[i] = true;
            continue;
        }
        char base[64], bias[64];
        GhostRep r;
        if (done[i] || !folded_weight(fi->name, &r, base)) continue; // biases: with their weight
        int bi = params_find(folded, path(bias, "%s.%s.bias", base, REP[r].folded));
        CHECK(bi >= 0, "ghost_fold: folded conv %s has no bias %s", fi->name, bias);
        fold_conv(fw + fi->offset, fw + folded->info[bi].offset, fi->dims, &t, base, r, eps);
        done[i] = done[bi] = true;
    }
    for (int i = 0; i < folded->count; i++)
        CHECK(done[i], "ghost_fold: the folded model's %s is neither in the trained table nor a "
              "folded conv", folded->info[i].name);
    for (int i = 0; i < trained->count; i++)
        CHECK(t.used[i], "ghost_fold: the trained table's %s has no place in the folded model "
              "(a table of another model or form?)", trained->info[i].name);
    dev_upload(folded->dev, folded->buf[ROLE_W], fw, folded->total * sizeof(float));
    free(fw);
    free(tw);
    free(t.used);
    free(done);
}
