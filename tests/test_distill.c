/* tests/test_distill.c — distillation (train/distill.h, train/discriminator.h).
 *
 * The losses against PyTorch (tests/ref/gen_distill_fixtures.py, on every backend present): the
 * ensemble target and mean logits of several teachers; the KD loss and its gradient in Hinton's
 * (1 - alpha) CE + alpha tau^2 KL form, GhostNetV3's CE + KD and MEAL V2's soft-label loss;
 * MEAL V2's discriminator loss with its gradients for the student's logits and its own weights;
 * MEAL V2's whole objective. Then short Fashion-MNIST runs on the cpu backend: a teacher trained
 * a few steps and saved, students taught by it with KD and in MEAL V2's mode (finite, decreasing
 * loss; the discriminator learns), stored soft labels written, read back and equal to the teacher
 * run online, and a MEAL V2 checkpoint used as a teacher. (Exact resume with the discriminator:
 * tests/test_train.c.)
 */
#include <criterion/criterion.h>
#include <math.h>   // isfinite, NAN
#include <stdio.h>  // snprintf
#include <unistd.h> // access, unlink, getpid

#include "fixtures.h"
#include "io/npy.h"
#include "run/recipe.h"
#include "train/discriminator.h"
#include "train/distill.h"
#include "train/train.h"

static const char *const BACKENDS[] = {"ref", "cpu"};

static const FixTensor *need(const Fixtures *fx, const char *cs, const char *name)
{
    const FixTensor *t = fixture_find(fx, cs, name);
    cr_assert(t, "fixture %s/%s missing (make fixtures)", cs, name);
    return t;
}

static float *on_dev(Dev *d, const float *host, size_t n)
{
    float *p = dev_alloc(d, n * sizeof(float));
    dev_upload(d, p, host, n * sizeof(float));
    return p;
}

static float *filled(Dev *d, size_t n, float v)
{
    float *h = malloc(n * sizeof *h), *p;
    for (size_t i = 0; i < n; i++) h[i] = v;
    p = on_dev(d, h, n);
    free(h);
    return p;
}

// compares n device values with the fixture's (minus `base` each, for accumulated gradients)
static void expect_close(Dev *d, const char *what, const float *got, const FixTensor *want, float base, double tol)
{
    float *h = malloc(want->n * sizeof *h);
    dev_download(d, h, got, want->n * sizeof *h);
    for (size_t i = 0; i < want->n; i++) h[i] -= base;
    double e = max_rel_err(h, want->data, want->n);
    cr_expect(e <= tol, "%s on %s: max relative error %.3g > %.1g", what, d->name, e, tol);
    cr_log_info("%-26s %-4s %.2e", what, d->name, e);
    free(h);
}

static void expect_scalar(const char *what, Dev *d, double got, const FixTensor *want, double tol)
{
    double e = fabs(got - want->data[0]) / fmax(fabs(want->data[0]), 1e-30);
    cr_expect(e <= tol, "%s on %s: %.9g, PyTorch %.9g (relative error %.3g)", what, d->name, got, want->data[0], e);
    cr_log_info("%-26s %-4s %.2e", what, d->name, e);
}

// ---------------------------------------------------------------------------------------------
// the losses against PyTorch

static void check_kd(const char *cs)
{
    Fixtures fx;
    cr_assert_eq(fixtures_load(&fx, "tests/ref/distill.fix"), 0);
    const FixTensor *zt = need(&fx, cs, "zt"), *z = need(&fx, cs, "z"), *lab = need(&fx, cs, "labels");
    int n = (int)lab->n, k = (int)(z->n / lab->n), T = (int)(zt->n / z->n);
    float tau = need(&fx, cs, "tau")->data[0];
    int *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++) labels[i] = (int)lab->data[i];
    for (int b = 0; b < LEN(BACKENDS); b++) {
        Dev d;
        cr_assert_eq(dev_open(&d, BACKENDS[b]), 0);
        size_t nk = (size_t)n * k;
        float *q = filled(&d, nk, NAN), *zbar = filled(&d, nk, NAN), *s = filled(&d, nk, 0);
        float *zd = on_dev(&d, z->data, nk), *dz = filled(&d, nk, NAN); // dz is written, not added to
        int *ld = dev_alloc(&d, (size_t)n * sizeof *ld);
        dev_upload(&d, ld, labels, (size_t)n * sizeof *ld);
        distill_ensemble(&d, T, n, k, tau, zt->data, q, zbar, s);
        expect_close(&d, "ensemble target q", q, need(&fx, cs, "q"), 0, 1e-6);
        expect_close(&d, "mean teacher logits", zbar, need(&fx, cs, "zbar"), 0, 1e-6);
        KdLoss l;
        kd_loss_init(&l, &d, n, k);
        l.tau = tau, l.kd_weight = need(&fx, cs, "kd_weight")->data[0];
        l.ce_weight = need(&fx, cs, "ce_weight")->data[0], l.smoothing = need(&fx, cs, "smoothing")->data[0];
        double sum = kd_loss(&l, &d, n, zd, ld, q, dz);
        expect_scalar(cs, &d, sum / n, need(&fx, cs, "loss"), 1e-5);
        expect_close(&d, "d loss / dz", dz, need(&fx, cs, "dz"), 0, 1e-5);
        kd_loss_free(&l, &d);
        float *all[] = {q, zbar, s, zd, dz};
        for (int i = 0; i < LEN(all); i++) dev_free(&d, all[i]);
        dev_free(&d, ld);
        dev_close(&d);
    }
    free(labels);
    fixtures_free(&fx);
}

