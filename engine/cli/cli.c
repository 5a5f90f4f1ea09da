/* engine/cli/cli.c — the options every model-building command shares (cli.h). */
#include "cli.h"

#include <stdlib.h> // strtol
#include <string.h> // strcmp, strchr

#include "io/weights.h" // weights_recipe, weights_shape: a model's knobs from its weights

void cli_model_defaults(TrainConfig *c)
{
    recipe_defaults(c);
    c->net = model_knobs_default(); // the named model's own channels and classes
    c->res = 0;                     // its own resolution (or the input's)
}

int cli_positive_arg(const char *flag, const char *v, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n <= 0 || n > 100000) {
        log_error("%s %s: expected a positive integer", flag, v);
        return 2;
    }
    *out = (int)n;
    return 0;
}

// "model.KEY=VALUE" (or "KEY=VALUE", the section left out) into c through the recipe key table;
// other sections and the keys a command names otherwise are refused
static int set_model_key(TrainConfig *c, const char *kv, int index)
{
    char where[32];
    snprintf(where, sizeof where, "--set %d", index);
    const char *eq = strchr(kv, '='), *dot = strchr(kv, '.');
    char set[1200];
    if (eq && (!dot || dot > eq)) snprintf(set, sizeof set, "model.%s", kv);
    else snprintf(set, sizeof set, "%s", kv);
    if (strncmp(set, "model.", 6)) {
        log_error("--set %s: this command takes the [model] keys only (model.width=0.5, or width=0.5; "
                  "see repro recipe --keys)", kv);
        return 2;
    }
    if (!strncmp(set, "model.name=", 11) || !strncmp(set, "model.weights=", 14)) {
        log_error("--set %s: the model and its weights are this command's NAME / --model and --weights", kv);
        return 2;
    }
    return recipe_set(c, set, where) ? 2 : 0;
}

int cli_model_option(int argc, char **argv, int *i, TrainConfig *c, int *n)
{
    const char *o = argv[*i];
    if (*i + 1 >= argc) return 0;
    const char *v = argv[*i + 1];
    int rc, x = 0;
    char set[64];
    if (!strcmp(o, "--res") || !strcmp(o, "--classes") || !strcmp(o, "--in-chans")) {
        if ((rc = cli_positive_arg(o, v, &x))) return rc;
        snprintf(set, sizeof set, "model.%s=%d", !strcmp(o, "--res") ? "res" : !strcmp(o, "--classes") ? "classes"
                                                                                                        : "in_chans", x);
        rc = recipe_set(c, set, o) ? 2 : 0;
    } else if (!strcmp(o, "--set")) rc = set_model_key(c, v, ++*n);
    else return 0;
    *i += 1;
    return rc ? 2 : 1;
}

int cli_check_model(const char *name, const ModelKnobs *k)
{
    if (!model_known(name)) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return 2;
    }
    return model_check(name, k) ? 2 : 0;
}

bool cli_reparam_or_noop(const char *name, const char *cmd)
{
    if (model_has_reparam(name)) return true;
    printf("%s: %s has no re-parameterizable branches: --reparam changes nothing\n", cmd, name);
    return false;
}

int cli_model_base(TrainConfig *c, const char *name, const char *weights)
{
    char *text = NULL;
    if (weights && weights_recipe(weights, &text)) return 1;
    if (!text) return 0;
    TrainConfig r;
    char *needs = NULL, errors[2048] = "";
    size_t len = 0;
    FILE *m = open_memstream(&needs, &len); // a data set this machine lacks does not matter here
    CHECK(m, "cli: open_memstream failed");
    log_capture(errors, sizeof errors); // an older checkpoint's recipe may use keys since renamed
    int rc = recipe_parse(&r, weights, text, 0, NULL, m);
    log_capture(NULL, 0);
    fclose(m);
    free(needs);
    free(text);
    if (rc < 0)
        printf("%s: its stored recipe does not load in this build (%.*s); the model's knobs come from the "
               "options alone\n", weights, (int)strcspn(errors, "\n"), errors);
    else if (!strcmp(r.model, name)) c->net = r.net; // not its res: the input's or the model's own
    return 0;
}

int cli_model_from_weights(TrainConfig *c, const char *name, const char *weights)
{
    if (!weights || (c->net.in_chans && c->net.num_classes)) return 0;
    // the names of the stem conv (the first 4-D entry) and the classifier (the last 2-D one)
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, name, &c->net, 1, c->res ? c->res : model_default_res(name));
    char stem[96] = "", fc[96] = "";
    for (int i = 0; i < p.count; i++) {
        if (p.info[i].ndim == 4 && !stem[0]) snprintf(stem, sizeof stem, "%s", p.info[i].name);
        if (p.info[i].ndim == 2) snprintf(fc, sizeof fc, "%s", p.info[i].name);
    }
    graph_free(&g);
    params_free(&p);
    int nd = 0;
    int64_t d[4];
    if (!c->net.in_chans && stem[0]) {
        if (weights_shape(weights, stem, &nd, d)) return 1;
        if (nd == 4 && d[3] >= 1 && d[3] <= 4) c->net.in_chans = (int)d[3];
    }
    if (!c->net.num_classes && fc[0]) {
        if (weights_shape(weights, fc, &nd, d)) return 1;
        if (nd == 2 && d[0] >= 2) c->net.num_classes = (int)d[0];
    }
    return 0;
}
