/* engine/nn/graph_exec.c — running a graph: plan its activations, forward, backward.
 *
 * Every tensor gets a value slot and a gradient slot in the arena; gradients sit in one region so
 * a step zeroes them with one memset, after which every op accumulates (+=) — a tensor read by
 * two nodes (a residual input, an SE gate's source) gets both contributions with no special case.
 * The input tensor's gradient is never computed (dx = NULL for the first layer).
 */
#include "../core/rng.h"
#include "graph.h"

void graph_plan(Graph *g, Arena *a)
{
    free(g->val);
    free(g->grad);
    free(g->mean);
    free(g->rstd);
    g->val = xcalloc((size_t)g->n_t, sizeof *g->val);
    g->grad = xcalloc((size_t)g->n_t, sizeof *g->grad);
    g->mean = xcalloc((size_t)g->n_node, sizeof *g->mean);
    g->rstd = xcalloc((size_t)g->n_node, sizeof *g->rstd);
    for (int t = 0; t < g->n_t; t++) g->val[t] = arena_reserve(a, shape_numel(g->t[t].s));
    for (int i = 0; i < g->n_node; i++)
        if (g->node[i].kind == G_BN) {
            g->mean[i] = arena_reserve(a, (size_t)g->node[i].bn.x.c);
            g->rstd[i] = arena_reserve(a, (size_t)g->node[i].bn.x.c);
        }
    g->grad_begin = a->planned;
    for (int t = 0; t < g->n_t; t++) g->grad[t] = arena_reserve(a, shape_numel(g->t[t].s));
    g->grad_end = a->planned;
}

float *graph_val(const Graph *g, const Arena *a, int t) { return arena_at(a, g->val[t]); }
float *graph_grad(const Graph *g, const Arena *a, int t) { return arena_at(a, g->grad[t]); }

void graph_zero_grads(Graph *g, Dev *d, const Arena *a)
{
    dev_memset0(d, a->base + g->grad_begin, (g->grad_end - g->grad_begin) * sizeof(float));
}

#define V(t) arena_at(a, g->val[t])
#define DV(t) arena_at(a, g->grad[t])
#define W(i) ((i) >= 0 ? params_at(g->params, ROLE_W, i) : NULL)
#define GW(i) ((i) >= 0 ? params_at(g->params, ROLE_GRAD, i) : NULL)

static Dropout drop_desc(const Graph *g, const GNode *n, int i, bool train, uint64_t seed, uint64_t s0)
{
    Shape4 s = g->t[n->out].s;
    Dropout o = {s.n, shape_numel(s) / s.n, train ? n->p : 0.0f, rng_key(seed, (uint64_t)i), s0};
    return o;
}

void graph_forward(Graph *g, Dev *d, const Arena *a, bool train, uint64_t seed, uint64_t sample0)
{
    for (int i = 0; i < g->n_node; i++) {
        GNode *n = &g->node[i];
        int x = n->in[0], y = n->out;
        switch (n->kind) {
        case G_INPUT: break;
        case G_CONV: conv2d_forward(d, n->conv, V(y), V(x), W(n->par[0]), W(n->par[1])); break;
        case G_BN: {
            BatchNorm bn = n->bn;
            bn.train = train;
            batchnorm_forward(d, bn, V(y), arena_at(a, g->mean[i]), arena_at(a, g->rstd[i]),
                              W(n->par[2]), W(n->par[3]), V(x), W(n->par[0]), W(n->par[1]));
            break;
        }
        case G_ACT: act_forward(d, n->act, V(y), V(x)); break;
        case G_ADD: add_forward(d, (Add){shape_numel(g->t[y].s)}, V(y), V(x), V(n->in[1])); break;
        case G_CHANMUL: chanmul_forward(d, (ChanMul){g->t[x].s}, V(y), V(x), V(n->in[1])); break;
        case G_MAXPOOL: maxpool_forward(d, n->pool, V(y), V(x)); break;
        case G_AVGPOOL: avgpool_forward(d, n->pool, V(y), V(x)); break;
        case G_GAP: gap_forward(d, (GlobalAvgPool){g->t[x].s}, V(y), V(x)); break;
        case G_LINEAR: linear_forward(d, n->lin, V(y), V(x), W(n->par[0]), W(n->par[1])); break;
        case G_DROPOUT: dropout_forward(d, drop_desc(g, n, i, train, seed, sample0), V(y), V(x)); break;
        case G_DROPPATH: {
            Dropout o = drop_desc(g, n, i, train, seed, sample0);
            droppath_forward(d, (DropPath){o.n, o.per_sample, o.p, o.key, o.sample0}, V(y), V(x));
            break;
        }
        }
    }
}

void graph_backward(Graph *g, Dev *d, const Arena *a, bool train, uint64_t seed, uint64_t sample0)
{
    for (int i = g->n_node - 1; i >= 0; i--) {
        GNode *n = &g->node[i];
        int x = n->in[0], y = n->out;
        // the input tensor (node 0's output) takes no gradient
        float *dx = x == g->node[0].out ? NULL : DV(x);
        switch (n->kind) {
        case G_INPUT: break;
        case G_CONV:
            conv2d_backward(d, n->conv, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]));
            break;
        case G_BN: {
            BatchNorm bn = n->bn;
            bn.train = train;
            batchnorm_backward(d, bn, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]),
                               arena_at(a, g->mean[i]), arena_at(a, g->rstd[i]));
            break;
        }
        case G_ACT: act_backward(d, n->act, dx, DV(y), V(x)); break;
        case G_ADD: add_backward(d, (Add){shape_numel(g->t[y].s)}, dx, DV(n->in[1]), DV(y)); break;
        case G_CHANMUL:
            chanmul_backward(d, (ChanMul){g->t[x].s}, dx, DV(n->in[1]), DV(y), V(x), V(n->in[1]));
            break;
        case G_MAXPOOL: maxpool_backward(d, n->pool, dx, DV(y), V(x)); break;
        case G_AVGPOOL: avgpool_backward(d, n->pool, dx, DV(y)); break;
        case G_GAP: gap_backward(d, (GlobalAvgPool){g->t[x].s}, dx, DV(y)); break;
        case G_LINEAR:
            linear_backward(d, n->lin, dx, GW(n->par[0]), GW(n->par[1]), DV(y), V(x), W(n->par[0]));
            break;
        case G_DROPOUT: dropout_backward(d, drop_desc(g, n, i, train, seed, sample0), dx, DV(y)); break;
        case G_DROPPATH: {
            Dropout o = drop_desc(g, n, i, train, seed, sample0);
            droppath_backward(d, (DropPath){o.n, o.per_sample, o.p, o.key, o.sample0}, dx, DV(y));
            break;
        }
        }
    }
}