Test(distill_loss, hinton_alpha_form_matches_torch) { check_kd("kd_hinton"); }
Test(distill_loss, ghostnetv3_ce_plus_kd_matches_torch) { check_kd("kd_ghostnetv3"); }
Test(distill_loss, meal_v2_soft_labels_match_torch) { check_kd("kd_meal_v2"); }

// a discriminator with the fixture's weights (case cs), for halves of n rows of k logits
static void disc_from_fixture(Disc *D, Dev *d, const Fixtures *fx, const char *cs, int n, int k)
{
    int r = (int)need(fx, cs, "r")->data[0];
    cr_assert_eq(disc_init(D, d, k, r, n, 0, 1), 0);
    for (int l = 0; l < 3; l++) {
        char w[8], b[8];
        snprintf(w, sizeof w, "w%d", l + 1);
        snprintf(b, sizeof b, "b%d", l + 1);
        const FixTensor *fw = need(fx, cs, w), *fb = need(fx, cs, b);
        cr_assert_eq(fw->n, D->p.info[D->par[l][0]].numel, "%s: %s has %zu values", cs, w, fw->n);
        dev_upload(d, params_at(&D->p, ROLE_W, D->par[l][0]), fw->data, fw->n * sizeof(float));
        dev_upload(d, params_at(&D->p, ROLE_W, D->par[l][1]), fb->data, fb->n * sizeof(float));
    }
    params_zero(&D->p, ROLE_GRAD);
}

static void expect_disc_grads(Dev *d, Disc *D, const Fixtures *fx, const char *cs)
{
    for (int l = 0; l < 3; l++)
        for (int j = 0; j < 2; j++) {
            char name[8];
            snprintf(name, sizeof name, "d%c%d", j ? 'b' : 'w', l + 1);
            expect_close(d, name, params_at(&D->p, ROLE_GRAD, D->par[l][j]), need(fx, cs, name), 0, 1e-5);
        }
}

Test(distill_loss, discriminator_matches_meal_v2)
{
    Fixtures fx;
    cr_assert_eq(fixtures_load(&fx, "tests/ref/distill.fix"), 0);
    const FixTensor *zs = need(&fx, "disc", "zs"), *zt = need(&fx, "disc", "zt");
    int k = 10, n = (int)(zs->n / k);
    for (int b = 0; b < LEN(BACKENDS); b++) {
        Dev d;
        cr_assert_eq(dev_open(&d, BACKENDS[b]), 0);
        Disc D;
        disc_from_fixture(&D, &d, &fx, "disc", n, k);
        float *s = on_dev(&d, zs->data, zs->n), *t = on_dev(&d, zt->data, zt->n);
        float *dzs = filled(&d, zs->n, 0.25f); // accumulated into
        expect_scalar("discriminator loss", &d, disc_loss(&D, n, s, t, dzs), need(&fx, "disc", "loss"), 1e-5);
        expect_close(&d, "d L_D / d z_student", dzs, need(&fx, "disc", "dzs"), 0.25f, 1e-5);
        expect_disc_grads(&d, &D, &fx, "disc");
        dev_free(&d, s), dev_free(&d, t), dev_free(&d, dzs);
        disc_free(&D);
        dev_close(&d);
    }
    fixtures_free(&fx);
}

