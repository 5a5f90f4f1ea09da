/* engine/repro.c — the suite's command line: `repro COMMAND ...`.
 *
 * Commands (each has --help):
 *   model NAME [--res N] [--batch N] [--classes K] [--in-chans C] [--reparam] [--set key=value ...]
 *       builds the named model, prints its layer table, then "params: N" and "macs: N"
 *       (conv + linear multiply-accumulates per image at that resolution); --reparam: its
 *       inference form, re-parameterizable branches folded (GhostNetV3). model --list: the names.
 *   train --recipe FILE [--set section.key=value ...] [--weights FILE] [--out DIR] [--study NAME]
 *         [--resume | --force]
 *       trains a recipe, printing the resolved recipe first and a line per epoch, and keeps
 *       DIR/<run id>.h5 and the checkpoint DIR/<run id>.safetensors (default results/<study>/,
 *       study "adhoc") up to date after every epoch; --resume continues from the checkpoint;
 *       --weights starts from a timm state dict or checkpoint (model.weights).
 *   export NAME [model options] [--seed S | --weights FILE [--ema]] [--reparam] --out FILE.safetensors
 *       writes the model's state dict in timm's layout (io/weights.h), from our initializer or a file;
 *       --reparam: folded first, under timm's names after reparameterize() (GhostNetV3).
 *   eval --model NAME --weights FILE [--ema] [--reparam] [--recipe FILE] [--set section.key=value ...]
 *        [--backend B]
 *       top-1, top-5, loss and images/s of the weights on the recipe's test split (its data
 *       settings: resolution, normalization, eval crop); --reparam: the folded form.
 *   logits --model NAME --weights FILE [--ema] --input X.npy --out Y.npy [model options]
 *          [--backend B] [--batch B]
 *       eval-mode logits (N, classes) of an (N, H, W, C) float32 batch, as .npy (io/npy.h).
 *   recipe --keys
 *       every recipe key with its default, what is valid and what it means (io/recipe.c's table).
 * More commands (check) arrive with the issues that need them.
 */
#include <stdio.h>  // printf
#include <string.h> // strcmp, strchr

#include <sys/stat.h> // stat: export RUN.h5 | DIR

#include "io/npy.h"     // npy_read, npy_write: logits' input and output
#include "io/recipe.h"  // recipe_load: eval's data settings
#include "io/run.h"     // run_train: repro train
#include "io/weights.h" // weights_export, weights_load
#include "models/models.h"
#ifdef HAVE_HDF5
#include "io/export.h"       // repro export RUN.h5 | DIR
#include "../studies/study.h" // repro check
#endif

// each usage_*: the command's usage on f; returns the exit status, 0 for --help (stdout), else 2
static int usage_model(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s model NAME [--res N] [--batch N] [--classes K] [--in-chans C] "
               "[--reparam] [--set key=value ...]\n"
               "       %s model --list\n"
               "  prints the layer table of a named model, then params and macs (conv + linear\n"
               "  multiply-accumulates per image at that resolution); --list prints the names, one\n"
               "  a line. --reparam: the inference form, each set of parallel conv-BN branches\n"
               "  folded into one conv with bias, as timm's reparameterize() (GhostNetV3)\n"
               "  keys for --set: width, depth (multipliers), drop_path, dropout, se_ratio,\n"
               "  fused_stages (EfficientNet: the first N stages Fused-MBConv), bn_eps (batch norm\n"
               "  epsilon, eval included; 0 = the model's own)\n"
               "  models: %s\n", prog, prog, model_names());
    return f == stdout ? 0 : 2;
}

// key=value overrides of a model's knobs; returns 0, or 2 with a message naming the key
static int set_knob(ModelKnobs *a, const char *kv)
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
    else if (!strcmp(key, "depth") && v > 0) a->depth = (float)v;
    else if (!strcmp(key, "drop_path") && v >= 0 && v < 1) a->drop_path = (float)v;
    else if (!strcmp(key, "dropout") && v >= 0 && v < 1) a->dropout = (float)v;
    else if (!strcmp(key, "se_ratio") && v >= 0 && v <= 1) a->se_ratio = (float)v;
    else if (!strcmp(key, "fused_stages") && v == (int)v && v >= -1 && v <= 16) a->fused_stages = (int)v;
    else if (!strcmp(key, "bn_eps") && v >= 0 && v <= 0.1) a->bn_eps = (float)v;
    else {
        log_error("--set %s: unknown key or value out of range (keys: width > 0, depth > 0, "
                  "drop_path and dropout in [0,1), se_ratio in [0,1], fused_stages -1 .. 16, "
                  "bn_eps in [0,0.1])", kv);
        return 2;
    }
    return 0;
}

