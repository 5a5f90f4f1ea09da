/* engine/cli/cmd_train.c — `repro train` and `repro eval`: a recipe's run, and weights scored on a
 * recipe's test split.
 */
#include <stdio.h>  // printf
#include <string.h> // strcmp

#include "cli.h"
#include "io/weights.h" // weights_recipe: eval scores a checkpoint with its run's recipe
#include "run/run.h"    // run_train: repro train

// ---------------------------------------------------------------------------------------------
// train: one recipe's run, its run file and checkpoint

static int usage_train(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s train --recipe FILE [--set section.key=value ...] [--weights FILE.safetensors]\n"
               "           [--out DIR] [--refs DIR] [--study NAME] [--resume | --force]\n"
               "  trains the recipe (recipes/*.recipe), evaluates on the test split every epoch and\n"
               "  rewrites DIR/<run id>.h5 and the checkpoint DIR/<run id>.safetensors after each\n"
               "  (default DIR results/<study>, study adhoc); the run id is a hash of the resolved\n"
               "  recipe. An existing run file is never overwritten unasked: --resume continues the\n"
               "  run from its checkpoint (a done run stays as it is), --force starts it over.\n"
               "  A run that fails leaves its file with status failed (or none, before its first\n"
               "  epoch). --weights FILE (= --set model.weights=FILE) starts from a timm state dict\n"
               "  or one of our checkpoints instead of the seed's initialization; the model must\n"
               "  match it tensor for tensor. A run reference, model.weights = @NAME or a teacher\n"
               "  name:@NAME in distill.teachers, is the checkpoint of the done run NAME in --refs DIR\n"
               "  (default: --out's folder); the run id keeps @NAME, whatever the folder.\n"
               "  Exit status: 0 done, 1 failed or diverged, 2 usage.\n"
               "  Data-parallel: mpirun -np N %s train ... (or srun --mpi=pmix) trains one run on N\n"
               "  ranks: train.batch is the whole batch, each rank takes batch/N of it; rank 0 writes;\n"
               "  set OMP_NUM_THREADS to the cores per rank; --resume needs the same N.\n", prog, prog);
    return f == stdout ? 0 : 2;
}

int cmd_train(int argc, char **argv, const char *prog)
{
    const char *recipe = NULL, *out_dir = NULL, *refs = NULL, *study = "adhoc";
    bool resume = false, force = false;
    char **sets = xcalloc((size_t)argc + 1, sizeof *sets), weights_set[1100];
    int n_sets = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--recipe") && i + 1 < argc) recipe = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
            snprintf(weights_set, sizeof weights_set, "model.weights=%s", argv[++i]);
            sets[n_sets++] = weights_set; // after the --set before it, like a later --set
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--refs") && i + 1 < argc) refs = argv[++i];
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
    snprintf(dir, sizeof dir, "results/%s", study);
    if (out_dir) snprintf(dir, sizeof dir, "%s", out_dir);
    RunSpec spec = {.dir = dir, .refs = refs, .study = study, .tier = "adhoc", .label = "",
                    .mode = force ? RUN_FORCE : resume ? RUN_RESUME : RUN_NEW};
    RunOutcome o; // under mpirun or srun: one rank of a data-parallel run
    return run_train_ranks(&c, recipe, &spec, &o);
}

// ---------------------------------------------------------------------------------------------
// eval: weights on a recipe's test split

static int usage_eval(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s eval [--model NAME] --weights FILE.safetensors [--ema] [--reparam]\n"
               "           [--recipe FILE] [--set section.key=value ...] [--backend B]   (B: %s)\n"
               "  evaluates the weights (a timm state dict, or one of our checkpoints; --ema: its EMA\n"
               "  weights) on the test split of the recipe's dataset, prepared as the recipe's runs\n"
               "  evaluate (model.res, data.mean/std, data.crop_pct, data.eval_limit, train.eval_batch),\n"
               "  and prints top-1, top-5, the mean loss and images/s. The recipe: --recipe FILE, else\n"
               "  the one a checkpoint of ours stores (its run's, so it scores as its run did), else the\n"
               "  built-in defaults, Fashion-MNIST's settings (%s recipe --keys), said so.\n"
               "  --model NAME is --set model.name=NAME (needed without a stored recipe); the model's\n"
               "  other knobs (model.width, model.classes, ...) come from the recipe and --set, and must\n"
               "  be those the weights were trained with.\n"
               "  --reparam: the weights folded into the inference form first (GhostNetV3), which\n"
               "  scores as the branches do up to float rounding; a no-op, said so, for a model\n"
               "  without such branches. Backend default: the recipe's train.backend (cpu).\n"
               "  Exit status: 0 evaluated, 1 failed, 2 usage.\n", prog, dev_names(), prog);
    return f == stdout ? 0 : 2;
}

int cmd_eval(int argc, char **argv, const char *prog)
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
    if (!weights) {
        free(sets);
        log_error("eval: --weights FILE is required");
        return usage_eval(stderr, prog);
    }
    char *stored = NULL; // a checkpoint's own recipe
    if (!recipe && weights_recipe(weights, &stored)) {
        free(sets);
        return 1;
    }
    if (!name && !stored) {
        free(sets);
        log_error("eval: %s stores no recipe (a timm state dict, or a checkpoint older than stored recipes): "
                  "--model NAME is required, and --recipe FILE unless the built-in defaults fit", weights);
        return usage_eval(stderr, prog);
    }
    if (name && !model_known(name)) {
        free(stored);
        free(sets);
        log_error("eval: unknown model '%s' (valid: %s)", name, model_names());
        return 2;
    }
    // --model and --backend are recipe overrides, after the --set before them
    if (name) {
        snprintf(set_name, sizeof set_name, "model.name=%s", name);
        sets[n_sets++] = set_name;
    }
    if (backend) {
        snprintf(set_backend, sizeof set_backend, "train.backend=%s", backend);
        sets[n_sets++] = set_backend;
    }
    TrainConfig c;
    if (stored) {
        rc = recipe_parse(&c, weights, stored, n_sets, sets, NULL);
        free(stored);
        if (!rc) printf("eval: the recipe stored in %s (its run's)\n", weights);
    } else {
        rc = recipe_load(&c, recipe, n_sets, sets);
        if (!rc && !recipe)
            printf("eval: no --recipe, and %s stores none: the built-in defaults (data set %s, %d channel(s), "
                   "%d classes)\n", weights, c.dataset, c.net.in_chans, c.net.num_classes);
    }
    free(sets);
    if (rc) return 1;
    name = c.model;
    snprintf(c.weights, sizeof c.weights, "%s", weights);
    fold = fold && cli_reparam_or_noop(name, "eval");
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