// ensemble -> KL -> discriminator on (student, mean teacher logits): MEAL V2's train.py step
Test(distill_loss, meal_v2_objective_matches_torch)
{
    Fixtures fx;
    cr_assert_eq(fixtures_load(&fx, "tests/ref/distill.fix"), 0);
    const FixTensor *zt = need(&fx, "meal_v2", "zt"), *z = need(&fx, "meal_v2", "z");
    int k = 10, n = (int)(z->n / k), T = (int)(zt->n / z->n);
    for (int b = 0; b < LEN(BACKENDS); b++) {
        Dev d;
        cr_assert_eq(dev_open(&d, BACKENDS[b]), 0);
        Disc D;
        disc_from_fixture(&D, &d, &fx, "meal_v2", n, k);
        size_t nk = (size_t)n * k;
        float *q = filled(&d, nk, 0), *zbar = filled(&d, nk, 0), *s = filled(&d, nk, 0);
        float *zd = on_dev(&d, z->data, nk), *dz = filled(&d, nk, NAN);
        KdLoss l;
        kd_loss_init(&l, &d, n, k); // tau 1, kd_weight 1, no hard labels: MEAL V2
        distill_ensemble(&d, T, n, k, 1.0f, zt->data, q, zbar, s);
        double loss = kd_loss(&l, &d, n, zd, NULL, q, dz) / n + disc_loss(&D, n, zd, zbar, dz);
        expect_scalar("MEAL V2 loss (KL form)", &d, loss, need(&fx, "meal_v2", "loss"), 1e-5);
        expect_close(&d, "d loss / dz", dz, need(&fx, "meal_v2", "dz"), 0, 1e-5);
        expect_disc_grads(&d, &D, &fx, "meal_v2");
        kd_loss_free(&l, &d);
        float *all[] = {q, zbar, s, zd, dz};
        for (int i = 0; i < LEN(all); i++) dev_free(&d, all[i]);
        disc_free(&D);
        dev_close(&d);
    }
    fixtures_free(&fx);
}

// ---------------------------------------------------------------------------------------------
// recipes: what distill_check refuses

static int load_with(const char *a, const char *b)
{
    char *sets[2] = {(char *)a, (char *)b};
    TrainConfig c;
    return recipe_load(&c, "recipes/fmnist_resnet20.recipe", b ? 2 : 1, sets);
}

Test(distill_recipe, keys_are_checked)
{
    cr_expect_eq(load_with("distill.teachers=resnet20:t.safetensors", NULL), 0);
    cr_expect_eq(load_with("distill.teachers=resnet20:a.st, resnet32:b.st", "distill.ce_weight=0.5"), 0);
    cr_expect_eq(load_with("distill.teachers=resnet21:t.safetensors", NULL), ERR_FORMAT, "unknown teacher");
    cr_expect_eq(load_with("distill.teachers=resnet20", NULL), ERR_FORMAT, "no file");
    cr_expect_eq(load_with("distill.teachers=:t.safetensors", NULL), ERR_FORMAT, "no name");
    cr_expect_eq(load_with("distill.discriminator=true", NULL), ERR_FORMAT, "discriminator without teachers");
    cr_expect_eq(load_with("distill.teachers=resnet20:t.st", "distill.discriminator=true"), ERR_FORMAT,
                 "10 classes / 8 / 8 = 0: a discriminator width of 0");
    cr_expect_eq(load_with("distill.teachers=resnet20:t.st", "distill.kd_weight=0"), ERR_FORMAT, "no soft term");
    cr_expect_eq(load_with("distill.tau=0", NULL), ERR_FORMAT, "temperature 0");
}

// ---------------------------------------------------------------------------------------------
// short runs on Fashion-MNIST, cpu backend

#define NEED_FMNIST()                                                                         \
    do {                                                                                      \
        if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) != 0) \
            cr_skip_test("dataset-fashion-mnist not installed");                              \
    } while (0)

static TrainConfig tiny(void)
{
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, "recipes/fmnist_resnet20.recipe", 0, NULL), 0);
    c.train_limit = 600, c.eval_limit = 100, c.eval_batch = 100, c.batch = 50, c.epochs = 1;
    c.sched = (Schedule){.kind = SCHED_CONSTANT, .lr_peak = 0.05f, .epochs = 1};
    return c;
}

static char *tmp(char *buf, size_t cap, const char *what)
{
    snprintf(buf, cap, "/tmp/repro_distill_%s_%d", what, (int)getpid());
    unlink(buf);
    return buf;
}

// a teacher: resnet20 trained `steps` steps, its checkpoint at path
static void train_teacher(const char *path, int steps)
{
    TrainConfig c = tiny();
    c.max_steps = steps;
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", path);
    snprintf(c.run_id, sizeof c.run_id, "teacher");
    TrainResult r;
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
    train_result_free(&r);
}

typedef struct { double loss[64]; int n; } Losses;

static void record(const TrainStats *st, int epoch, int step, void *user)
{
    Losses *l = user;
    if (l->n < LEN(l->loss)) l->loss[l->n++] = st->last_loss;
}

