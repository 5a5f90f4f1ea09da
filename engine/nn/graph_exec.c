/* engine/nn/graph_exec.c — running a graph: plan its activations, forward, backward.
 *
 * The plan gives every tensor a value slot (and in training a gradient slot) with a lifetime on
 * the step's timeline — forward node i at step i, its backward at step 2n-1-i — so the arena
 * packs slots that are never alive together into the same memory. Gradients accumulate (+=):
 * a tensor read by two nodes (a residual input, an SE gate's source) gets both contributions
 * with no special case, except that the backward of its last reader, the first to reach it,
 * writes it (the op's set bits, ops.h): a reused slot needs no zero fill. The input tensor's
 * gradient is never computed (dx = NULL for the first layer).
 */
#include <string.h> // memset
#include <time.h>   // clock_gettime

#include "../core/rng.h"
#include "graph.h"

static double seconds(Dev *d, const Graph *g)
{
    if (!g->prof) return 0;
    dev_sync(d);
    return time_now();
}

// does node n's backward read the value of its input k? (the contracts of ops.h)
static bool backward_reads(const GNode *n, int k)
{
    switch (n->kind) {
    case G_CONV: case G_BN: case G_ACT: case G_MAXPOOL: case G_LINEAR: return k == 0;
    case G_CHANMUL: case G_MUL: return true;
    default: return false; // add, avgpool, gap, chanpad, resize, dropout, drop-path: dy only
    }
}

void graph_plan(Graph *g, Arena *a, GraphMode mode)
{
    free(g->val);
    free(g->grad);
    free(g->mean);
    free(g->rstd);
    free(g->first_grad);
    int n = g->n_node, end = mode == GRAPH_TRAIN ? 2 * n : n; // step `end`: after the last node
    bool train = mode == GRAPH_TRAIN;
    int t0 = arena_steps(a, end + 1); // this graph's range of the arena's timeline
    g->trainable = train;
    g->val = xcalloc((size_t)g->n_t, sizeof *g->val);
    g->grad = xcalloc((size_t)g->n_t, sizeof *g->grad);
    g->mean = xcalloc((size_t)n, sizeof *g->mean);
    g->rstd = xcalloc((size_t)n, sizeof *g->rstd);
    g->first_grad = xmalloc((size_t)g->n_t * sizeof *g->first_grad);
    int *born = xmalloc((size_t)g->n_t * sizeof *born), *dies = xmalloc((size_t)g->n_t * sizeof *dies);
    for (int t = 0; t < g->n_t; t++) born[t] = dies[t] = g->first_grad[t] = -1;
    for (int i = 0; i < n; i++) {
        const GNode *nd = &g->node[i];
        if (nd->kind == G_FUSED) continue;
        if (born[nd->out] < 0) born[nd->out] = i;
        // an add with an activation reads its own output in backward (the derivative's mask)
        if (train && nd->kind == G_ADD && nd->add.act) dies[nd->out] = MAX(dies[nd->out], 2 * n - 1 - i);
        dies[nd->out] = MAX(dies[nd->out], i);
        // a chained 1x1 conv's input is read when its depthwise conv runs the pair
        if (nd->chain_to >= 0) dies[nd->in[0]] = MAX(dies[nd->in[0]], nd->chain_to);
        for (int k = 0; k < 2; k++) {
            int x = nd->in[k];
            if (x < 0 || (k == 0 && nd->kind == G_INPUT)) continue;
            dies[x] = MAX(dies[x], i);
            if (train && backward_reads(nd, k)) dies[x] = MAX(dies[x], 2 * n - 1 - i);
            g->first_grad[x] = MAX(g->first_grad[x], i); // the last reader's backward runs first
        }
    }
    int out = g->node[n - 1].out;
    dies[out] = end; // the logits are read after the forward pass
    for (int t = 0; t < g->n_t; t++) {
        CHECK(born[t] >= 0 || dies[t] < 0, "graph_plan: tensor %d is read but produced by no node", t);
        if (born[t] < 0) continue; // the tensor between a fused pair: gone
        g->val[t] = arena_reserve_live(a, shape_numel(g->t[t].s), t0 + born[t], t0 + dies[t]);
    }
    if (g->fold_n) g->fold_slot = arena_reserve(a, g->fold_n); // folded weights: for the plan's whole timeline
    g->folds_fresh = false;
    for (int i = 0; i < n; i++)
        if (g->node[i].kind == G_BN) {
            int last = train ? 2 * n - 1 - i : i;
            g->mean[i] = arena_reserve_live(a, (size_t)g->node[i].bn.x.c, t0 + i, t0 + last);
            g->rstd[i] = arena_reserve_live(a, (size_t)g->node[i].bn.x.c, t0 + i, t0 + last);
        }
    if (train)
        for (int t = 0; t < g->n_t; t++) {
            if (t == g->node[0].out || born[t] < 0) continue; // the input takes no gradient
            // written from its last reader's backward (the output: by the loss, before step n)
            // until its producer's backward reads it
            int first = t == out ? n : 2 * n - 1 - g->first_grad[t];
            g->grad[t] = arena_reserve_live(a, shape_numel(g->t[t].s), t0 + first, t0 + 2 * n - 1 - born[t]);
        }
    free(born);
    free(dies);
}