// a positive integer argument of flag into *out; 0, or 2 with a message naming flag and value
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

// the options of every command that builds a named model: --res N, --classes K, --in-chans C,
// --set key=value. Returns 1 when argv[*i] is one (its value consumed, *i moved past it), 0 when
// it is not, 2 when its value is bad (said why)
static int model_option(int argc, char **argv, int *i, ModelKnobs *a, int *res)
{
    const char *o = argv[*i];
    if (*i + 1 >= argc) return 0;
    int rc;
    if (!strcmp(o, "--res")) rc = positive_arg(o, argv[*i + 1], res);
    else if (!strcmp(o, "--classes")) rc = positive_arg(o, argv[*i + 1], &a->num_classes);
    else if (!strcmp(o, "--in-chans")) rc = positive_arg(o, argv[*i + 1], &a->in_chans);
    else if (!strcmp(o, "--set")) rc = set_knob(a, argv[*i + 1]);
    else return 0;
    *i += 1;
    return rc ? 2 : 1;
}

// 0 when name is a registered model that takes the knobs a, else 2 with the message
static int check_model(const char *name, const ModelKnobs *a)
{
    if (!model_known(name)) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return 2;
    }
    return model_check(name, a) ? 2 : 0;
}

// the registry's names, one a line (scripts iterate over them: tests/timm_weights.py)
static int list_models(void)
{
    const char *s = model_names();
    while (*s) {
        size_t n = strcspn(s, ",");
        printf("%.*s\n", (int)n, s);
        s += n;
        s += strspn(s, ", ");
    }
    return 0;
}

// repro model: the layer table, params and macs of a named model (usage_model)
static int cmd_model(int argc, char **argv, const char *prog)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return usage_model(argc < 1 ? stderr : stdout, prog);
    if (!strcmp(argv[0], "--list")) return list_models();
    const char *name = argv[0];
    ModelKnobs a = model_knobs_default();
    int res = model_default_res(name), batch = 1, rc = check_model(name, &a);
    for (int i = 1; i < argc && !rc; i++) {
        int m = model_option(argc, argv, &i, &a, &res);
        if (m == 2) return 2;
        if (m == 1) continue;
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) rc = positive_arg("--batch", argv[++i], &batch);
        else if (!strcmp(argv[i], "--reparam")) a.reparam = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_model(stdout, prog);
        else {
            log_error("model: unknown or incomplete argument '%s'", argv[i]);
            return usage_model(stderr, prog);
        }
    }
    if (rc || check_model(name, &a) || model_check_res(name, res)) return 2;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, name, &a, batch, res);
    graph_print(&g, stdout);
    Shape4 xs = graph_shape(&g, 0), ys = graph_shape(&g, g.node[g.n_node - 1].out);
    printf("model: %s%s at %dx%d, %d input channel(s), %d classes\n", name,
           a.reparam ? " (re-parameterized)" : "", res, res, xs.c, ys.c);
    printf("params: %zu\n", params_count(&p, true));
    printf("macs: %llu\n", (unsigned long long)graph_macs(&g));
    graph_free(&g);
    params_free(&p);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// weights out and in: export, logits

