/* tests/bench_train.c — the engine's half of `make bench`: training and eval throughput of a
 * recipe (default recipes/fmnist_resnet20.recipe: ResNet-20, Fashion-MNIST 28x28x1, batch 128).
 *
 * It times what a user's run does, data pipeline included: the threaded loader (crop, flip,
 * normalization) feeds real Fashion-MNIST, then forward, loss, backward, SGD. The first --warmup
 * steps are not timed (primitive creation, first touch of memory); then --steps steps are; then
 * the first eval-steps x eval-batch test images are evaluated twice, the second pass timed.
 * The last line is machine-readable for scripts/bench_train.py, which runs PyTorch the same way:
 *   RESULT train_img_s=<float> eval_img_s=<float>
 * --profile also prints the per-node time tables of the training model (ms per pass) and of the
 * eval model over the timed eval (batch norm folded into the convolutions, as evaluated). Other models
 * and sizes: --set model.name=NAME --set model.res=R (the data resized to it), and for 3 channels
 * --set model.in_chans=3 --set data.dataset=synthetic (random 128x128 RGB pixels, no files).
 * Under mpirun (scripts/bench_dist.py) it is data-parallel: --batch is the whole batch, each rank
 * takes its share, and rank 0 prints the images per second of all ranks together.
 */
#include <stdio.h>  // printf
#include <stdlib.h> // atoi
#include <string.h> // strcmp
#include <time.h>   // clock_gettime

#include "dist/comm.h" // data-parallel under mpirun
#include "run/recipe.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_train [--recipe FILE] [--steps N] [--warmup W] [--eval-steps M] [--batch B]\n"
               "                   [--eval-batch E] [--backend ref|cpu|cuda] [--set section.key=value ...]\n"
               "                   [--profile]\n"
               "  times training steps (data loading included) and evaluation of a recipe on its data;\n"
               "  defaults: recipes/fmnist_resnet20.recipe, 60 steps after 10 warm-up steps, batch 128,\n"
               "  20 eval batches of 256. Last line: RESULT train_img_s=... eval_img_s=...\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *recipe = "recipes/fmnist_resnet20.recipe", *backend = NULL;
    int steps = 60, warmup = 10, eval_steps = 20, batch = 128, eval_batch = 256;
    bool profile = false;
    char **sets = xcalloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout);
        else if (!strcmp(a, "--profile")) profile = true;
        else if (!v) { fprintf(stderr, "bench_train: %s needs a value\n", a); return usage(stderr); }
        else if (!strcmp(a, "--recipe")) recipe = argv[++i];
        else if (!strcmp(a, "--steps")) steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup")) warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--eval-steps")) eval_steps = atoi(argv[++i]);
        else if (!strcmp(a, "--batch")) batch = atoi(argv[++i]);
        else if (!strcmp(a, "--eval-batch")) eval_batch = atoi(argv[++i]);
        else if (!strcmp(a, "--backend")) backend = argv[++i];
        else if (!strcmp(a, "--set")) sets[n_sets++] = argv[++i];
        else { fprintf(stderr, "bench_train: unknown argument '%s'\n", a); return usage(stderr); }
    }
    if (steps < 1 || warmup < 0 || eval_steps < 1 || batch < 2 || eval_batch < 1) {
        fprintf(stderr, "bench_train: need --steps >= 1, --warmup >= 0, --eval-steps >= 1, --batch >= 2, "
                        "--eval-batch >= 1\n");
        return 2;
    }
    TrainConfig c;
    if (recipe_load(&c, recipe, n_sets, sets)) return 1;
    free(sets);
    c.batch = batch;
    c.eval_batch = eval_batch;
    c.eval_limit = eval_steps * eval_batch;
    if (backend) snprintf(c.backend, sizeof c.backend, "%s", backend);
    Comm comm;
    if (comm_init(&comm)) return 1;
    if (comm.world > 1) {
        c.comm = &comm;
        if (comm.rank > 0 && !freopen("/dev/null", "w", stdout)) return 1;
    }
    Trainer *t;
    if (trainer_open(&t, &c)) return 1;
    TrainStats st = {0};
    double t0 = time_now();
    if (warmup && trainer_train(t, 0, 0, warmup, &st)) return 1;
    comm_barrier(&comm); // the ranks start the timed steps together
    double t1 = time_now();
    if (profile) trainer_profile(t, true); // from here on
    st = (TrainStats){0};
    if (trainer_train(t, 0, warmup, steps, &st)) return 1;
    double t2 = time_now();
    if (st.diverged) { fprintf(stderr, "bench_train: the loss diverged\n"); return 1; }
    // the weights as trained (a model with re-parameterizable branches is timed in that form, as
    // PyTorch evaluates it; a training run's eval adds the folded form)
    EvalStats es;
    if (trainer_evaluate(t, false, false, &es)) return 1; // warm-up: the eval model's primitives
    if (profile) trainer_profile_eval(t, true); // the timed eval pass only
    double t3 = time_now();
    if (trainer_evaluate(t, false, false, &es)) return 1;
    double t4 = time_now();
    double train_ips = st.seen / (t2 - t1), eval_ips = es.images / (t4 - t3); // a test split shorter than
    // eval-steps x eval-batch (the synthetic set's 512) is evaluated whole: its own count
    printf("bench_train: %s, backend %s, %s, batch %d: warm-up %d steps %.2f s; %d steps %.2f s (loss %.4f); "
           "eval %d images %.2f s\n", c.model, c.backend, comm.desc, batch, warmup, t1 - t0, st.steps, t2 - t1,
           st.loss_sum / st.seen, es.images, t4 - t3);
    if (profile) {
        trainer_profile_print(t, stdout);
        printf("eval ");
        trainer_profile_eval_print(t, stdout);
    }
    trainer_close(t);
    printf("RESULT train_img_s=%.1f eval_img_s=%.1f\n", train_ips, eval_ips);
    comm_free(&comm);
    return 0;
}