// trains the first n_steps steps of c's first epoch (0: all) through the step-level API; the
// per-step losses
static Losses run_steps(const TrainConfig *c, int n_steps)
{
    Trainer *t;
    cr_assert_eq(trainer_open(&t, c), 0);
    Losses l = {.n = 0};
    TrainStats st = {.progress = record, .user = &l};
    cr_assert_eq(trainer_train(t, 0, 0, n_steps, &st), 0);
    cr_assert(!st.diverged, "loss diverged: %g", st.last_loss);
    trainer_close(t);
    return l;
}

static void expect_learning(const char *what, const Losses *l)
{
    cr_assert(l->n >= 8, "%s: %d steps", what, l->n);
    double first = 0, last = 0;
    for (int i = 0; i < l->n; i++) cr_expect(isfinite(l->loss[i]), "%s: step %d loss %g", what, i + 1, l->loss[i]);
    for (int i = 0; i < 4; i++) first += l->loss[i] / 4, last += l->loss[l->n - 1 - i] / 4;
    cr_log_info("%s: mean loss of the first 4 steps %.4f, of the last 4 %.4f", what, first, last);
    cr_expect(last < first, "%s: the loss did not decrease (%.4f -> %.4f)", what, first, last);
}

Test(distill_run, kd_and_meal_v2_learn_from_a_trained_teacher, .timeout = 300)
{
    NEED_FMNIST();
    char teacher[96], meal[96];
    train_teacher(tmp(teacher, sizeof teacher, "teacher"), 12);
    TrainConfig c = tiny();
    snprintf(c.distill.teachers, sizeof c.distill.teachers, "resnet20:%s", teacher);
    c.distill.tau = 4, c.distill.kd_weight = 0.7f, c.distill.ce_weight = 0.3f; // Hinton, alpha 0.7
    Losses kd = run_steps(&c, 0);
    expect_learning("KD (tau 4, alpha 0.7)", &kd);
    c.distill.tau = 1, c.distill.kd_weight = 1, c.distill.ce_weight = 0; // MEAL V2
    c.distill.discriminator = true, c.distill.disc_reduction = 3;
    Losses mv = run_steps(&c, 0);
    expect_learning("MEAL V2 (+ discriminator)", &mv);
    // a MEAL V2 run's checkpoint (with distill.disc.* beside the weights) teaches in turn
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", tmp(meal, sizeof meal, "meal"));
    snprintf(c.run_id, sizeof c.run_id, "meal");
    c.max_steps = 3;
    TrainResult r;
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
    train_result_free(&r);
    TrainConfig s = tiny();
    s.max_steps = 2;
    snprintf(s.distill.teachers, sizeof s.distill.teachers, "resnet20:%s, resnet20:%s", teacher, meal);
    cr_assert_eq(train_run(&s, &r, NULL, NULL), 0, "a MEAL V2 checkpoint as a teacher");
    train_result_free(&r);
    unlink(teacher);
    unlink(meal);
}

// without augmentation the batch is the plain image, so the stored logits (computed once over the
// training set in order) are the teacher's online logits of the step's samples, wherever the
// epoch's order put them: the losses agree step by step
Test(distill_run, stored_soft_labels_equal_the_teacher_online, .timeout = 300)
{
    NEED_FMNIST();
    char teacher[96], soft[96];
    train_teacher(tmp(teacher, sizeof teacher, "teacher2"), 6);
    TrainConfig c = tiny();
    c.aug.pad = 0, c.aug.flip = false;
    snprintf(c.distill.teachers, sizeof c.distill.teachers, "resnet20:%s", teacher);
    c.distill.ce_weight = 0.5f;
    Losses online = run_steps(&c, 8);
    snprintf(c.distill.soft_labels, sizeof c.distill.soft_labels, "%s.npy", tmp(soft, sizeof soft, "soft"));
    unlink(c.distill.soft_labels);
    Losses written = run_steps(&c, 8); // computes and writes the file
    NpyArray a;
    cr_assert_eq(npy_read(&a, c.distill.soft_labels), 0);
    cr_expect(a.ndim == 3 && a.dims[0] == 1 && a.dims[1] == c.train_limit && a.dims[2] == 10,
              "stored logits of shape %s", DIMS_STR(a.ndim, a.dims));
    npy_free(&a);
    c.distill.teachers[0] = 0; // the file alone
    Losses read = run_steps(&c, 8);
    cr_assert(online.n == 8 && written.n == 8 && read.n == 8);
    for (int i = 0; i < online.n; i++) {
        cr_expect(fabs(written.loss[i] - online.loss[i]) <= 1e-4 * fabs(online.loss[i]),
                  "step %d: loss %.7f with stored logits, %.7f online", i + 1, written.loss[i], online.loss[i]);
        cr_expect(read.loss[i] == written.loss[i], "step %d: the file read back gives %.9g, not %.9g", i + 1,
                  read.loss[i], written.loss[i]);
    }
    unlink(c.distill.soft_labels);
    unlink(teacher);
}
