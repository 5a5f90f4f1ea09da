/* engine/nn/graph.c — building a graph: shapes, parameters, the blocks every family shares
 * (conv-BN-act, squeeze-excitation, channel concatenation), counts and the printed table. */
#include "graph.h"

#include <math.h>   // sqrtf, logf, cosf
#include <string.h> // memset, snprintf

#include "../core/rng.h"

void graph_init(Graph *g, Params *p)
{
    memset(g, 0, sizeof *g);
    g->params = p;
    g->bn_eps = 1e-5f;
    g->bn_momentum = 0.1f;
}

void graph_free(Graph *g)
{
    free(g->t);
    free(g->node);
    free(g->val);
    free(g->grad);
    free(g->mean);
    free(g->rstd);
    free(g->first_grad);
    free(g->prof);
    memset(g, 0, sizeof *g);
}

static int new_tensor(Graph *g, Shape4 s)
{
    CHECK(s.n > 0 && s.h > 0 && s.w > 0 && s.c > 0, "graph: a layer produces the empty shape %s "
          "(input too small for the model?)", SHAPE_STR(s));
    if (g->n_t == g->cap_t) {
        g->cap_t = g->cap_t ? 2 * g->cap_t : 256;
        g->t = realloc(g->t, (size_t)g->cap_t * sizeof *g->t);
        CHECK(g->t, "graph: out of host memory");
    }
    g->t[g->n_t].s = s;
    return g->n_t++;
}

