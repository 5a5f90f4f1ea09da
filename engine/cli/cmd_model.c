/* engine/cli/cmd_model.c — `repro model`, `repro export NAME` and `repro logits`: a named model,
 * its layers, and its weights out (timm's state dict) and in (eval-mode logits of a .npy batch).
 */
#include <stdio.h>  // printf
#include <string.h> // strcmp, strcspn
#include <strings.h> // strcasecmp: logits' image files
#include <sys/stat.h> // stat: logits' input, a file or a folder

#include "cli.h"
#include "data/augment.h" // augment_eval_encoded: logits on a folder of images
#include "io/atomic.h"   // the image list beside logits' output
#include "io/npy.h"      // npy_read, npy_write: logits' input and output
#include "io/shard.h"    // shard_list_images, shard_open: logits' images
#include "io/weights.h"  // weights_export, weights_load
#include "models/nets.h" // NetSet: logits' models for the full and the last batch

// ---------------------------------------------------------------------------------------------
// model: the layer table

static int usage_model(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s model NAME [--res N] [--batch N] [--classes K] [--in-chans C] "
               "[--reparam] [--set key=value ...]\n"
               "       %s model --list\n"
               "  prints the layer table of a named model, then params and macs (conv + linear\n"
               "  multiply-accumulates per image at that resolution); --list prints the names, one\n"
               "  a line. --reparam: the inference form, each set of parallel conv-BN branches\n"
               "  folded into one conv with bias, as timm's reparameterize() (GhostNetV3)\n"
               CLI_MODEL_OPTIONS_HELP
               "  models: %s\n", prog, prog, model_names());
    return f == stdout ? 0 : 2;
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

int cmd_model(int argc, char **argv, const char *prog)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return usage_model(argc < 1 ? stderr : stdout, prog);
    if (!strcmp(argv[0], "--list")) return list_models();
    const char *name = argv[0];
    TrainConfig c;
    cli_model_defaults(&c);
    int batch = 1, n_sets = 0, rc = cli_check_model(name, &c.net);
    for (int i = 1; i < argc && !rc; i++) {
        int m = cli_model_option(argc, argv, &i, &c, &n_sets);
        if (m == 2) return 2;
        if (m == 1) continue;
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) rc = cli_positive_arg("--batch", argv[++i], &batch);
        else if (!strcmp(argv[i], "--reparam")) c.net.reparam = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_model(stdout, prog);
        else {
            log_error("model: unknown or incomplete argument '%s'", argv[i]);
            return usage_model(stderr, prog);
        }
    }
    int res = c.res ? c.res : model_default_res(name);
    if (rc || cli_check_model(name, &c.net) || model_check_res(name, res)) return 2;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, name, &c.net, batch, res);
    graph_print(&g, stdout);
    Shape4 xs = graph_shape(&g, 0), ys = graph_shape(&g, g.node[g.n_node - 1].out);
    printf("model: %s%s at %dx%d, %d input channel(s), %d classes\n", name,
           c.net.reparam ? " (re-parameterized)" : "", res, res, xs.c, ys.c);
    printf("params: %zu\n", params_count(&p, true));
    printf("macs: %llu\n", (unsigned long long)graph_macs(&g));
    graph_free(&g);
    params_free(&p);
    return 0;
}

// the value of option `flag` in argv (its last one), NULL when absent: a command that is given
// weights starts from their run's model knobs before it reads its other options (cli_model_base)
static const char *option_value(int argc, char **argv, const char *flag)
{
    const char *v = NULL;
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], flag)) v = argv[i + 1];
    return v;
}

// ---------------------------------------------------------------------------------------------
// export NAME: weights out in timm's layout

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
               "  With --weights the model is built as its weights were trained: one of our checkpoints\n"
               "  gives its run's [model] keys, and input channels and classes come from the weights'\n"
               "  shapes unless --in-chans / --classes say otherwise; without, the named model's own.\n"
               CLI_MODEL_OPTIONS_HELP, prog, prog);
    return f == stdout ? 0 : 2;
}

