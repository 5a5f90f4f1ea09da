/* engine/models/models.c — the registry of models.h over the families' own tables: ResNets
 * (resnet.h), the MobileNet/EfficientNet family (efficientnet.h), GhostNetV3 (ghostnet.h). Each
 * family says which knobs it takes; model_check turns the others into one clear line.
 */
#include "models.h"

#include <stdio.h>  // snprintf
#include <stdlib.h> // strtod
#include <string.h> // strcat

#include "efficientnet.h"
#include "ghostnet.h"
#include "resnet.h"

typedef enum { FAM_NONE, FAM_RESNET, FAM_EFFNET, FAM_GHOST } Family;

static Family family_of(const char *name)
{
    ResNetArgs r;
    EffNetArgs e;
    GhostNetArgs g;
    if (resnet_args(name, &r)) return FAM_RESNET;
    if (effnet_args(name, &e, NULL)) return FAM_EFFNET;
    if (ghostnet_args(name, &g)) return FAM_GHOST;
    return FAM_NONE;
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

bool model_known(const char *name) { return family_of(name) != FAM_NONE; }

const char *model_names(void)
{
    static char buf[4096];
    if (!buf[0]) snprintf(buf, sizeof buf, "%s, %s, %s", resnet_names(), effnet_names(), ghostnet_names());
    return buf;
}

int model_default_res(const char *name)
{
    EffNetArgs e;
    int res;
    if (effnet_args(name, &e, &res)) return res;
    return family_of(name) == FAM_GHOST ? 224 : resnet_default_res(name);
}

bool model_has_reparam(const char *name) { return family_of(name) == FAM_GHOST; }

int model_check_res(const char *name, int res)
{
    // stem and four stride-2 blocks, each ceil(h / 2): the last stage is ceil(res / 32), and its
    // DFC attention's 2x2 pool needs 2 rows
    if (family_of(name) == FAM_GHOST && res < 33) {
        log_error("model %s: res %d is too small: its last stage would be %dx%d, and its DFC attention "
                  "pools 2x2 (valid: res >= 33)", name, res, (res + 31) / 32, (res + 31) / 32);
        return ERR_ARG;
    }
    return 0;
}

int model_check(const char *name, const ModelKnobs *k)
{
    Family f = family_of(name);
    if (f == FAM_NONE) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return ERR_ARG;
    }
    if (f != FAM_EFFNET && k->depth != 1) {
        log_error("model %s: %s take no depth multiplier (depth %g): choose the depth by name", name,
                  f == FAM_GHOST ? "GhostNets" : "ResNets", k->depth);
        return ERR_ARG;
    }
    if (f != FAM_EFFNET && k->fused_stages != -1) {
        log_error("model %s: fused_stages %d applies to the EfficientNet family only", name,
                  k->fused_stages);
        return ERR_ARG;
    }
    if (f != FAM_GHOST && k->reparam) {
        log_error("model %s has no re-parameterizable branches to fold (GhostNetV3 has: %s)", name,
                  ghostnet_names());
        return ERR_ARG;
    }
    if (f == FAM_GHOST && k->drop_path > 0) {
        log_error("model %s: timm's GhostNet has no stochastic depth (drop_path %g): set it to 0",
                  name, k->drop_path);
        return ERR_ARG;
    }
    if (!(k->bn_momentum >= 0 && k->bn_momentum <= 1)) {
        log_error("model %s: bn_momentum %g: expected 0 .. 1 (0: the model's own, unless bn_momentum_tf)",
                  name, k->bn_momentum);
        return ERR_ARG;
    }
    if (!(k->bn_eps >= 0 && k->bn_eps < 1)) {
        log_error("model %s: bn_eps %g: expected 0 (the model's own) or a small positive number", name,
                  k->bn_eps);
        return ERR_ARG;
    }
    if (f != FAM_EFFNET) return 0;
    EffNetArgs e;
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

int model_build(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    Family f = family_of(name);
    CHECK(f != FAM_NONE && (f == FAM_EFFNET || (k->depth == 1 && k->fused_stages == -1)) &&
              (f == FAM_GHOST || !k->reparam) && (f != FAM_GHOST || k->drop_path == 0),
          "model_build: %s with these knobs: call model_check first", name);
    // every family builds its BN nodes with the graph's settings (PyTorch's, from graph_init)
    if (k->bn_eps > 0) g->bn_eps = k->bn_eps;
    g->bn_momentum = model_bn_momentum(k, g->bn_momentum);
    if (f == FAM_EFFNET) {
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
    if (f == FAM_GHOST) {
        GhostNetArgs ga;
        ghostnet_args(name, &ga);
        ga.width *= k->width;
        ga.se_ratio = k->se_ratio;
        ga.dropout = k->dropout;
        if (k->in_chans > 0) ga.in_chans = k->in_chans;
        if (k->num_classes > 0) ga.num_classes = k->num_classes;
        ga.folded = k->reparam;
        return ghostnet_build(g, ga, batch, res);
    }
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

int model_reparameterize(Graph *g, Params *p, const char *name, const ModelKnobs *k,
                         const Params *trained, int batch, int res)
{
    CHECK(family_of(name) == FAM_GHOST, "model_reparameterize: %s has no re-parameterizable branches "
          "(valid: %s)", name, ghostnet_names());
    CHECK(p->count == 0 && trained->dev, "model_reparameterize: %s: the folded table must be empty "
          "(has %d entries) and the trained one allocated", name, p->count);
    ModelKnobs fk = *k;
    fk.reparam = true;
    int out = model_build(g, name, &fk, batch, res);
    CHECK(params_alloc(p, trained->dev, 0, false) == 0, "model_reparameterize: %s: no memory for "
          "the folded table", name);
    model_fold(g, p, trained);
    return out;
}

void model_fold(const Graph *g, Params *p, const Params *trained)
{
    // every BN of the model was built with the graph's epsilon (model_build), the folded
    // graph's as the trained one's: the knobs are the same
    ghost_fold(p, trained, g->bn_eps);
}