static int usage_export(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s export NAME [--res N] [--classes K] [--in-chans C] [--set key=value ...]\n"
               "           [--seed S | --weights FILE.safetensors [--ema]] [--reparam] --out FILE.safetensors\n"
               "       %s export RUN.h5 | DIR\n"
               "  RUN.h5: its epochs as RUN.csv; DIR: every DIR/*.h5 so, and DIR/summary.csv (one row a\n"
               "  run: identity, model, final, best and EMA top-1, speed, wall time; libcsv quoting).\n"
               "  NAME:\n"
               "  writes the named model's state dict in timm's layout (conv weights (OC,C/G,KH,KW),\n"
               "  batch-norm running statistics, an int64 num_batches_tracked per batch norm), so that\n"
               "  timm.create_model(NAME).load_state_dict(safetensors.torch.load_file(FILE), strict=True)\n"
               "  loads it. The weights are our initializer's for seed S (default 1), or those of\n"
               "  --weights: one of our checkpoints (--ema: its EMA weights) or a timm state dict.\n"
               "  --reparam: the weights folded into the inference form first (GhostNetV3: each set of\n"
               "  parallel conv-BN branches one conv with bias), under the names timm's model has after\n"
               "  reparameterize(); a no-op, said so, for a model without such branches.\n"
               "  The other options change the model as in `%s model`.\n", prog, prog, prog);
    return f == stdout ? 0 : 2;
}

#ifdef HAVE_HDF5
// repro export RUN.h5 | DIR: run files as CSV (io/export.h)
static int export_runs(const char *what)
{
    struct stat st;
    if (stat(what, &st) == 0 && S_ISDIR(st.st_mode)) {
        int n = export_dir(what);
        if (n < 0) return 1;
        printf("export: %d runs of %s -> %s/summary.csv and one <run>.csv each\n", n, what, what);
        return 0;
    }
    char csv[1100];
    snprintf(csv, sizeof csv, "%.*s.csv", (int)strlen(what) - 3, what);
    if (export_run_csv(what, csv)) return 1;
    printf("export: %s -> %s\n", what, csv);
    return 0;
}

static int usage_check(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s check [--published FILE] [--results DIR]\n"
               "  published vs reproduced: for each row of FILE (default results/published.csv) with\n"
               "  stored runs of its tier in DIR/<study>/ (default DIR results): published, reproduced\n"
               "  (mean +- std over seeds), difference, tolerance, verdict; then every study's claims on\n"
               "  its stored runs: supported / NOT SUPPORTED / not run, with the numbers. Exit status 1\n"
               "  when a reproduction is outside its tolerance (claims are reported, not enforced).\n", prog);
    return f == stdout ? 0 : 2;
}

// repro check (studies/check.c)
static int cmd_check(int argc, char **argv, const char *prog)
{
    const char *published = "results/published.csv", *results = "results";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--published") && i + 1 < argc) published = argv[++i];
        else if (!strcmp(argv[i], "--results") && i + 1 < argc) results = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_check(stdout, prog);
        else {
            log_error("check: unknown or incomplete argument '%s'", argv[i]);
            return usage_check(stderr, prog);
        }
    }
    return study_check_all(published, results, stdout);
}
#endif

static int usage_logits(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s logits --model NAME --weights FILE.safetensors [--ema] --input X.npy --out Y.npy\n"
               "           [--res N] [--classes K] [--in-chans C] [--set key=value ...]\n"
               "           [--backend cpu|ref|cuda] [--batch B]\n"
               "  runs the model in eval mode (batch norm on running statistics, no dropout) on X, a\n"
               "  float32 .npy array of shape (N, H, W, C) already normalized (NHWC, H = W = the\n"
               "  resolution, default X's), B images at a time (default 32), and writes the logits as\n"
               "  a float32 .npy array (N, classes). --weights: a timm state dict or one of our\n"
               "  checkpoints (--ema: its EMA weights). Backend default cpu.\n", prog);
    return f == stdout ? 0 : 2;
}

// declares the named model's parameters for (batch, res) on d and allocates them (weights only)
static void build_alloc(Graph *g, Params *p, Dev *d, const char *name, const ModelKnobs *a, int batch, int res)
{
    graph_init(g, p);
    model_build(g, name, a, batch, res);
    CHECK(params_alloc(p, d, 0, false) == 0, "repro: cannot allocate %s's parameters", name);
}

// --reparam of export and eval: true when the named model has branches to fold; else says that
// the flag changes nothing (a ResNet is its own inference form) and returns false
static bool reparam_or_noop(const char *name, const char *cmd)
{
    if (model_has_reparam(name)) return true;
    printf("%s: %s has no re-parameterizable branches: --reparam changes nothing\n", cmd, name);
    return false;
}