int cmd_export(int argc, char **argv, const char *prog)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return usage_export(argc < 1 ? stderr : stdout, prog);
    int runs = cli_export_runs(argv[0]); // a run file or a folder of them: CSV
    if (runs >= 0) {
        if (argc > 1) {
            log_error("export %s: takes no options (got '%s')", argv[0], argv[1]);
            return 2;
        }
        return runs;
    }
    const char *name = argv[0], *weights = NULL, *out = NULL;
    TrainConfig c;
    cli_model_defaults(&c);
    int n_sets = 0, rc = cli_check_model(name, &c.net);
    if (!rc && cli_model_base(&c, name, option_value(argc, argv, "--weights"))) return 1;
    unsigned long long seed = 1;
    bool ema = false, has_seed = false, fold = false;
    for (int i = 1; i < argc && !rc; i++) {
        int m = cli_model_option(argc, argv, &i, &c, &n_sets);
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
    if (!rc && cli_model_from_weights(&c, name, weights)) return 1;
    int res = c.res ? c.res : model_default_res(name);
    if (rc || cli_check_model(name, &c.net) || model_check_res(name, res)) return 2;
    if (!out || (weights && has_seed) || (ema && !weights)) {
        log_error("export: %s", !out ? "--out FILE is required" : ema ? "--ema needs --weights FILE"
                                                                     : "--seed and --weights exclude each other");
        return usage_export(stderr, prog);
    }
    Dev d;
    if (dev_open(&d, "ref")) return 1;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, name, &c.net, 1, res);
    CHECK(params_alloc(&p, &d, 0, false) == 0, "export: cannot allocate %s's parameters", name);
    WeightsInfo info = {0};
    char source[600];
    if (weights) {
        rc = weights_load(&p, weights, ema, name, &info);
        snprintf(source, sizeof source, "%s%s", weights, ema ? " (ema)" : "");
    } else {
        graph_init_params(&g, seed);
        snprintf(source, sizeof source, "init seed %llu", seed);
    }
    fold = fold && cli_reparam_or_noop(name, "export");
    Params pf = {0}; // the folded form's table (--reparam)
    Graph gf;
    if (fold) {
        graph_init(&gf, &pf);
        if (!rc) model_reparameterize(&gf, &pf, name, &c.net, &p, 1, res);
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

// ---------------------------------------------------------------------------------------------
// logits: eval-mode logits of a .npy batch, or of images

static int usage_logits(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s logits --model NAME --weights FILE.safetensors [--ema] [--reparam]\n"
               "           --input X.npy | DIR | FILE.shard --out Y.npy [--res N] [--classes K] [--in-chans C]\n"
               "           [--set key=value ...] [--backend B] [--batch N] [--crop-pct P] [--dataset NAME]\n"
               "           (B: %s)\n"
               "  runs the model in eval mode (batch norm on running statistics, no dropout) on X, a\n"
               "  float32 .npy array of shape (N, H, W, C) already normalized (NHWC, H = W = the\n"
               "  resolution, default X's), N images at a time (default 32), and writes the logits as\n"
               "  a float32 .npy array (N, classes). Or on images: the JPEG/PNG files under DIR (its\n"
               "  sub-folders too, in sorted order) or a shard's samples, each through the eval transform\n"
               "  (timm's: shorter side to floor(res / P), centre crop res, P default 0.875; res default\n"
               "  the model's own) and normalized with data set NAME's statistics (default imagenet:\n"
               "  repro data list); the images' paths then go to Y.txt, one per logits row. --weights: a timm state dict or one of our\n"
               "  checkpoints (--ema: its EMA weights). --reparam: the weights folded into the\n"
               "  inference form first (GhostNetV3), as export and eval do; a no-op, said so, for a\n"
               "  model without such branches. Backend default cpu. The model is built as its weights\n"
               "  were trained: one of our checkpoints gives its run's [model] keys, and\n"
               "  input channels and classes come from the weights' shapes unless given.\n"
               CLI_MODEL_OPTIONS_HELP, prog, dev_names());
    return f == stdout ? 0 : 2;
}

