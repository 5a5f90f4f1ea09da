/* engine/models/nets.c — models at several batch sizes over one arena (nets.h). */
#include "nets.h"

#include <string.h> // memset

void netset_init(NetSet *s, Dev *d)
{
    memset(s, 0, sizeof *s);
    arena_init(&s->a, d);
}

int net_batches(int n, int batch, bool drop_last, int sizes[2])
{
    sizes[0] = MIN(batch, n);
    sizes[1] = n > batch && !drop_last ? n % batch : 0;
    return sizes[1] ? 2 : 1;
}

// builds n's graph over n->p at res with knobs k
static void build(Net *n, const ModelKnobs *k, int res)
{
    graph_free(&n->g);
    graph_init(&n->g, n->p);
    n->k = *k;
    n->res = res;
    model_build(&n->g, n->model, k, n->batch, res);
    graph_fuse(&n->g); // BN-ReLU and add-ReLU run as one op each way
    if (n->mode == GRAPH_EVAL) {
        graph_fold_bn(&n->g);     // and BN into its conv (net_refresh)
        graph_chain_convs(&n->g); // an expansion and its depthwise conv as one op
    }
    n->out = n->g.node[n->g.n_node - 1].out;
    n->classes = graph_shape(&n->g, n->out).c;
}

Net *netset_add(NetSet *s, Params *p, const char *model, const ModelKnobs *k, int batch, int res, GraphMode mode)
{
    CHECK(s->n < NETSET_MAX, "netset_add: more than %d models in one set", NETSET_MAX);
    CHECK(batch > 0, "netset_add: %s for a batch of %d", model, batch);
    Net *n = &s->net[s->n++];
    memset(n, 0, sizeof *n);
    n->model = model;
    n->p = p;
    n->batch = batch;
    n->mode = mode;
    build(n, k, res);
    return n;
}

Net *netset_find(NetSet *s, const Params *p, int batch, GraphMode mode)
{
    for (int i = 0; i < s->n; i++)
        if (s->net[i].p == p && s->net[i].batch == batch && s->net[i].mode == mode) return &s->net[i];
    return NULL;
}

void netset_rebuild(NetSet *s, Net *n, const ModelKnobs *k, int res)
{
    CHECK(n >= s->net && n < s->net + s->n, "netset_rebuild: not a net of this set");
    build(n, k, res);
}

void netset_plan(NetSet *s, void (*reserve)(NetSet *s, int i, void *user), void *user)
{
    arena_begin(&s->a);
    for (int i = 0; i < s->n; i++) {
        graph_plan(&s->net[i].g, &s->a, s->net[i].mode);
        if (reserve) reserve(s, i, user);
    }
    arena_commit(&s->a);
}

void net_forward(NetSet *s, Net *n, const float *x, bool train, uint64_t seed, uint64_t sample0)
{
    Dev *d = s->a.dev;
    dev_upload(d, graph_val(&n->g, &s->a, 0), x, shape_numel(graph_shape(&n->g, 0)) * sizeof(float));
    graph_forward(&n->g, d, &s->a, train, seed, sample0);
}

void net_logits(NetSet *s, Net *n, const float *x, float *logits)
{
    net_forward(s, n, x, false, 0, 0); // eval: running BN statistics, no draws
    dev_download(s->a.dev, logits, graph_val(&n->g, &s->a, n->out), (size_t)n->batch * n->classes * sizeof(float));
}

void net_refresh(NetSet *s, Net *n) { graph_refresh_folds(&n->g, s->a.dev, &s->a); }

void netset_refresh(NetSet *s, const Params *p)
{
    for (int i = 0; i < s->n; i++)
        if (s->net[i].p == p && s->net[i].mode == GRAPH_EVAL) net_refresh(s, &s->net[i]);
}

void netset_free(NetSet *s)
{
    for (int i = 0; i < s->n; i++) graph_free(&s->net[i].g);
    arena_free(&s->a);
    s->n = 0;
}