static GNode *new_node(Graph *g, GKind kind, const char *name, int in0, int in1)
{
    CHECK(in0 >= 0 && in0 < g->n_t && in1 < g->n_t, "graph: node '%s' reads tensor %d of %d", name,
          in0, g->n_t);
    if (g->n_node == g->cap_node) {
        g->cap_node = g->cap_node ? 2 * g->cap_node : 256;
        g->node = realloc(g->node, (size_t)g->cap_node * sizeof *g->node);
        CHECK(g->node, "graph: out of host memory");
    }
    GNode *n = &g->node[g->n_node++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->in[0] = in0;
    n->in[1] = in1;
    n->fold = n->chain_to = n->chain_from = -1;
    for (int i = 0; i < 4; i++) n->par[i] = -1;
    return n;
}

// declares a parameter, or, when the table is already allocated (a rebuild for a new batch or
// image size), finds it and checks that it has the same shape
static int declare(Graph *g, const char *name, int ndim, const int *dims, bool decay, bool buffer)
{
    Params *p = g->params;
    if (!p->dev) return buffer ? params_add_buffer(p, name, ndim, dims) : params_add(p, name, ndim, dims, decay);
    int i = params_find(p, name);
    CHECK(i >= 0, "graph: rebuilding declares '%s', which the allocated table lacks", name);
    bool same = p->info[i].ndim == ndim;
    for (int k = 0; same && k < ndim; k++) same = p->info[i].dims[k] == dims[k];
    CHECK(same, "graph: rebuilding changes the shape of '%s'", name);
    return i;
}

static int param(Graph *g, const char *module, const char *leaf, int ndim, const int *dims, bool decay)
{
    char nm[64];
    snprintf(nm, sizeof nm, "%s.%s", module, leaf);
    return declare(g, nm, ndim, dims, decay, false);
}

Shape4 graph_shape(const Graph *g, int t)
{
    CHECK(t >= 0 && t < g->n_t, "graph_shape: tensor %d of %d", t, g->n_t);
    return g->t[t].s;
}

// ---------------------------------------------------------------------------------------------

int g_input(Graph *g, Shape4 s)
{
    int t = new_tensor(g, s);
    GNode *n = new_node(g, G_INPUT, "input", t, -1);
    n->out = t;
    return t;
}

int g_conv_hw(Graph *g, const char *name, int x, int oc, int kh, int kw, int stride, int groups,
              bool bias)
{
    Shape4 xs = graph_shape(g, x);
    CHECK(xs.c % groups == 0 && oc % groups == 0, "graph: %s: groups %d do not divide C=%d, OC=%d",
          name, groups, xs.c, oc);
    GNode *n = new_node(g, G_CONV, name, x, -1);
    n->conv = (Conv2d){xs, oc, kh, kw, stride, stride, ((stride - 1) + (kh - 1)) / 2,
                       ((stride - 1) + (kw - 1)) / 2, 1, 1, groups, bias, ACT_NONE};
    n->par[0] = param(g, name, "weight", 4, (const int[]){oc, kh, kw, xs.c / groups}, true);
    if (bias) n->par[1] = param(g, name, "bias", 1, &oc, false);
    n->out = new_tensor(g, conv2d_out(n->conv));
    return n->out;
}

int g_conv(Graph *g, const char *name, int x, int oc, int k, int stride, int groups, bool bias)
{
    return g_conv_hw(g, name, x, oc, k, k, stride, groups, bias);
}

int g_bn(Graph *g, const char *name, int x)
{
    if (g->no_norm) return x;
    Shape4 xs = graph_shape(g, x);
    GNode *n = new_node(g, G_BN, name, x, -1);
    n->bn = (BatchNorm){xs, g->bn_eps, g->bn_momentum, true, ACT_NONE};
    n->par[0] = param(g, name, "weight", 1, &xs.c, false);
    n->par[1] = param(g, name, "bias", 1, &xs.c, false);
    char nm[64];
    snprintf(nm, sizeof nm, "%s.running_mean", name);
    n->par[2] = declare(g, nm, 1, &xs.c, false, true);
    snprintf(nm, sizeof nm, "%s.running_var", name);
    n->par[3] = declare(g, nm, 1, &xs.c, false, true);
    n->out = new_tensor(g, xs);
    return n->out;
}

int g_act(Graph *g, int x, ActKind act)
{
    Shape4 xs = graph_shape(g, x);
    GNode *n = new_node(g, G_ACT, act_name(act), x, -1);
    n->act = (Act){shape_numel(xs), act};
    n->out = new_tensor(g, xs);
    return n->out;
}

int g_add(Graph *g, int a, int b)
{
    Shape4 as = graph_shape(g, a), bs = graph_shape(g, b);
    CHECK(memcmp(&as, &bs, sizeof as) == 0, "graph: add of %s and %s", SHAPE_STR(as), SHAPE_STR(bs));
    GNode *n = new_node(g, G_ADD, "add", a, b);
    n->add = (Add){shape_numel(as), ACT_NONE};
    n->out = new_tensor(g, as);
    return n->out;
}

int g_chanmul(Graph *g, int x, int gate)
{
    Shape4 xs = graph_shape(g, x), gs = graph_shape(g, gate);
    CHECK(gs.n == xs.n && gs.h == 1 && gs.w == 1 && gs.c == xs.c, "graph: gate %s for x %s",
          SHAPE_STR(gs), SHAPE_STR(xs));
    GNode *n = new_node(g, G_CHANMUL, "gate", x, gate);
    n->out = new_tensor(g, xs);
    return n->out;
}

static int pool(Graph *g, GKind kind, int x, Pool2d p)
{
    GNode *n = new_node(g, kind, kind == G_MAXPOOL ? "maxpool" : "avgpool", x, -1);
    n->pool = p;
    n->out = new_tensor(g, pool2d_out(p));
    return n->out;
}

int g_maxpool(Graph *g, int x, int k, int stride, int pad)
{
    return pool(g, G_MAXPOOL, x, (Pool2d){graph_shape(g, x), k, k, stride, stride, pad, pad, false, true});
}

int g_avgpool(Graph *g, int x, int k, int stride, int pad, bool ceil_mode, bool count_include_pad)
{
    return pool(g, G_AVGPOOL, x, (Pool2d){graph_shape(g, x), k, k, stride, stride, pad, pad,
                                          ceil_mode, count_include_pad});
}

int g_gap(Graph *g, int x)
{
    Shape4 xs = graph_shape(g, x);
    GNode *n = new_node(g, G_GAP, "global_pool", x, -1);
    n->out = new_tensor(g, (Shape4){xs.n, 1, 1, xs.c});
    return n->out;
}

int g_linear(Graph *g, const char *name, int x, int out)
{
    Shape4 xs = graph_shape(g, x);
    CHECK(xs.h == 1 && xs.w == 1, "graph: %s: linear needs a pooled input, got %s", name, SHAPE_STR(xs));
    GNode *n = new_node(g, G_LINEAR, name, x, -1);
    n->lin = (Linear){xs.n, xs.c, out, true};
    n->par[0] = param(g, name, "weight", 2, (const int[]){out, xs.c}, true);
    n->par[1] = param(g, name, "bias", 1, &out, false);
    n->out = new_tensor(g, (Shape4){xs.n, 1, 1, out});
    return n->out;
}

int g_chanpad(Graph *g, int x, int before, int after)
{
    Shape4 xs = graph_shape(g, x);
    CHECK(before >= 0 && after >= 0, "graph: chanpad of %s by %d channels before, %d after: "
          "padding must be >= 0", SHAPE_STR(xs), before, after);
    GNode *n = new_node(g, G_CHANPAD, "chanpad", x, -1);
    n->cp = (ChanPad){xs, before, after, false};
    n->out = new_tensor(g, chanpad_out(n->cp));
    return n->out;
}

static int drop(Graph *g, GKind kind, int x, float p)
{
    CHECK(p >= 0 && p < 1, "graph: drop probability %g outside [0, 1)", p);
    GNode *n = new_node(g, kind, kind == G_DROPOUT ? "dropout" : "drop_path", x, -1);
    n->p = p;
    n->out = new_tensor(g, graph_shape(g, x));
    return n->out;
}

int g_dropout(Graph *g, int x, float p) { return drop(g, G_DROPOUT, x, p); }
int g_droppath(Graph *g, int x, float p) { return drop(g, G_DROPPATH, x, p); }

int g_resize(Graph *g, int x, int oh, int ow, ResizeMode mode)
{
    Shape4 xs = graph_shape(g, x);
    GNode *n = new_node(g, G_RESIZE, mode == RESIZE_NEAREST ? "upsample" : "resize", x, -1);
    n->rs = (Resize){xs, oh, ow, mode};
    n->out = new_tensor(g, (Shape4){xs.n, oh, ow, xs.c});
    return n->out;
}

int g_mul(Graph *g, int a, int b)
{
    Shape4 as = graph_shape(g, a), bs = graph_shape(g, b);
    CHECK(memcmp(&as, &bs, sizeof as) == 0, "graph: mul of %s and %s", SHAPE_STR(as), SHAPE_STR(bs));
    GNode *n = new_node(g, G_MUL, "mul", a, b);
    n->out = new_tensor(g, as);
    return n->out;
}

// ---------------------------------------------------------------------------------------------
// blocks

int make_divisible(double v, int divisor, double round_limit)
{
    int r = (int)(v + divisor / 2.0) / divisor * divisor;
    if (r < divisor) r = divisor;
    return r < round_limit * v ? r + divisor : r;
}

int g_conv_bn(Graph *g, const char *conv, const char *bn, int x, int oc, int k, int stride,
              int groups, ActKind act)
{
    x = g_bn(g, bn, g_conv(g, conv, x, oc, k, stride, groups, false));
    return act != ACT_NONE ? g_act(g, x, act) : x;
}

int g_se(Graph *g, const char *reduce, const char *expand, int x, int rd, ActKind act,
         ActKind gate)
{
    int c = graph_shape(g, x).c;
    int s = g_act(g, g_conv(g, reduce, g_gap(g, x), rd, 1, 1, 1, true), act);
    s = g_act(g, g_conv(g, expand, s, c, 1, 1, 1, true), gate);
    return g_chanmul(g, x, s);
}

int g_concat(Graph *g, int a, int b)
{
    Shape4 as = graph_shape(g, a), bs = graph_shape(g, b);
    CHECK(as.n == bs.n && as.h == bs.h && as.w == bs.w, "graph: concat of %s and %s: batch and "
          "spatial sizes differ", SHAPE_STR(as), SHAPE_STR(bs));
    GNode *n = new_node(g, G_CHANPAD, "concat", a, -1); // a's channels of y
    n->cp = (ChanPad){as, 0, bs.c, true};
    int y = n->out = new_tensor(g, chanpad_out(n->cp));
    n = new_node(g, G_CHANPAD, "concat", b, -1); // and b's, into the same tensor
    n->cp = (ChanPad){bs, as.c, 0, true};
    n->out = y;
    return y;
}

// ---------------------------------------------------------------------------------------------

// conv and linear only: normalization, activations, pooling, adds, gates, products, resizes and
// channel padding count 0
uint64_t graph_macs(const Graph *g)
{
    uint64_t macs = 0;
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        if (n->kind == G_CONV) {
            Shape4 y = conv2d_out(n->conv);
            macs += (uint64_t)y.h * y.w * y.c * n->conv.kh * n->conv.kw * (n->conv.x.c / n->conv.g);
        } else if (n->kind == G_LINEAR) {
            macs += (uint64_t)n->lin.in * n->lin.out;
        }
    }
    return macs;
}