// images (a folder of JPEG/PNG files, or a shard) through the eval transform into x (n, res, res,
// 3), normalized with `stats`' statistics; their names into names.txt beside out. 0 or 1 (said why)
static int images_input(NpyArray *x, const char *input, int res, float crop_pct, const char *stats, const char *out)
{
    const DatasetInfo *di = dataset_info(stats);
    if (!di || di->channels != 3) {
        log_error("logits: --dataset %s: expected a 3-channel data set for the statistics (repro data list)", stats);
        return 1;
    }
    AugArgs a = {0};
    a.crop_pct = crop_pct;
    a.interpolation = INTERP_BICUBIC; // timm's eval default
    for (int k = 0; k < 3; k++) a.mean[k] = di->mean[k], a.std[k] = di->std[k];
    if (augment_resolve(&a)) return 1;
    Shard sh = {0};
    char **paths = NULL;
    int n = 0;
    size_t len = strlen(input);
    bool shard = len > 6 && !strcmp(input + len - 6, ".shard");
    if (shard ? shard_open(&sh, input) : shard_list_images(input, &paths, &n)) return 1;
    if (shard) n = sh.n;
    if (!shard) { // the files this decoder reads
        int kept = 0;
        for (int i = 0; i < n; i++) {
            const char *dot = strrchr(paths[i], '.');
            if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png")))
                paths[kept++] = paths[i];
            else
                free(paths[i]);
        }
        n = kept;
    }
    if (n == 0) {
        log_error("logits: %s holds no image (.jpg .jpeg .png)", input);
        return 1;
    }
    memset(x, 0, sizeof *x);
    x->ndim = 4;
    x->dims[0] = n, x->dims[1] = x->dims[2] = res, x->dims[3] = 3;
    x->numel = (size_t)n * res * res * 3;
    x->data = xmalloc(x->numel * sizeof(float));
    char txt[1100];
    snprintf(txt, sizeof txt, "%.*s.txt", (int)(len = strlen(out)) > 4 && !strcmp(out + len - 4, ".npy") ? (int)len - 4 : (int)len, out);
    AtomicFile names;
    int rc = atomic_open(&names, txt, "logits' image list") ? 1 : 0;
    AugScratch *sc = augment_scratch_new();
    for (int i = 0; i < n && !rc; i++) {
        size_t bytes = 0;
        uint8_t *buf = NULL;
        const uint8_t *enc;
        char path[4200];
        ImgInfo info, *known = NULL;
        if (shard) {
            enc = shard_bytes(&sh, i), bytes = sh.index[i].size, info = shard_info(&sh, i), known = &info;
            snprintf(path, sizeof path, "%s", shard_name(&sh, i));
        } else {
            snprintf(path, sizeof path, "%s/%s", input, paths[i]);
            FILE *f = fopen(path, "rb");
            long l = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
            if (l >= 0) {
                buf = xmalloc(l > 0 ? (size_t)l : 1);
                rewind(f);
                bytes = l > 0 ? fread(buf, 1, (size_t)l, f) : 0;
            }
            if (f) fclose(f);
            enc = buf;
            if (!buf || bytes != (size_t)l) {
                log_error("logits: cannot read %s", path);
                free(buf);
                rc = 1;
                break;
            }
        }
        if (augment_eval_encoded(&a, x->data + (size_t)i * res * res * 3, res, res, 3, enc, bytes, path, known, sc))
            rc = 1;
        else
            fprintf(names.f, "%s\n", shard ? path : paths[i]);
        free(buf);
    }
    augment_scratch_free(sc);
    if (names.f && atomic_close(&names, !rc) && !rc) rc = 1;
    if (shard) shard_close(&sh);
    else shard_list_free(paths, n);
    if (rc) npy_free(x);
    else printf("logits: %d images of %s through the eval transform (%d px, crop_pct %g, %s statistics); their paths "
                "in %s\n", n, input, res, crop_pct, stats, txt);
    return rc;
}

