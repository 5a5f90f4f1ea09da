/* engine/repro.c — the suite's command line: `repro COMMAND ...`.
 *
 * Commands (each has --help):
 *   model NAME [--res N] [--batch N] [--classes K] [--in-chans C] [--set key=value ...]
 *       builds the named model, prints its layer table, then "params: N" and "macs: N"
 *       (conv + linear multiply-accumulates per image at that resolution).
 *   train --recipe FILE [--set section.key=value ...] [--out DIR] [--study NAME] [--resume]
 *       trains a recipe, printing the resolved recipe first and a line per epoch, and keeps
 *       DIR/<run id>.h5 and the checkpoint DIR/<run id>.safetensors (default results/<study>/,
 *       study "adhoc") up to date after every epoch; --resume continues from the checkpoint.
 * More commands (export, logits, check) arrive with the issues that need them.
 */
#include <stdio.h>  // printf
#include <string.h> // strcmp, strchr

#include <errno.h>    // errno
#include <sys/stat.h> // mkdir
#include <unistd.h>   // unlink

#include "io/recipe.h"
#ifdef HAVE_HDF5
#include "io/runfile.h"
#endif
#include "models/models.h"

static int usage_model(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s model NAME [--res N] [--batch N] [--classes K] [--in-chans C] "
               "[--set key=value ...]\n"
               "  prints the layer table of a named model, then params and macs (conv + linear\n"
               "  multiply-accumulates per image at that resolution).\n"
               "  keys for --set: width, depth (multipliers), drop_path, dropout, se_ratio,\n"
               "  fused_stages (EfficientNet: the first N stages Fused-MBConv)\n"
               "  models: %s\n", prog, model_names());
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
    else {
        log_error("--set %s: unknown key or value out of range (keys: width > 0, depth > 0, "
                  "drop_path and dropout in [0,1), se_ratio in [0,1], fused_stages -1 .. 16)", kv);
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
    if (!model_known(name)) {
        log_error("unknown model '%s' (valid: %s)", name, model_names());
        return 2;
    }
    ModelKnobs a = model_knobs_default();
    int res = model_default_res(name), batch = 1, rc = 0;
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
    if (model_check(name, &a)) return 2;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, name, &a, batch, res);
    graph_print(&g, stdout);
    Shape4 xs = graph_shape(&g, 0), ys = graph_shape(&g, g.node[g.n_node - 1].out);
    printf("model: %s at %dx%d, %d input channel(s), %d classes\n", name, res, res, xs.c, ys.c);
    printf("params: %zu\n", params_count(&p, true));
    printf("macs: %llu\n", (unsigned long long)graph_macs(&g));
    graph_free(&g);
    params_free(&p);
    return 0;
}

static int usage_train(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s train --recipe FILE [--set section.key=value ...] [--out DIR] [--study NAME]"
               " [--resume | --force]\n"
               "  trains the recipe (recipes/*.recipe), evaluates on the test split every epoch and\n"
               "  rewrites DIR/<run id>.h5 and the checkpoint DIR/<run id>.safetensors after each\n"
               "  (default DIR results/<study>, study adhoc); the run id is a hash of the resolved\n"
               "  recipe. An existing run file is never overwritten unasked: --resume continues the\n"
               "  run from its checkpoint (a done run stays as it is), --force starts it over.\n"
               "  A run that fails leaves its file with status failed (or none, before its first\n"
               "  epoch). Exit status: 0 done, 1 failed or diverged, 2 usage.\n", prog);
    return f == stdout ? 0 : 2;
}

// the commit this binary runs from, "+dirty" when the work tree differs; "unknown" outside git
static void git_revision(char out[64])
{
    snprintf(out, 64, "unknown");
    FILE *p = popen("git rev-parse --short=12 HEAD 2>/dev/null", "r");
    if (!p) return;
    char rev[48] = "";
    bool got = fgets(rev, sizeof rev, p) != NULL;
    pclose(p);
    if (!got) return;
    rev[strcspn(rev, "\n")] = 0;
    int dirty = system("git diff --quiet HEAD -- 2>/dev/null");
    snprintf(out, 64, "%s%s", rev, dirty ? "+dirty" : "");
}

#ifdef HAVE_HDF5
typedef struct { const char *path; RunMeta meta; int epochs_written; } RunOut;

