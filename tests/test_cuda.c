/* tests/test_cuda.c — training on the cuda backend against the same training on ref.
 *
 * The op test (test_ops) holds every op on cuda to ref one call at a time; this holds the trainer
 * around them: the batches going up, the logits and losses coming down, the optimizer, clipping
 * and EMA as ops on the device (SGD, AdamW, RMSpropTF, LAMB), distillation (two teachers' forward
 * passes, the KD loss, MEAL V2's discriminator), and NCCL as a communicator of one. Same recipe, seed and batches, a few
 * steps on each backend, then the weights (BN statistics included), the summed training loss and
 * the test split's loss, each within 1e-4 relative. Float sums run in other orders on the GPU, so the comparison is a
 * relative tolerance, not bitwise (REPRO_DEV_STAGED in test_train checks the host copies bitwise).
 * Without a CUDA device each test says skipped. Uses the trainer API alone: no HDF5 needed.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <math.h>   // sqrt, fabs
#include <string.h> // memcpy
#include <stdlib.h> // mkstemps
#include <unistd.h> // access, close, unlink

#include "io/weights.h"     // weights_export: the teachers' files
#include "models/models.h"  // model_build: the teachers' initialization
#include "run/recipe.h"
#include "train/train.h"

#ifndef TEST_BACKEND // the backend held to ref (-DTEST_BACKEND='"cpu"' checks this test on a CPU)
#define TEST_BACKEND "cuda"
#endif

static bool have_fmnist(void)
{
    return access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0 ||
           getenv("FMNIST_DIR");
}

typedef struct {
    float     *w;     // the weight role's host copy (padding included)
    size_t     total;
    TrainStats st;
    EvalStats  ev;
} Outcome;

// n_steps of the recipe (with sets) on backend, then the test split
static Outcome train_on(const char *backend, int n_sets, char **sets, int n_steps)
{
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, "recipes/fmnist_resnet20.recipe", n_sets, sets), 0);
    c.train_limit = 256, c.batch = 32, c.eval_limit = 256, c.eval_batch = 128;
    c.ema = (Ema){0.9f, EMA_WARMUP_TIMM};
    c.clip_grad = 2.0f;
    snprintf(c.backend, sizeof c.backend, "%s", backend);
    Trainer *t;
    cr_assert_eq(trainer_open(&t, &c), 0, "trainer_open on %s", backend);
    Outcome o = {0};
    cr_assert_eq(trainer_train(t, 0, 0, n_steps, &o.st), 0);
    cr_assert_eq(trainer_evaluate(t, false, false, &o.ev), 0);
    Params *p = trainer_params(t);
    o.total = p->total;
    o.w = malloc(p->total * sizeof(float));
    memcpy(o.w, params_pull(p, ROLE_W), p->total * sizeof(float));
    trainer_close(t);
    return o;
}

static void cuda_matches_ref(int n_sets, char **sets, const char *what)
{
    if (!dev_available(TEST_BACKEND)) cr_skip_test("no CUDA device");
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    // two steps: the second uses the first's momentum, EMA and clipped gradients; past a few steps
    // this early training amplifies rounding ~100x a step (cpu against ref: 2e-8, 6e-7, 8e-5)
    enum { STEPS = 2 };
    Outcome r = train_on("ref", n_sets, sets, STEPS), g = train_on(TEST_BACKEND, n_sets, sets, STEPS);
    cr_assert_eq(r.total, g.total);
    double d2 = 0, n2 = 0;
    for (size_t j = 0; j < r.total; j++) d2 += (double)(g.w[j] - r.w[j]) * (g.w[j] - r.w[j]), n2 += (double)r.w[j] * r.w[j];
    double werr = sqrt(d2 / n2);
    double lerr = fabs(g.st.loss_sum - r.st.loss_sum) / fabs(r.st.loss_sum);
    double eerr = fabs(g.ev.loss - r.ev.loss) / fabs(r.ev.loss);
    cr_log_info("%s, %d steps: weights relative L2 %.1e, training loss %.6f vs %.6f (%.1e), test loss %.5f vs "
                "%.5f (%.1e), test top-1 %.2f%% vs %.2f%%", what, STEPS, werr, g.st.loss_sum / g.st.seen,
                r.st.loss_sum / r.st.seen, lerr, g.ev.loss, r.ev.loss, eerr, g.ev.top1, r.ev.top1);
    cr_expect(werr < 1e-4, "%s: weights after %d steps differ from ref's by %.2e (relative L2)", what, STEPS, werr);
    cr_expect(lerr < 1e-4, "%s: training loss differs from ref's by %.2e", what, lerr);
    cr_expect(eerr < 1e-4, "%s: test loss differs from ref's by %.2e", what, eerr);
    free(r.w);
    free(g.w);
}

// ResNet-20, SGD with Nesterov momentum, weight decay, clipping, EMA, random erasing
Test(cuda, sgd_training_matches_ref, .timeout = 600)
{
    cuda_matches_ref(1, (char *[]){"data.erase_p=0.5"}, "resnet20 sgd");
}

// AdamW (two slots, bias correction), label smoothing, Mixup/CutMix soft targets
Test(cuda, adamw_mixup_training_matches_ref, .timeout = 600)
{
    cuda_matches_ref(7, (char *[]){"optim.kind=adamw", "optim.weight_decay=0.05", "schedule.lr_peak=0.002",
                                   "train.label_smoothing=0.1", "data.mixup_alpha=0.2", "data.cutmix_alpha=1.0",
                                   "data.drop_last=true"},
                     "resnet20 adamw mixup");
}

// RMSpropTF with momentum and LAMB: their device updates (optim_update, sumsq for LAMB's norms and
// the clipping) against ref's
Test(cuda, rmsprop_lamb_training_matches_ref, .timeout = 600)
{
    cuda_matches_ref(3, (char *[]){"optim.kind=rmsprop_tf", "optim.momentum=0.9", "schedule.lr_peak=0.01"},
                     "resnet20 rmsprop_tf");
    cuda_matches_ref(2, (char *[]){"optim.kind=lamb", "schedule.lr_peak=0.01"}, "resnet20 lamb");
}

// distillation on the device: two frozen teachers (their forward passes on the step's batch), the
// ensemble's soft target, the KD + CE loss and MEAL V2's discriminator trained beside the student.
// The teachers' weights: each model's initialization from a seed, exported as a timm state dict
static void export_init(const char *model, unsigned long long seed, const char *path)
{
    Dev d;
    cr_assert_eq(dev_open(&d, "ref"), 0);
    ModelKnobs k = model_knobs_default();
    k.in_chans = 1, k.num_classes = 10;
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    model_build(&g, model, &k, 1, 28);
    cr_assert_eq(params_alloc(&p, &d, 0, false), 0);
    graph_init_params(&g, seed);
    cr_assert_eq(weights_export(path, &p, model, 0, "test init"), 0);
    graph_free(&g);
    params_free(&p);
    dev_close(&d);
}

Test(cuda, distillation_matches_ref, .timeout = 600)
{
    if (!dev_available(TEST_BACKEND)) cr_skip_test("no CUDA device");
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char t1[] = "/tmp/test_cuda_t1_XXXXXX.safetensors", t2[] = "/tmp/test_cuda_t2_XXXXXX.safetensors";
    int f1 = mkstemps(t1, 12), f2 = mkstemps(t2, 12);
    cr_assert(f1 >= 0 && f2 >= 0);
    close(f1), close(f2);
    export_init("resnet32", 7, t1);
    export_init("resnet20", 8, t2);
    char teachers[200];
    snprintf(teachers, sizeof teachers, "distill.teachers=resnet32:%s, resnet20:%s", t1, t2);
    cuda_matches_ref(6, (char *[]){teachers, "distill.kd_weight=1", "distill.ce_weight=0.5", "distill.tau=2",
                                   "distill.discriminator=true", "distill.disc_reduction=2"},
                     "resnet20 from two teachers, KD + CE + discriminator");
    unlink(t1), unlink(t2);
}

static int bcast_none(void *user, void *buf, size_t bytes) { return 0; } // one rank: nothing to send
static bool all_yes(void *user, bool yes) { return yes; }
static bool one_key(void *user, uint64_t key) { return true; } // one rank: nobody to share with

// the GPU's collectives as one rank: NCCL's communicator of one, and its all-reduce leaves the
// buffer as it was (the sum over one rank); where NCCL is not built or not loadable, it says so
Test(cuda, nccl_one_rank, .timeout = 120)
{
    if (!dev_available(TEST_BACKEND)) cr_skip_test("no CUDA device");
    Dev d;
    cr_assert_eq(dev_open(&d, TEST_BACKEND), 0);
    if (!d.coll) {
        dev_close(&d);
        cr_skip_test("built without nccl.h: no device collectives");
    }
    DevCollHost h = {bcast_none, all_yes, one_key, NULL};
    int rc = d.coll->open(&d, 0, 1, 1, &h);
    if (rc == ERR_ARG) {
        dev_close(&d);
        cr_skip_test("libnccl.so.2 not found on this machine");
    }
    cr_assert_eq(rc, 0);
    enum { N = 100003 };
    float *host = malloc(N * sizeof *host), *back = malloc(N * sizeof *back);
    for (int i = 0; i < N; i++) host[i] = (float)(i % 97) * 0.25f - 7.0f;
    float *buf = dev_alloc(&d, N * sizeof *buf);
    dev_upload(&d, buf, host, N * sizeof *buf);
    cr_assert_eq(d.coll->allreduce_sum(&d, buf, N), 0);
    dev_download(&d, back, buf, N * sizeof *back);
    cr_expect_eq(memcmp(host, back, N * sizeof *host), 0, "a sum over one rank changed the buffer");
    dev_free(&d, buf);
    dev_close(&d);
    free(host);
    free(back);
}