float *graph_val(const Graph *g, const Arena *a, int t) { return arena_at(a, g->val[t]); }
float *graph_grad(const Graph *g, const Arena *a, int t)
{
    CHECK(g->trainable, "graph_grad: the graph was planned for evaluation (GRAPH_EVAL): no gradients");
    CHECK(t != g->node[0].out, "graph_grad: the input tensor takes no gradient");
    return arena_at(a, g->grad[t]);
}

void graph_zero_grads(Graph *g, Dev *d, const Arena *a)
{
    int out = g->node[g->n_node - 1].out;
    dev_memset0(d, graph_grad(g, a, out), shape_numel(g->t[out].s) * sizeof(float));
}

#define V(t) arena_at(a, g->val[t])
#define DV(t) arena_at(a, g->grad[t])
#define W(i) ((i) >= 0 ? params_at(g->params, ROLE_W, i) : NULL)
#define GW(i) ((i) >= 0 ? params_at(g->params, ROLE_GRAD, i) : NULL)

static Drop drop_desc(const Graph *g, const GNode *n, int i, bool train, uint64_t seed, uint64_t s0)
{
    Shape4 s = g->t[n->out].s;
    Drop o = {s.n, shape_numel(s) / s.n, train ? n->p : 0.0f, rng_key(seed, (uint64_t)i), s0};
    return o;
}

// a conv node's description, weights and bias as it runs: with batch norm folded in, the fold
// buffer's weights and bias and the BN's activation
static void conv_args(const Graph *g, const Arena *a, const GNode *n, Conv2d *c, const float **w, const float **b)
{
    *c = n->conv;
    if (n->fold < 0) {
        *w = W(n->par[0]), *b = W(n->par[1]);
        return;
    }
    CHECK(g->folds_fresh, "graph_forward: %s: folded weights not made since the last plan (graph_refresh_folds)",
          n->name);
    c->bias = true;
    c->act = g->node[n->fold].bn.act;
    *w = arena_at(a, g->fold_slot) + n->fold_at;
    *b = *w + (size_t)c->oc * c->kh * c->kw * (c->x.c / c->g);
}