// repro export: a model's weights, ours or a file's, written as timm's state dict (usage_export)
static int cmd_export(int argc, char **argv, const char *prog)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return usage_export(argc < 1 ? stderr : stdout, prog);
#ifdef HAVE_HDF5
    size_t len = strlen(argv[0]);
    struct stat st;
    if ((len > 3 && !strcmp(argv[0] + len - 3, ".h5")) || (stat(argv[0], &st) == 0 && S_ISDIR(st.st_mode))) {
        if (argc > 1) {
            log_error("export %s: takes no options (got '%s')", argv[0], argv[1]);
            return 2;
        }
        return export_runs(argv[0]);
    }
#endif
    const char *name = argv[0], *weights = NULL, *out = NULL;
    ModelKnobs a = model_knobs_default();
    int res = model_default_res(name), rc = check_model(name, &a);
    unsigned long long seed = 1;
    bool ema = false, has_seed = false, fold = false;
    for (int i = 1; i < argc && !rc; i++) {
        int m = model_option(argc, argv, &i, &a, &res);
        if (m == 2) return 2;
        if (m == 1) continue;
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--seed") && has) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            has_seed = true;
            if (end == argv[i] || *end || argv[i][0] == '-') {
                log_error("--seed %s: expected an unsigned integer", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--weights") && has) weights = argv[++i];
        else if (!strcmp(argv[i], "--out") && has) out = argv[++i];
        else if (!strcmp(argv[i], "--ema")) ema = true;
        else if (!strcmp(argv[i], "--reparam")) fold = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_export(stdout, prog);
        else {
            log_error("export: unknown or incomplete argument '%s'", argv[i]);
            return usage_export(stderr, prog);
        }
    }
    if (rc || check_model(name, &a) || model_check_res(name, res)) return 2;
    if (!out || (weights && has_seed) || (ema && !weights)) {
        log_error("export: %s", !out ? "--out FILE is required" : ema ? "--ema needs --weights FILE"
                                                                     : "--seed and --weights exclude each other");
        return usage_export(stderr, prog);
    }
    Dev d;
    if (dev_open(&d, "ref")) return 1;
    Params p = {0};
    Graph g;
    build_alloc(&g, &p, &d, name, &a, 1, res);
    WeightsInfo info = {0};
    char source[600];
    if (weights) {
        rc = weights_load(&p, weights, ema, name, &info);
        snprintf(source, sizeof source, "%s%s", weights, ema ? " (ema)" : "");
    } else {
        graph_init_params(&g, seed);
        snprintf(source, sizeof source, "init seed %llu", seed);
    }
    fold = fold && reparam_or_noop(name, "export");
    Params pf = {0}; // the folded form's table (--reparam)
    Graph gf;
    if (fold) {
        graph_init(&gf, &pf);
        if (!rc) model_reparameterize(&gf, &pf, name, &a, &p, 1, res);
    }
    const Params *done = fold ? &pf : &p;
    if (!rc) rc = weights_export(out, done, name, info.step, source);
    if (!rc)
        printf("export: %s: %s%s in timm's layout (%zu parameters) from %s\n", out, name,
               fold ? " folded" : "", params_count(done, true), source);
    if (fold) graph_free(&gf);
    params_free(&pf);
    graph_free(&g);
    params_free(&p);
    dev_close(&d);
    return rc ? 1 : 0;
}

// the model for a batch size, planned for inference in a shared arena
typedef struct { Graph g; int batch, out; } EvalNet;

// repro logits: eval-mode logits of a .npy batch, B images at a time (usage_logits)
static int cmd_logits(int argc, char **argv, const char *prog)
{
    const char *name = NULL, *weights = NULL, *input = NULL, *out = NULL, *backend = "cpu";
    ModelKnobs a = model_knobs_default();
    int res = 0, batch = 32, rc = 0;
    bool ema = false;
    for (int i = 0; i < argc && !rc; i++) {
        int m = model_option(argc, argv, &i, &a, &res);
        if (m == 2) return 2;
        if (m == 1) continue;
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--model") && has) name = argv[++i];
        else if (!strcmp(argv[i], "--weights") && has) weights = argv[++i];
        else if (!strcmp(argv[i], "--input") && has) input = argv[++i];
        else if (!strcmp(argv[i], "--out") && has) out = argv[++i];
        else if (!strcmp(argv[i], "--backend") && has) backend = argv[++i];
        else if (!strcmp(argv[i], "--batch") && has) rc = positive_arg("--batch", argv[++i], &batch);
        else if (!strcmp(argv[i], "--ema")) ema = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_logits(stdout, prog);
        else {
            log_error("logits: unknown or incomplete argument '%s'", argv[i]);
            return usage_logits(stderr, prog);
        }
    }
    if (rc) return 2;
    if (!name || !weights || !input || !out) {
        log_error("logits: --model, --weights, --input and --out are required");
        return usage_logits(stderr, prog);
    }
    if (check_model(name, &a)) return 2;
    NpyArray x;
    if (npy_read(&x, input)) return 1;
    int64_t n = x.ndim == 4 ? x.dims[0] : 0;
    if (x.ndim != 4 || n < 1 || x.dims[1] != x.dims[2] || (res && x.dims[1] != res)) {
        log_error("logits: input %s has shape %s; expected (N, H, W, C) images with N >= 1 and H = W%s "
                  "(NHWC: numpy's x.transpose(0, 2, 3, 1) of an NCHW batch)", input, DIMS_STR(x.ndim, x.dims),
                  res ? " = --res" : "");
        npy_free(&x);
        return 1;
    }
    res = (int)x.dims[1];
    Dev d;
    if (model_check_res(name, res) || dev_open(&d, backend)) {
        npy_free(&x);
        return 1;
    }
    // one model for full batches, one for the last partial one, over one parameter table
    Params p = {0};
    EvalNet net[2] = {{.batch = (int)MIN(n, batch)}, {.batch = (int)(n % MIN(n, batch))}};
    int n_net = net[1].batch ? 2 : 1;
    build_alloc(&net[0].g, &p, &d, name, &a, net[0].batch, res);
    if (n_net == 2) {
        graph_init(&net[1].g, &p);
        model_build(&net[1].g, name, &a, net[1].batch, res);
    }
    Arena ar;
    arena_init(&ar, &d);
    arena_begin(&ar);
    for (int k = 0; k < n_net; k++) {
        graph_fuse(&net[k].g); // BN-ReLU and add-ReLU as one op, as training's evaluation runs
        net[k].out = net[k].g.node[net[k].g.n_node - 1].out;
        graph_plan(&net[k].g, &ar, GRAPH_EVAL);
    }
    arena_commit(&ar);
    Shape4 xs = graph_shape(&net[0].g, 0);
    int classes = graph_shape(&net[0].g, net[0].out).c;
    float *logits = NULL;
    rc = 1;
    if (x.dims[3] != xs.c) {
        log_error("logits: input %s has %lld channels; %s takes %d (--in-chans)", input,
                  (long long)x.dims[3], name, xs.c);
        goto out;
    }
    if (weights_load(&p, weights, ema, name, NULL)) goto out;
    logits = xmalloc((size_t)n * classes * sizeof *logits);
    for (int64_t i = 0; i < n;) {
        EvalNet *e = n - i >= net[0].batch ? &net[0] : &net[1];
        size_t per = (size_t)xs.h * xs.w * xs.c;
        dev_upload(&d, graph_val(&e->g, &ar, 0), x.data + i * per, (size_t)e->batch * per * sizeof(float));
        graph_forward(&e->g, &d, &ar, false, 0, 0);
        dev_download(&d, logits + i * classes, graph_val(&e->g, &ar, e->out),
                     (size_t)e->batch * classes * sizeof(float));
        i += e->batch;
    }
    if (npy_write(out, logits, 2, (const int64_t[]){n, classes})) goto out;
    printf("logits: %s on %s, %lld images at %dx%d -> %s (%lld, %d)\n", name, d.name, (long long)n,
           res, res, out, (long long)n, classes);
    rc = 0;
out:
    free(logits);
    for (int k = 0; k < n_net; k++) graph_free(&net[k].g);
    arena_free(&ar);
    params_free(&p);
    dev_close(&d);
    npy_free(&x);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// eval: weights on a recipe's test split

static int usage_eval(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s eval --model NAME --weights FILE.safetensors [--ema] [--reparam]\n"
               "           [--recipe FILE] [--set section.key=value ...] [--backend cpu|ref|cuda]\n"
               "  evaluates the weights (a timm state dict, or one of our checkpoints; --ema: its EMA\n"
               "  weights) on the test split of the recipe's dataset, prepared as the recipe's runs\n"
               "  evaluate (model.res, data.mean/std, data.crop_pct, data.eval_limit, train.eval_batch),\n"
               "  and prints top-1, top-5, the mean loss and images/s. Without --recipe: the built-in\n"
               "  defaults, Fashion-MNIST's settings (%s recipe --keys). --model NAME is\n"
               "  --set model.name=NAME; the model's other knobs (model.width, model.classes, ...) come\n"
               "  from the recipe and --set, and must be those the weights were trained with.\n"
               "  --reparam: the weights folded into the inference form first (GhostNetV3), which\n"
               "  scores as the branches do up to float rounding; a no-op, said so, for a model\n"
               "  without such branches. Backend default: the recipe's train.backend (cpu).\n"
               "  Exit status: 0 evaluated, 1 failed, 2 usage.\n", prog, prog);
    return f == stdout ? 0 : 2;
}

// repro eval: the weights of a file on a recipe's test split (usage_eval)
static int cmd_eval(int argc, char **argv, const char *prog)
{
    const char *recipe = NULL, *name = NULL, *weights = NULL, *backend = NULL;
    bool ema = false, fold = false;
    char **sets = xcalloc((size_t)argc + 3, sizeof *sets), set_name[128], set_backend[64];
    int n_sets = 0, rc;
    for (int i = 0; i < argc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--recipe") && has) recipe = argv[++i];
        else if (!strcmp(argv[i], "--set") && has) sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--model") && has) name = argv[++i];
        else if (!strcmp(argv[i], "--weights") && has) weights = argv[++i];
        else if (!strcmp(argv[i], "--backend") && has) backend = argv[++i];
        else if (!strcmp(argv[i], "--ema")) ema = true;
        else if (!strcmp(argv[i], "--reparam")) fold = true;
        else {
            bool help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
            if (!help) log_error("eval: unknown or incomplete argument '%s'", argv[i]);
            free(sets);
            return usage_eval(help ? stdout : stderr, prog);
        }
    }
    if (!name || !weights) {
        free(sets);
        log_error("eval: --model NAME and --weights FILE are required");
        return usage_eval(stderr, prog);
    }
    if (!model_known(name)) {
        free(sets);
        log_error("eval: unknown model '%s' (valid: %s)", name, model_names());
        return 2;
    }
    // --model and --backend are recipe overrides, after the --set before them
    snprintf(set_name, sizeof set_name, "model.name=%s", name);
    sets[n_sets++] = set_name;
    if (backend) {
        snprintf(set_backend, sizeof set_backend, "train.backend=%s", backend);
        sets[n_sets++] = set_backend;
    }
    TrainConfig c;
    rc = recipe_load(&c, recipe, n_sets, sets);
    free(sets);
    if (rc) return 1;
    snprintf(c.weights, sizeof c.weights, "%s", weights);
    fold = fold && reparam_or_noop(name, "eval");
    Trainer *t;
    if (trainer_open_eval(&t, &c, ema, fold)) return 1;
    EvalStats st;
    rc = trainer_evaluate(t, false, fold, &st);
    trainer_close(t);
    if (rc) return 1;
    printf("eval: %s%s, %s%s on the %s test split (%d images at %dx%d), backend %s\n", name,
           fold ? " folded" : "", weights, ema ? " (EMA)" : "", c.dataset, st.images, c.res, c.res, c.backend);
    printf("eval: top-1 %.2f%%  top-5 %.2f%%  loss %.6f  %.0f images/s\n", st.top1, st.top5, st.loss,
           st.images / st.seconds);
    return 0;
}

static int usage_train(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s train --recipe FILE [--set section.key=value ...] [--weights FILE.safetensors]\n"
               "           [--out DIR] [--study NAME] [--resume | --force]\n"
               "  trains the recipe (recipes/*.recipe), evaluates on the test split every epoch and\n"
               "  rewrites DIR/<run id>.h5 and the checkpoint DIR/<run id>.safetensors after each\n"
               "  (default DIR results/<study>, study adhoc); the run id is a hash of the resolved\n"
               "  recipe. An existing run file is never overwritten unasked: --resume continues the\n"
               "  run from its checkpoint (a done run stays as it is), --force starts it over.\n"
               "  A run that fails leaves its file with status failed (or none, before its first\n"
               "  epoch). --weights FILE (= --set model.weights=FILE) starts from a timm state dict\n"
               "  or one of our checkpoints instead of the seed's initialization; the model must\n"
               "  match it tensor for tensor. Exit status: 0 done, 1 failed or diverged, 2 usage.\n", prog);
    return f == stdout ? 0 : 2;
}