int graph_fuse(Graph *g)
{
    int *readers = xcalloc((size_t)g->n_t, sizeof *readers), *producer = xmalloc((size_t)g->n_t * sizeof *producer);
    for (int t = 0; t < g->n_t; t++) producer[t] = -1;
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        if (n->kind == G_FUSED) continue;
        producer[n->out] = i;
        for (int k = 0; k < 2; k++)
            if (n->in[k] >= 0 && n->kind != G_INPUT) readers[n->in[k]]++;
    }
    int out = g->node[g->n_node - 1].out, folded = 0;
    for (int j = 0; j < g->n_node; j++) {
        GNode *a = &g->node[j];
        if (a->kind != G_ACT) continue;
        int t = a->in[0], i = producer[t];
        if (i < 0 || readers[t] != 1 || t == out) continue;
        GNode *p = &g->node[i];
        ActKind k = a->act.act;
        if (p->kind == G_BN && p->bn.act == ACT_NONE) p->bn.act = k;
        else if (p->kind == G_ADD && p->add.act == ACT_NONE && (k == ACT_RELU || k == ACT_RELU6)) p->add.act = k;
        else continue;
        p->out = a->out;
        producer[a->out] = i;
        a->kind = G_FUSED;
        a->in[0] = a->in[1] = -1;
        folded++;
    }
    free(readers);
    free(producer);
    return folded;
}

