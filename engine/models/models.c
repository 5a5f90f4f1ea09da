/* engine/models/models.c — the registry of models.h over the families' own tables. */
#include "models.h"

#include <stdio.h>  // snprintf
#include <string.h> // strcat

#include "ghostnet.h"
#include "resnet.h"

ModelKnobs model_knobs_default(void)
{
    ModelKnobs k = {1, 1, 0, 0, 0, 0, 0, false};
    return k;
}

static bool is_ghostnet(const char *name)
{
    GhostNetArgs a;
    return ghostnet_args(name, &a);
}

bool model_known(const char *name)
{
    ResNetArgs a;
    return resnet_args(name, &a) || is_ghostnet(name);
}

const char *model_names(void)
{
    static char buf[2048];
    if (!buf[0]) snprintf(buf, sizeof buf, "%s, %s", resnet_names(), ghostnet_names());
    return buf;
}

int model_default_res(const char *name) { return is_ghostnet(name) ? 224 : resnet_default_res(name); }

int model_check(const char *name, const ModelKnobs *k)
{
    if (!model_known(name)) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return ERR_ARG;
    }
    bool ghost = is_ghostnet(name);
    if (k->depth != 1) {
        log_error("model %s: %s take no depth multiplier (depth %g): choose the depth by name",
                  name, ghost ? "GhostNets" : "ResNets", k->depth);
        return ERR_ARG;
    }
    if (ghost && k->drop_path > 0) {
        log_error("model %s: timm's GhostNet has no stochastic depth (drop_path %g): set it to 0",
                  name, k->drop_path);
        return ERR_ARG;
    }
    if (!ghost && k->reparam) {
        log_error("model %s has no re-parameterizable branches to fold (GhostNetV3 has: %s)", name,
                  ghostnet_names());
        return ERR_ARG;
    }
    return 0;
}

int model_build(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    GhostNetArgs ga;
    if (ghostnet_args(name, &ga)) {
        CHECK(k->depth == 1 && k->drop_path == 0, "model_build: %s with depth %g drop_path %g: call "
              "model_check first", name, k->depth, k->drop_path);
        ga.width *= k->width;
        ga.se_ratio = k->se_ratio;
        ga.dropout = k->dropout;
        if (k->in_chans > 0) ga.in_chans = k->in_chans;
        if (k->num_classes > 0) ga.num_classes = k->num_classes;
        ga.folded = k->reparam;
        return ghostnet_build(g, ga, batch, res);
    }
    ResNetArgs a;
    CHECK(resnet_args(name, &a) && k->depth == 1 && !k->reparam, "model_build: %s with depth %g "
          "reparam %d: call model_check first", name, k->depth, k->reparam);
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
    CHECK(is_ghostnet(name), "model_reparameterize: %s has no re-parameterizable branches (valid: "
          "%s)", name, ghostnet_names());
    CHECK(p->count == 0 && trained->dev, "model_reparameterize: %s: the folded table must be empty "
          "(has %d entries) and the trained one allocated", name, p->count);
    ModelKnobs fk = *k;
    fk.reparam = true;
    int out = model_build(g, name, &fk, batch, res);
    CHECK(params_alloc(p, trained->dev, 0, false) == 0, "model_reparameterize: %s: no memory for "
          "the folded table", name);
    ghost_fold(p, trained, g->bn_eps);
    return out;
}