// the commit this binary runs from, "+dirty" when the work tree differs; "unknown" outside git
// repro train: one recipe's run, its run file and checkpoint (usage_train)
static int cmd_train(int argc, char **argv, const char *prog)
{
    const char *recipe = NULL, *out_dir = NULL, *study = "adhoc";
    bool resume = false, force = false;
    char **sets = xcalloc((size_t)argc + 1, sizeof *sets), weights_set[1100];
    int n_sets = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--recipe") && i + 1 < argc) recipe = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
            snprintf(weights_set, sizeof weights_set, "model.weights=%s", argv[++i]);
            sets[n_sets++] = weights_set; // after the --set before it, like a later --set
        }        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--study") && i + 1 < argc) study = argv[++i];
        else if (!strcmp(argv[i], "--resume")) resume = true;
        else if (!strcmp(argv[i], "--force")) force = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { free(sets); return usage_train(stdout, prog); }
        else {
            log_error("train: unknown or incomplete argument '%s'", argv[i]);
            free(sets);
            return usage_train(stderr, prog);
        }
    }
    if (!recipe || (resume && force)) {
        free(sets);
        log_error(recipe ? "train: --resume and --force exclude each other" : "train: --recipe FILE is required");
        return usage_train(stderr, prog);
    }
    TrainConfig c;
    int rc = recipe_load(&c, recipe, n_sets, sets);
    free(sets);
    if (rc) return 1;
    char dir[900];
    snprintf(dir, sizeof dir, "%s", out_dir ? out_dir : "results/");
    if (!out_dir) snprintf(dir, sizeof dir, "results/%s", study);
    RunSpec spec = {.dir = dir, .study = study, .tier = "adhoc", .label = "",
                    .mode = force ? RUN_FORCE : resume ? RUN_RESUME : RUN_NEW};
    RunOutcome o;
    return run_train(&c, recipe, &spec, &o);
}