int graph_fold_bn(Graph *g)
{
    int *readers = xcalloc((size_t)g->n_t, sizeof *readers), *producer = xmalloc((size_t)g->n_t * sizeof *producer);
    for (int t = 0; t < g->n_t; t++) producer[t] = -1;
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        if (n->kind == G_FUSED) continue;
        producer[n->out] = i;
        for (int k = 0; k < 2; k++)
            if (n->in[k] >= 0 && n->kind != G_INPUT) readers[n->in[k]]++;
    }
    int out = g->node[g->n_node - 1].out, folded = 0;
    g->fold_n = 0;
    for (int j = 0; j < g->n_node; j++) {
        GNode *b = &g->node[j];
        if (b->kind != G_BN) continue;
        int t = b->in[0], i = producer[t];
        if (i < 0 || readers[t] != 1 || t == out) continue;
        GNode *c = &g->node[i];
        if (c->kind != G_CONV || c->conv.act != ACT_NONE || c->fold >= 0) continue;
        c->fold = j;
        c->fold_at = g->fold_n;
        g->fold_n += (size_t)c->conv.oc * c->conv.kh * c->conv.kw * (c->conv.x.c / c->conv.g) + c->conv.oc;
        g->fold_n = (g->fold_n + 31) / 32 * 32; // the next conv's weights 128-byte aligned
        c->out = b->out;
        producer[b->out] = i;
        b->kind = G_FUSED;
        b->in[0] = b->in[1] = -1;
        folded++;
    }
    free(readers);
    free(producer);
    return folded;
}

int graph_chain_convs(Graph *g)
{
    int *readers = xcalloc((size_t)g->n_t, sizeof *readers), *reader = xmalloc((size_t)g->n_t * sizeof *reader);
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        if (n->kind == G_FUSED || n->kind == G_INPUT) continue;
        for (int k = 0; k < 2; k++)
            if (n->in[k] >= 0) readers[n->in[k]]++, reader[n->in[k]] = i;
    }
    int out = g->node[g->n_node - 1].out, chained = 0;
    for (int i = 0; i < g->n_node; i++) {
        GNode *p = &g->node[i];
        if (p->kind != G_CONV || p->chain_from >= 0 || p->out == out || readers[p->out] != 1 ||
            !conv2d_pointwise(p->conv))
            continue;
        int j = reader[p->out];
        GNode *q = &g->node[j];
        if (q->kind != G_CONV || q->in[0] != p->out || !conv2d_depthwise(q->conv)) continue;
        bool between = true; // nothing runs between them (the folded BN and its activation: fused)
        for (int k = i + 1; k < j; k++) between &= g->node[k].kind == G_FUSED;
        if (!between) continue;
        p->chain_to = j;
        q->chain_from = i;
        chained++;
    }
    free(readers);
    free(reader);
    return chained;
}