void graph_forward(Graph *g, Dev *d, const Arena *a, bool train, uint64_t seed, uint64_t sample0)
{
    double tick = seconds(d, g);
    if (g->prof) g->prof_runs++;
    for (int i = 0; i < g->n_node; i++) {
        GNode *n = &g->node[i];
        if (g->prof && i) { double u = seconds(d, g); g->prof[2 * (i - 1)] += u - tick; tick = u; }
        int x = n->in[0], y = n->out;
        switch (n->kind) {
        case G_INPUT: case G_FUSED: break;
        case G_CONV: {
            bool chain = dev_has_conv2d_chain(d);
            if (n->chain_to >= 0 && chain) break; // runs with its depthwise conv
            Conv2d c;
            const float *w, *b;
            conv_args(g, a, n, &c, &w, &b);
            if (n->chain_from >= 0 && chain) {
                const GNode *p = &g->node[n->chain_from];
                Conv2dChain ch = {.dw = c};
                const float *w1, *b1;
                conv_args(g, a, p, &ch.pw, &w1, &b1);
                conv2d_chain_forward(d, ch, V(y), V(p->in[0]), w1, b1, w, b);
            } else
                conv2d_forward(d, c, V(y), V(x), w, b);
            break;
        }
        case G_BN: {
            BatchNorm bn = n->bn;
            bn.train = train;
            if (train && g->bn_sync) {
                CHECK(d->host, "graph_forward: SyncBN runs on host memory (ref, cpu), not on %s", d->name);
                syncbn_forward(g->bn_sync, bn, V(y), arena_at(a, g->mean[i]), arena_at(a, g->rstd[i]),
                               W(n->par[2]), W(n->par[3]), V(x), W(n->par[0]), W(n->par[1]));
            } else
                batchnorm_forward(d, bn, V(y), arena_at(a, g->mean[i]), arena_at(a, g->rstd[i]),
                                  W(n->par[2]), W(n->par[3]), V(x), W(n->par[0]), W(n->par[1]));
            break;
        }
        case G_ACT: act_forward(d, n->act, V(y), V(x)); break;
        case G_ADD: add_forward(d, n->add, V(y), V(x), V(n->in[1])); break;
        case G_CHANMUL: chanmul_forward(d, (ChanMul){g->t[x].s}, V(y), V(x), V(n->in[1])); break;
        case G_MAXPOOL: maxpool_forward(d, n->pool, V(y), V(x)); break;
        case G_AVGPOOL: avgpool_forward(d, n->pool, V(y), V(x)); break;
        case G_GAP: gap_forward(d, (GlobalAvgPool){g->t[x].s}, V(y), V(x)); break;
        case G_LINEAR: linear_forward(d, n->lin, V(y), V(x), W(n->par[0]), W(n->par[1])); break;
        case G_CHANPAD: chanpad_forward(d, n->cp, V(y), V(x)); break;
        case G_RESIZE: resize_forward(d, n->rs, V(y), V(x)); break;
        case G_MUL: mul_forward(d, (Mul){shape_numel(g->t[x].s)}, V(y), V(x), V(n->in[1])); break;
        case G_DROPOUT: dropout_forward(d, drop_desc(g, n, i, train, seed, sample0), V(y), V(x)); break;
        case G_DROPPATH: droppath_forward(d, drop_desc(g, n, i, train, seed, sample0), V(y), V(x)); break;
        }
    }
    if (g->prof) g->prof[2 * (g->n_node - 1)] += seconds(d, g) - tick;
}

