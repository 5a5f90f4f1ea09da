/* engine/models/models.c — the registry of models.h over the families' own tables. */
#include "models.h"

#include <stdio.h>  // snprintf
#include <string.h> // strcat

#include "resnet.h"

ModelKnobs model_knobs_default(void)
{
    ModelKnobs k = {1, 1, 0, 0, 0, 0, 0};
    return k;
}

bool model_known(const char *name)
{
    ResNetArgs a;
    return resnet_args(name, &a);
}

const char *model_names(void) { return resnet_names(); }

int model_default_res(const char *name) { return resnet_default_res(name); }

int model_check(const char *name, const ModelKnobs *k)
{
    if (!model_known(name)) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return ERR_ARG;
    }
    if (k->depth != 1) {
        log_error("model %s: ResNets take no depth multiplier (depth %g): choose the depth by name",
                  name, k->depth);
        return ERR_ARG;
    }
    return 0;
}

int model_build(Graph *g, const char *name, const ModelKnobs *k, int batch, int res)
{
    ResNetArgs a;
    CHECK(resnet_args(name, &a) && k->depth == 1, "model_build: %s with depth %g: call model_check "
          "first", name, k->depth);
    a.width = k->width;
    a.dropout = k->dropout;
    a.drop_path = k->drop_path;
    if (k->se_ratio > 0) a.se_ratio = k->se_ratio;
    if (k->in_chans > 0) a.in_chans = k->in_chans;
    if (k->num_classes > 0) a.num_classes = k->num_classes;
    return resnet_build(g, a, batch, res);
}
