/* engine/models/models.c — the registry of models.h over the families' own tables. */
#include "models.h"

#include <stdio.h>  // snprintf
#include <stdlib.h> // strtod
#include <string.h> // strcat

#include "efficientnet.h"
#include "resnet.h"

ModelKnobs model_knobs_default(void)
{
    ModelKnobs k = {.width = 1, .depth = 1, .fused_stages = -1};
    return k;
}

bool model_known(const char *name)
{
    ResNetArgs a;
    EffNetArgs e;
    return resnet_args(name, &a) || effnet_args(name, &e, NULL);
}

const char *model_names(void)
{
    static char buf[2048];
    if (!buf[0]) snprintf(buf, sizeof buf, "%s, %s", resnet_names(), effnet_names());
    return buf;
}

int model_default_res(const char *name)
{
    EffNetArgs e;
    int res;
    return effnet_args(name, &e, &res) ? res : resnet_default_res(name);
}

int model_check(const char *name, const ModelKnobs *k)
{
    if (!model_known(name)) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return ERR_ARG;
    }
    EffNetArgs e;
    if (!effnet_args(name, &e, NULL)) {
        if (k->depth != 1) {
            log_error("model %s: ResNets take no depth multiplier (depth %g): choose the depth by "
                      "name", name, k->depth);
            return ERR_ARG;
        }
        if (k->fused_stages != -1) {
            log_error("model %s: fused_stages %d applies to the EfficientNet family only", name,
                      k->fused_stages);
            return ERR_ARG;
        }
        return 0;
    }
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
    EffNetArgs e;
    if (effnet_args(name, &e, NULL)) {
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