void graph_refresh_folds(Graph *g, Dev *d, const Arena *a)
{
    if (!g->fold_n) return;
    Params *p = g->params;
    params_pull(p, ROLE_W); // the weights and running statistics on the host (params.h)
    float *f = xmalloc(g->fold_n * sizeof *f);
    for (int i = 0; i < g->n_node; i++) {
        const GNode *c = &g->node[i];
        if (c->kind != G_CONV || c->fold < 0) continue;
        const GNode *bn = &g->node[c->fold];
        const float *w = params_host(p, ROLE_W, c->par[0]), *cb = c->par[1] >= 0 ? params_host(p, ROLE_W, c->par[1]) : NULL;
        const float *gamma = params_host(p, ROLE_W, bn->par[0]), *beta = params_host(p, ROLE_W, bn->par[1]);
        const float *mean = params_host(p, ROLE_W, bn->par[2]), *var = params_host(p, ROLE_W, bn->par[3]);
        int oc = c->conv.oc;
        size_t per = (size_t)c->conv.kh * c->conv.kw * (c->conv.x.c / c->conv.g); // a filter: (KH, KW, C/G)
        float *fw = f + c->fold_at, *fb = fw + (size_t)oc * per;
        for (int k = 0; k < oc; k++) {
            // batch norm's own evaluation arithmetic (rstd in float), so folding moves only the
            // rounding of the product
            float s = gamma[k] * (1.0f / sqrtf(var[k] + bn->bn.eps));
            for (size_t j = 0; j < per; j++) fw[(size_t)k * per + j] = w[(size_t)k * per + j] * s;
            fb[k] = beta[k] + ((cb ? cb[k] : 0.0f) - mean[k]) * s;
        }
    }
    dev_upload(d, arena_at(a, g->fold_slot), f, g->fold_n * sizeof *f);
    free(f);
    g->folds_fresh = true;
}

const char *graph_kind_name(GKind k)
{
    static const char *kinds[] = {"input", "conv", "bn", "act", "add", "gate", "maxpool",
                                  "avgpool", "gap", "linear", "dropout", "drop_path", "chanpad",
                                  "resize", "mul", "(fused)"};
    return (int)k >= 0 && (int)k < LEN(kinds) ? kinds[k] : "?";
}

void graph_print(const Graph *g, FILE *f)
{
    int wm = 28; // the module column: as wide as the longest name
    for (int i = 0; i < g->n_node; i++) wm = MAX(wm, (int)strlen(g->node[i].name));
    fprintf(f, "%4s  %-*s %-10s %-22s %-18s %12s\n", "#", wm, "module", "op", "description",
            "output (HxWxC)", "params");
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        Shape4 y = g->t[n->out].s;
        char desc[64] = "";
        size_t np = 0;
        for (int k = 0; k < 2; k++)
            if (n->par[k] >= 0) np += g->params->info[n->par[k]].numel;
        switch (n->kind) {
        case G_CONV:
            snprintf(desc, sizeof desc, "%dx%d/%d g%d%s", n->conv.kh, n->conv.kw, n->conv.sh,
                     n->conv.g, n->conv.bias ? " +b" : "");
            break;
        case G_MAXPOOL:
        case G_AVGPOOL:
            snprintf(desc, sizeof desc, "%dx%d/%d p%d%s", n->pool.kh, n->pool.kw, n->pool.sh,
                     n->pool.ph, n->pool.ceil_mode ? " ceil" : "");
            break;
        case G_DROPOUT:
        case G_DROPPATH: snprintf(desc, sizeof desc, "p=%.3g", n->p); break;
        case G_LINEAR: snprintf(desc, sizeof desc, "%d->%d", n->lin.in, n->lin.out); break;
        case G_CHANPAD:
            snprintf(desc, sizeof desc, "c %d+%d+%d zeros", n->cp.before, n->cp.x.c, n->cp.after);
            break;
        case G_RESIZE:
            snprintf(desc, sizeof desc, "%s from %dx%d", n->rs.mode == RESIZE_NEAREST ? "nearest" :
                     "bilinear", n->rs.x.h, n->rs.x.w);
            break;
        default: break;
        }
        char out[32];
        snprintf(out, sizeof out, "%dx%dx%d", y.h, y.w, y.c);
        fprintf(f, "%4d  %-*s %-10s %-22s %-18s %12zu\n", i, wm, n->kind == G_ACT ? "" : n->name,
                n->kind == G_ACT ? n->name : graph_kind_name(n->kind), desc, out, np);
    }
}