static int write_run(const TrainResult *r, void *user)
{
    RunOut *o = user;
    o->epochs_written = r->n_epochs;
    o->meta.status = r->status;
    o->meta.params = r->params;
    o->meta.macs = r->macs;
    return runfile_write(o->path, &o->meta, r->epochs, r->n_epochs, r);
}
#endif

// mkdir -p for a results folder; 0 or ERR_IO with the path in the message
static int make_dirs(const char *dir)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; ; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                log_error("results folder %s: cannot create %s (%s)", dir, buf, strerror(errno));
                return ERR_IO;
            }
            *p = c;
        }
        if (!c) break;
    }
    return 0;
}

static int cmd_train(int argc, char **argv, const char *prog)
{
    const char *recipe = NULL, *out_dir = NULL, *study = "adhoc";
    bool resume = false, force = false;
    char **sets = xcalloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--recipe") && i + 1 < argc) recipe = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
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
    char text[8192];
    recipe_format(&c, text, sizeof text);
    printf("# resolved recipe (%s)\n%s\n", recipe, text);
    char run_id[17], rev[64], dir[900], path[1100];
    run_id_of(text, run_id);
    git_revision(rev);
    snprintf(dir, sizeof dir, "%s", out_dir ? out_dir : "results/");
    if (!out_dir) snprintf(dir, sizeof dir, "results/%s", study);
    if (make_dirs(dir)) return 1;
    snprintf(path, sizeof path, "%s/%s.h5", dir, run_id);
    snprintf(c.run_id, sizeof c.run_id, "%s", run_id);
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s/%s.safetensors", dir, run_id);
    c.resume = resume;
#ifdef HAVE_HDF5
    char status[32];
    bool existed = runfile_read_status(path, status, sizeof status) != ERR_IO;
    if (existed && !status[0] && !force) return 1; // unreadable: said why; --force replaces it
    if (existed && !force && !resume) {
        log_error("train: %s exists (status %s): --resume continues it, --force starts it over", path, status);
        return 1;
    }
    if (existed && resume && !strcmp(status, "done")) {
        printf("train: %s is done already; nothing to resume (--force starts it over)\n", path);
        return 0;
    }
    if (force) unlink(c.checkpoint);
    RunOut out = {path, {.study = study, .run_id = run_id, .tier = "adhoc", .git_revision = rev,
                         .backend = c.backend, .device = c.backend, .recipe = text, .seed = c.seed,
                         .model = c.model, .train_res = c.res, .eval_res = c.res}, 0};
    // a first file (status running, no epochs) proves the folder is writable before any work; a
    // resumed run keeps its file until its first new epoch rewrites it
    TrainResult empty = {.status = "running"};
    if (!(existed && resume) && write_run(&empty, &out)) return 1;
    printf("run file: %s (run id %s, revision %s)\n", path, run_id, rev);
    TrainHook hook = write_run;
    void *hook_user = &out;
#else
    printf("run file: none (built without HDF5: run make deps)\n");
    TrainHook hook = NULL;
    void *hook_user = NULL;
#endif
    TrainResult r;
    if (train_run(&c, &r, hook, hook_user)) {
#ifdef HAVE_HDF5
        // no file that looks valid stays behind: none before the first epoch, "failed" after
        if (out.epochs_written || (existed && resume)) runfile_set_status(path, "failed");
        else unlink(path);
#endif
        return 1;
    }
    double top1 = r.n_epochs ? r.epochs[r.n_epochs - 1].eval_top1 : 0;
    printf("train: %s after %d epochs in %.0f s: final top-1 %.2f%%, best %.2f%% (epoch %d)\n", r.status,
           r.n_epochs, r.wall_s, top1, r.best_top1, r.best_epoch);
    rc = strcmp(r.status, "done") ? 1 : 0;
    train_result_free(&r);
    return rc;
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: %s COMMAND [ARGS]   (COMMAND --help for its arguments)\n"
                "commands:\n  model    print a named model's layers, params and macs\n"
                "  train    train a recipe\n", prog);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "model")) return cmd_model(argc - 2, argv + 2, prog);
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 2, argv + 2, prog);
    log_error("unknown command '%s' (valid: model, train)", argv[1]);
    return 2;
}