int cmd_logits(int argc, char **argv, const char *prog)
{
    const char *name = NULL, *weights = NULL, *input = NULL, *out = NULL, *backend = "cpu", *stats = "imagenet";
    float crop_pct = 0.875f;
    TrainConfig c;
    cli_model_defaults(&c);
    const char *pre_model = option_value(argc, argv, "--model");
    if (pre_model && model_known(pre_model) && cli_model_base(&c, pre_model, option_value(argc, argv, "--weights")))
        return 1;
    int batch = 32, n_sets = 0, rc = 0;
    bool ema = false, fold = false;
    for (int i = 0; i < argc && !rc; i++) {
        int m = cli_model_option(argc, argv, &i, &c, &n_sets);
        if (m == 2) return 2;
        if (m == 1) continue;
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--model") && has) name = argv[++i];
        else if (!strcmp(argv[i], "--weights") && has) weights = argv[++i];
        else if (!strcmp(argv[i], "--input") && has) input = argv[++i];
        else if (!strcmp(argv[i], "--out") && has) out = argv[++i];
        else if (!strcmp(argv[i], "--backend") && has) backend = argv[++i];
        else if (!strcmp(argv[i], "--batch") && has) rc = cli_positive_arg("--batch", argv[++i], &batch);
        else if (!strcmp(argv[i], "--dataset") && has) stats = argv[++i];
        else if (!strcmp(argv[i], "--crop-pct") && has) {
            char *end;
            crop_pct = strtof(argv[++i], &end);
            if (*end || !(crop_pct >= 0.05f && crop_pct <= 1)) {
                log_error("logits: --crop-pct %s: expected a fraction in 0.05 .. 1", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--ema")) ema = true;
        else if (!strcmp(argv[i], "--reparam")) fold = true;
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
    if (cli_check_model(name, &c.net)) return 2;
    if (cli_model_from_weights(&c, name, weights)) return 1;
    fold = fold && cli_reparam_or_noop(name, "logits");
    NpyArray x;
    size_t in_len = strlen(input);
    struct stat st;
    if (stat(input, &st) == 0 && (S_ISDIR(st.st_mode) || (in_len > 6 && !strcmp(input + in_len - 6, ".shard")))) {
        if (images_input(&x, input, c.res ? c.res : model_default_res(name), crop_pct, stats, out)) return 1;
    } else if (npy_read(&x, input)) {
        return 1;
    }
    int64_t n = x.ndim == 4 ? x.dims[0] : 0;
    int res = c.res;
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
    // the weights' table p; with --reparam the models run over the folded table pf, filled from p
    Params p = {0}, pf = {0}, *run = fold ? &pf : &p;
    Graph trained = {0}; // --reparam: the training form, which declares p
    if (fold) {
        graph_init(&trained, &p);
        model_build(&trained, name, &c.net, 1, res);
        CHECK(params_alloc_weights(&p, &d) == 0, "logits: cannot allocate %s's parameters", name);
    }
    // one model for full batches, one for the last partial one, over one table and arena
    NetSet s;
    netset_init(&s, &d);
    ModelKnobs k = c.net;
    k.reparam = fold;
    int sizes[2], n_sizes = net_batches((int)n, batch, false, sizes);
    for (int i = 0; i < n_sizes; i++) {
        netset_add(&s, run, name, &k, sizes[i], res, GRAPH_EVAL);
        if (!i) CHECK(params_alloc_weights(run, &d) == 0, "logits: cannot allocate %s's parameters", name);
    }
    netset_plan(&s, NULL, NULL);
    Shape4 xs = graph_shape(&s.net[0].g, 0);
    int classes = s.net[0].classes;
    float *logits = NULL;
    rc = 1;
    if (x.dims[3] != xs.c) {
        log_error("logits: input %s has %lld channels; %s takes %d (--in-chans)", input,
                  (long long)x.dims[3], name, xs.c);
        goto out;
    }
    if (weights_load(&p, weights, ema, name, NULL)) goto out;
    if (fold) model_fold(name, &s.net[0].g, &pf, &p);
    netset_refresh(&s, run); // batch norm folded into the convolutions
    logits = xmalloc((size_t)n * classes * sizeof *logits);
    size_t per = (size_t)xs.h * xs.w * xs.c;
    for (int64_t i = 0; i < n;) {
        Net *e = netset_find(&s, run, (int)MIN(n - i, (int64_t)sizes[0]), GRAPH_EVAL);
        net_logits(&s, e, x.data + i * per, logits + i * classes);
        i += e->batch;
    }
    if (npy_write(out, logits, 2, (const int64_t[]){n, classes})) goto out;
    printf("logits: %s%s on %s, %lld images at %dx%d -> %s (%lld, %d)\n", name, fold ? " folded" : "", d.name,
           (long long)n, res, res, out, (long long)n, classes);
    rc = 0;
out:
    free(logits);
    netset_free(&s);
    graph_free(&trained);
    params_free(&pf);
    params_free(&p);
    dev_close(&d);
    npy_free(&x);
    return rc;
}