// ---------------------------------------------------------------------------------------------

// value j: Box-Muller on the counter draws 2j and 2j+1 of (key, stream). One Philox block holds
// the draws of two values (rng_uniform would compute it once per draw); values are independent,
// so threads share the blocks out without changing any of them (models of 100M weights)
static void fill_normal(float *w, size_t n, float std, uint64_t key, uint64_t stream)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < (n + 1) / 2; b++) {
        Philox4 r = rng_block(key, stream, b);
        for (size_t k = 0; k < 2 && 2 * b + k < n; k++) {
            float u1 = rng_u01(r.v[2 * k]), u2 = rng_u01(r.v[2 * k + 1]);
            w[2 * b + k] = std * sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.2831853f * u2);
        }
    }
}

// value j: draw j of (key, stream) scaled to [-bound, bound), four values per Philox block
static void fill_uniform(float *w, size_t n, float bound, uint64_t key, uint64_t stream)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < (n + 3) / 4; b++) {
        Philox4 r = rng_block(key, stream, b);
        for (size_t k = 0; k < 4 && 4 * b + k < n; k++) w[4 * b + k] = bound * (2 * rng_u01(r.v[k]) - 1);
    }
}

static void fill_const(float *w, size_t n, float v)
{
    for (size_t j = 0; j < n; j++) w[j] = v;
}

void graph_init_params(Graph *g, uint64_t seed)
{
    Params *p = g->params;
    CHECK(p->buf[ROLE_W], "graph_init_params: allocate the parameter table first");
    CHECK(!g->fold_n, "graph_init_params: an evaluation graph with folded batch norm (graph_fold_bn) no longer "
          "has its BN nodes: initialize through a training graph over the same table");
    params_pull(p, ROLE_W); // written on the host, then pushed (params.h)
    uint64_t key = rng_key(seed, 0x1417);
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        float *w = n->par[0] >= 0 ? params_host(p, ROLE_W, n->par[0]) : NULL;
        float *b = n->par[1] >= 0 ? params_host(p, ROLE_W, n->par[1]) : NULL;
        size_t nw = n->par[0] >= 0 ? p->info[n->par[0]].numel : 0;
        if (n->kind == G_CONV) {
            int k2 = n->conv.kh * n->conv.kw;
            float fan_out = g->init_goog ? (float)(n->conv.oc * k2 / n->conv.g) : (float)n->conv.oc * k2;
            float fan_in = (float)(n->conv.x.c / n->conv.g) * k2;
            if (g->torch_init) fill_uniform(w, nw, 1.0f / sqrtf(fan_in), key, (uint64_t)n->par[0]);
            else fill_normal(w, nw, sqrtf(2.0f / fan_out), key, (uint64_t)n->par[0]);
            if (b && g->init_goog) fill_const(b, (size_t)n->conv.oc, 0.0f);
            else if (b) fill_uniform(b, (size_t)n->conv.oc, 1.0f / sqrtf(fan_in), key, (uint64_t)n->par[1]);
        } else if (n->kind == G_LINEAR) {
            float bound = 1.0f / sqrtf((float)(g->init_goog ? n->lin.out : n->lin.in));
            fill_uniform(w, nw, bound, key, (uint64_t)n->par[0]);
            if (g->init_goog) fill_const(b, (size_t)n->lin.out, 0.0f);
            else fill_uniform(b, (size_t)n->lin.out, bound, key, (uint64_t)n->par[1]);
        } else if (n->kind == G_BN) {
            size_t c = (size_t)n->bn.x.c;
            fill_const(w, c, n->zero_init ? 0.0f : 1.0f);
            fill_const(b, c, 0.0f);
            fill_const(params_host(p, ROLE_W, n->par[2]), c, 0.0f);
            fill_const(params_host(p, ROLE_W, n->par[3]), c, 1.0f);
        }
    }
    params_push(p, ROLE_W);
}
