/* tests/test_distill.c — distillation (train/distill.h, train/discriminator.h).
 *
 * The losses against PyTorch (tests/ref/gen_distill_fixtures.py, on every backend present): the
 * ensemble target and mean logits of several teachers; the KD loss and its gradient in Hinton's
 * (1 - alpha) CE + alpha tau^2 KL form, GhostNetV3's CE + KD and MEAL V2's soft-label loss;
 * MEAL V2's discriminator loss with its gradients for the student's logits and its own weights;
 * MEAL V2's whole objective.
 */
#include <criterion/criterion.h>
#include <math.h>  // fabs, NAN
#include <stdio.h> // snprintf

#include "fixtures.h"
#include "train/discriminator.h"
#include "train/distill.h"

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
