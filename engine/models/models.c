/* engine/models/models.c — the registry of models.h: one table of families (resnet.c,
 * efficientnet.c with mobilenet.c's table, ghostnet.c), each saying which knobs it takes and how it
 * builds; the checks every family shares are here, once, and each turns a knob a family does not
 * take into one clear line.
 */
#include "models.h"

#include <stdio.h>  // snprintf
#include <string.h> // strlen

static const ModelFamily *const families[] = {&resnet_family, &effnet_family, &ghostnet_family};

static const ModelFamily *family_of(const char *name)
{
    for (int i = 0; i < LEN(families); i++)
        if (families[i]->known(name)) return families[i];
    return NULL;
}

ModelKnobs model_knobs_default(void)
{
    ModelKnobs k = {.width = 1, .depth = 1, .fused_stages = -1};
    return k;
}

float model_bn_momentum(const ModelKnobs *k, float own)
{
    if (k->bn_momentum == 0 && !k->bn_momentum_tf) return own;
    return k->bn_momentum_tf ? 1.0f - k->bn_momentum : k->bn_momentum;
}

bool model_known(const char *name) { return family_of(name) != NULL; }

// the names of the families that fold (fold_only) or of all, ", "-separated, into buf
static const char *family_names(bool fold_only, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < LEN(families) && at < cap; i++)
        if (!fold_only || families[i]->fold)
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", families[i]->names());
    return buf;
}

const char *model_names(void)
{
    static char buf[4096];
    return buf[0] ? buf : family_names(false, buf, sizeof buf);
}

static const char *reparam_names(void)
{
    static char buf[512];
    return buf[0] ? buf : family_names(true, buf, sizeof buf);
}

int model_default_res(const char *name)
{
    const ModelFamily *f = family_of(name);
    return f ? f->default_res(name) : 0;
}

bool model_has_reparam(const char *name)
{
    const ModelFamily *f = family_of(name);
    return f && f->fold;
}

int model_check_res(const char *name, int res)
{
    const ModelFamily *f = family_of(name);
    return f && f->check_res ? f->check_res(name, res) : 0;
}

int model_final_map(const char *name, const ModelKnobs *k, int res)
{
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, name, k, 1, res);
    int side = 0;
    for (int i = g.n_node - 1; i >= 0 && !side; i--)
        if (g.node[i].kind == G_GAP) {
            Shape4 s = graph_shape(&g, g.node[i].in[0]);
            side = s.h < s.w ? s.h : s.w;
        }
    graph_free(&g);
    params_free(&p);
    return side;
}

int model_check(const char *name, const ModelKnobs *k)
{
    const ModelFamily *f = family_of(name);
    if (!f) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return ERR_ARG;
    }
    if (!f->takes_depth && k->depth != 1) {
        log_error("model %s: %s take no depth multiplier (depth %g): choose the depth by name", name, f->plural,
                  k->depth);
        return ERR_ARG;
    }
    if (!f->takes_fused_stages && k->fused_stages != -1) {
        log_error("model %s: fused_stages %d applies to the EfficientNet family only", name, k->fused_stages);
        return ERR_ARG;
    }
    if (!f->fold && k->reparam) {
        log_error("model %s has no re-parameterizable branches to fold (GhostNetV3 has: %s)", name,
                  reparam_names());
        return ERR_ARG;
    }
    if (k->no_bn && f != &resnet_family) {
        log_error("model %s: no_bn (every batch norm left out) applies to the ResNets only", name);
        return ERR_ARG;
    }
    if (!(k->bn_momentum >= 0 && k->bn_momentum <= 1)) {
        log_error("model %s: bn_momentum %g: expected 0 .. 1 (0: the model's own, unless bn_momentum_tf)",
                  name, k->bn_momentum);
        return ERR_ARG;
    }
    if (k->branches && !f->fold) {
        log_error("model %s: branches %d applies to GhostNetV3's re-parameterizable convs only (%s); 0 = the "
                  "model's own", name, k->branches, reparam_names());
        return ERR_ARG;
    }
    if (!(k->bn_eps >= 0 && k->bn_eps < 1)) {
        log_error("model %s: bn_eps %g: expected 0 (the model's own) or a small positive number", name,
                  k->bn_eps);
        return ERR_ARG;
    }
    return f->check ? f->check(name, k) : 0;
}

int model_build(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    const ModelFamily *f = family_of(name);
    CHECK(f && (f->takes_depth || k->depth == 1) && (f->takes_fused_stages || k->fused_stages == -1) &&
              (f->fold || !k->reparam),
          "model_build: %s with these knobs: call model_check first", name);
    // every family builds its BN nodes with the graph's settings (PyTorch's, from graph_init)
    if (k->bn_eps > 0) g->bn_eps = k->bn_eps;
    g->no_norm = k->no_bn;
    g->bn_momentum = model_bn_momentum(k, g->bn_momentum);
    return f->build(g, name, k, batch, res);
}

int model_reparameterize(Graph *g, Params *p, const char *name, const ModelKnobs *k,
                         const Params *trained, int batch, int res)
{
    CHECK(model_has_reparam(name), "model_reparameterize: %s has no re-parameterizable branches "
          "(valid: %s)", name, reparam_names());
    CHECK(p->count == 0 && trained->dev, "model_reparameterize: %s: the folded table must be empty "
          "(has %d entries) and the trained one allocated", name, p->count);
    ModelKnobs fk = *k;
    fk.reparam = true;
    int out = model_build(g, name, &fk, batch, res);
    CHECK(params_alloc(p, trained->dev, 0, false) == 0, "model_reparameterize: %s: no memory for "
          "the folded table", name);
    model_fold(name, g, p, trained);
    return out;
}

void model_fold(const char *name, const Graph *g, Params *p, const Params *trained)
{
    CHECK(model_has_reparam(name), "model_fold: %s has no re-parameterizable branches", name);
    // every BN of the model was built with the graph's epsilon (model_build), the folded
    // graph's as the trained one's: the knobs are the same
    family_of(name)->fold(p, trained, g->bn_eps);
}