void graph_backward(Graph *g, Dev *d, const Arena *a, bool train, uint64_t seed, uint64_t sample0)
{
    CHECK(g->trainable, "graph_backward: the graph was planned for evaluation (GRAPH_EVAL)");
    int input = g->node[0].out;
    double tick = seconds(d, g);
    for (int i = g->n_node - 1; i >= 0; i--) {
        GNode *n = &g->node[i];
        if (g->prof && i < g->n_node - 1) { double u = seconds(d, g); g->prof[2 * (i + 1) + 1] += u - tick; tick = u; }
        int x = n->in[0], y = n->out;
        // gradients this node is the first to reach: it writes them (set bits, ops.h) instead of
        // adding into a zero fill
        GradSet set = 0;
        for (int k = 0; k < 2; k++) {
            int t = n->in[k];
            if (t >= 0 && t != input && g->first_grad[t] == i && (k == 0 || t != n->in[0])) set |= k ? SET_1 : SET_0;
        }
        // the input tensor (node 0's output) takes no gradient, as first or second operand
        float *dx = n->kind == G_INPUT || n->kind == G_FUSED || x == input ? NULL : DV(x);
        float *dx1 = n->in[1] < 0 || n->in[1] == input ? NULL : DV(n->in[1]);
        // nothing to compute: no parameters, and the input is all it reads (a block built alone
        // whose first node pools the input, as GhostNet's DFC attention does)
        if (!dx && !dx1 && n->par[0] < 0) continue;
        switch (n->kind) {
        case G_INPUT: case G_FUSED: break;
        case G_CONV:
            conv2d_backward(d, n->conv, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]), set);
            break;
        case G_BN: {
            BatchNorm bn = n->bn;
            bn.train = train;
            if (train && g->bn_sync)
                syncbn_backward(g->bn_sync, bn, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]),
                                W(n->par[1]), arena_at(a, g->mean[i]), arena_at(a, g->rstd[i]), set);
            else
                batchnorm_backward(d, bn, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]),
                                   W(n->par[1]), arena_at(a, g->mean[i]), arena_at(a, g->rstd[i]), set);
            break;
        }
        case G_ACT: act_backward(d, n->act, dx, DV(y), V(x), set); break;
        case G_ADD: add_backward(d, n->add, dx, dx1, DV(y), n->add.act ? V(y) : NULL, set); break;
        case G_CHANMUL:
            chanmul_backward(d, (ChanMul){g->t[x].s}, dx, dx1, DV(y), V(x), V(n->in[1]), set);
            break;
        case G_MAXPOOL: maxpool_backward(d, n->pool, dx, DV(y), V(x), set); break;
        case G_AVGPOOL: avgpool_backward(d, n->pool, dx, DV(y), set); break;
        case G_GAP: gap_backward(d, (GlobalAvgPool){g->t[x].s}, dx, DV(y), set); break;
        case G_LINEAR:
            linear_backward(d, n->lin, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]), set);
            break;
        case G_CHANPAD: chanpad_backward(d, n->cp, dx, DV(y), set); break;
        case G_RESIZE: resize_backward(d, n->rs, dx, DV(y), set); break;
        case G_MUL:
            mul_backward(d, (Mul){shape_numel(g->t[x].s)}, dx, dx1, DV(y), V(x), V(n->in[1]), set);
            break;
        case G_DROPOUT: dropout_backward(d, drop_desc(g, n, i, train, seed, sample0), dx, DV(y), set); break;
        case G_DROPPATH: droppath_backward(d, drop_desc(g, n, i, train, seed, sample0), dx, DV(y), set); break;
        }
    }
    if (g->prof) g->prof[1] += seconds(d, g) - tick;
}

void graph_profile(Graph *g, bool on)
{
    free(g->prof);
    g->prof = on ? xcalloc(2 * (size_t)g->n_node, sizeof *g->prof) : NULL;
    g->prof_runs = 0;
}

void graph_profile_print(const Graph *g, FILE *f)
{
    if (!g->prof || !g->prof_runs) return;
    double k = 1e3 / g->prof_runs, by_kind[2][32] = {{0}}, total[2] = {0, 0};
    int wm = 28; // the module column: as wide as the longest name
    for (int i = 0; i < g->n_node; i++) wm = MAX(wm, (int)strlen(g->node[i].name));
    fprintf(f, "profile: ms per pass over %ld passes (batch %d)\n%4s  %-*s %-8s %-14s %9s %9s\n",
            g->prof_runs, g->t[0].s.n, "#", wm, "module", "op", "output", "forward", "backward");
    for (int i = 0; i < g->n_node; i++) {
        const GNode *n = &g->node[i];
        Shape4 y = g->t[n->out].s;
        char out[32];
        snprintf(out, sizeof out, "%dx%dx%d", y.h, y.w, y.c);
        fprintf(f, "%4d  %-*s %-8s %-14s %9.3f %9.3f\n", i, wm, n->name, graph_kind_name(n->kind), out,
                g->prof[2 * i] * k, g->prof[2 * i + 1] * k);
        for (int p = 0; p < 2; p++) {
            by_kind[p][n->kind & 31] += g->prof[2 * i + p] * k;
            total[p] += g->prof[2 * i + p] * k;
        }
    }
    fprintf(f, "by op kind:\n");
    for (int kd = 0; kd < 32; kd++)
        if (by_kind[0][kd] + by_kind[1][kd] > 0)
            fprintf(f, "  %-10s forward %8.3f  backward %8.3f  (%4.1f%%)\n", graph_kind_name((GKind)kd),
                    by_kind[0][kd], by_kind[1][kd], 100 * (by_kind[0][kd] + by_kind[1][kd]) / (total[0] + total[1]));
    fprintf(f, "  total      forward %8.3f  backward %8.3f\n", total[0], total[1]);
}