// repro recipe --keys: the recipe key table
static int cmd_recipe(int argc, char **argv, const char *prog)
{
    bool help = argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
    if (argc != 1 || strcmp(argv[0], "--keys")) {
        fprintf(help ? stdout : stderr, "usage: %s recipe --keys\n"
                "  prints every recipe key (section.key, as recipes and --set write it) with its\n"
                "  default, what is valid (a range, or the names it takes) and what it means\n", prog);
        return help ? 0 : 2;
    }
    recipe_print_keys(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: %s COMMAND [ARGS]   (COMMAND --help for its arguments)\n"
                "commands:\n  model    print a named model's layers, params and macs (--list: the names)\n"
                "  train    train a recipe\n"
                "  export   write a model's weights as a timm state dict (.safetensors)\n"
                "  logits   run a model on a .npy batch of images, write its logits (.npy)\n"
                "  eval     top-1, top-5 and loss of weights on a recipe's test split\n"
                "  recipe   --keys: every recipe key, its default, range and meaning\n"
                "  check    published vs reproduced accuracies, and the studies' claims\n", prog);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "model")) return cmd_model(argc - 2, argv + 2, prog);
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 2, argv + 2, prog);
    if (!strcmp(argv[1], "export")) return cmd_export(argc - 2, argv + 2, prog);
    if (!strcmp(argv[1], "logits")) return cmd_logits(argc - 2, argv + 2, prog);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 2, argv + 2, prog);
    if (!strcmp(argv[1], "recipe")) return cmd_recipe(argc - 2, argv + 2, prog);
#ifdef HAVE_HDF5
    if (!strcmp(argv[1], "check")) return cmd_check(argc - 2, argv + 2, prog);
#endif
    log_error("unknown command '%s' (valid: model, train, export, logits, eval, recipe, check)", argv[1]);
    return 2;
}
