/* engine/repro.c — the suite's command line: `repro COMMAND ...`.
 *
 * Commands (each has --help):
 *   model NAME [--res N] [--batch N] [--classes K] [--in-chans C] [--set key=value ...]
 *       builds the named model, prints its layer table, then "params: N" and "macs: N"
 *       (conv + linear multiply-accumulates per image at that resolution).
 * More commands (train, export, logits, check) arrive with the issues that need them.
 */
#include <stdio.h>  // printf
#include <string.h> // strcmp, strchr

#include "models/resnet.h"

static int usage_model(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s model NAME [--res N] [--batch N] [--classes K] [--in-chans C] "
               "[--set key=value ...]\n"
               "  prints the layer table of a named model, then params and macs (conv + linear\n"
               "  multiply-accumulates per image at that resolution).\n"
               "  keys for --set: width, drop_path, dropout, se_ratio, avg_down (0|1)\n"
               "  models: %s\n", prog, resnet_names());
    return f == stdout ? 0 : 2;
}

// key=value overrides of a model's knobs; returns 0, or 2 with a message naming the key
static int set_knob(ResNetArgs *a, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq) {
        log_error("--set %s: expected key=value", kv);
        return 2;
    }
    char key[32];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    char *end;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end) {
        log_error("--set %s: '%s' is not a number", kv, eq + 1);
        return 2;
    }
    if (!strcmp(key, "width") && v > 0) a->width = (float)v;
    else if (!strcmp(key, "drop_path") && v >= 0 && v < 1) a->drop_path = (float)v;
    else if (!strcmp(key, "dropout") && v >= 0 && v < 1) a->dropout = (float)v;
    else if (!strcmp(key, "se_ratio") && v >= 0 && v <= 1) a->se_ratio = (float)v;
    else if (!strcmp(key, "avg_down") && (v == 0 || v == 1)) a->avg_down = v == 1;
    else {
        log_error("--set %s: unknown key or value out of range (keys: width > 0, drop_path and "
                  "dropout in [0,1), se_ratio in [0,1], avg_down 0|1)", kv);
        return 2;
    }
    return 0;
}

static int positive_arg(const char *flag, const char *v, int *out)
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

static int cmd_model(int argc, char **argv, const char *prog)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return usage_model(argc < 1 ? stderr : stdout, prog);
    const char *name = argv[0];
    ResNetArgs a;
    if (!resnet_args(name, &a)) {
        log_error("unknown model '%s' (valid: %s)", name, resnet_names());
        return 2;
    }
    int res = resnet_default_res(name), batch = 1, rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--res") && has) rc = positive_arg("--res", argv[++i], &res);
        else if (!strcmp(argv[i], "--batch") && has) rc = positive_arg("--batch", argv[++i], &batch);
        else if (!strcmp(argv[i], "--classes") && has) rc = positive_arg("--classes", argv[++i], &a.num_classes);
        else if (!strcmp(argv[i], "--in-chans") && has) rc = positive_arg("--in-chans", argv[++i], &a.in_chans);
        else if (!strcmp(argv[i], "--set") && has) rc = set_knob(&a, argv[++i]);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_model(stdout, prog);
        else {
            log_error("model: unknown or incomplete argument '%s'", argv[i]);
            return usage_model(stderr, prog);
        }
    }
    if (rc) return rc;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    resnet_build(&g, a, batch, res);
    graph_print(&g, stdout);
    printf("model: %s at %dx%d, %d input channel(s), %d classes\n", name, res, res, a.in_chans,
           a.num_classes);
    printf("params: %zu\n", params_count(&p, true));
    printf("macs: %llu\n", (unsigned long long)graph_macs(&g));
    graph_free(&g);
    params_free(&p);
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: %s COMMAND [ARGS]   (COMMAND --help for its arguments)\n"
                "commands:\n  model    print a named model's layers, params and macs\n", prog);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "model")) return cmd_model(argc - 2, argv + 2, prog);
    log_error("unknown command '%s' (valid: model)", argv[1]);
    return 2;
}
