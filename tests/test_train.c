/* tests/test_train.c — the optimizer and schedules against torch.optim.SGD and timm's
 * cosine scheduler and torch's MultiStepLR (tests/ref/gen_train_fixtures.py), and gradient
 * clipping.
 */
#include <criterion/criterion.h>
#include <math.h>  // fabs
#include <stdio.h> // snprintf

#include "fixtures.h"
#include "train/optim.h"

static const int SHAPES[3][4] = {{6, 3, 3, 2}, {6}, {10, 7}};
static const int NDIM[3] = {4, 1, 2};
static const bool DECAY[3] = {true, false, true};

static const FixTensor *get(const Fixtures *fx, const char *prefix, const char *fmt, int a, int b)
{
    char name[64];
    snprintf(name, sizeof name, fmt, a, b);
    const FixTensor *t = fixture_find(fx, prefix, name);
    cr_assert(t, "fixture %s/%s missing", prefix, name);
    return t;
}

static void check_sgd(const char *prefix, bool nesterov)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/train.fix"), 0);
    Dev d;
    cr_assert_eq(dev_open(&d, "cpu"), 0);
    Params p = {0};
    char nm[16];
    for (int i = 0; i < 3; i++) {
        snprintf(nm, sizeof nm, "p%d", i);
        params_add(&p, nm, NDIM[i], SHAPES[i], DECAY[i]);
    }
    params_alloc(&p, &d, 1, false);
    for (int i = 0; i < 3; i++) {
        const FixTensor *t = get(&fx, prefix, "init_%d", i, 0);
        memcpy(params_at(&p, ROLE_W, i), t->data, t->n * sizeof(float));
    }
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 3; i++) {
            const FixTensor *g = get(&fx, prefix, "grad%d_%d", k, i);
            memcpy(params_at(&p, ROLE_GRAD, i), g->data, g->n * sizeof(float));
        }
        float lr = get(&fx, prefix, "lr%d", k, 0)->data[0];
        sgd_step(&p, (Sgd){lr, 0.9f, 5e-4f, nesterov});
        for (int i = 0; i < 3; i++) {
            const FixTensor *w = get(&fx, prefix, "w%d_%d", k, i);
            const float *got = params_at(&p, ROLE_W, i);
            double e = 0;
            for (size_t j = 0; j < w->n; j++) e = fmax(e, fabs((double)got[j] - w->data[j]));
            cr_expect(e < 2e-6, "%s step %d tensor %d: max error %.2e vs torch.optim.SGD", prefix, k, i, e);
        }
    }
    params_free(&p);
    dev_close(&d);
    fixtures_free(&fx);
}

Test(sgd, nesterov_matches_torch) { check_sgd("sgd_nesterov", true); }
Test(sgd, classic_matches_torch) { check_sgd("sgd_classic", false); }

Test(schedule, cosine_warmup_matches_timm)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/train.fix"), 0);
    const FixTensor *ep = fixture_find(&fx, "cosine", "epochs"), *lr = fixture_find(&fx, "cosine", "lr");
    cr_assert(ep && lr && ep->n == lr->n);
    Schedule s = {.kind = SCHED_COSINE, .lr_peak = 0.4f, .lr_final = 1e-3f, .warmup_lr = 1e-2f,
                  .warmup_epochs = 1, .epochs = 6, .per_step = true};
    for (size_t i = 0; i < ep->n; i++)
        cr_expect(fabs(sched_lr(&s, ep->data[i]) - lr->data[i]) < 1e-6, "epoch %.2f: %g vs timm %g",
                  ep->data[i], sched_lr(&s, ep->data[i]), lr->data[i]);
    fixtures_free(&fx);
}

Test(schedule, step_matches_torch_multisteplr)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/train.fix"), 0);
    const FixTensor *ep = fixture_find(&fx, "step", "epochs"), *lr = fixture_find(&fx, "step", "lr");
    cr_assert(ep && lr && ep->n == lr->n);
    Schedule s = {.kind = SCHED_STEP, .lr_peak = 0.1f, .milestones = {150, 225}, .n_milestones = 2,
                  .gamma = 0.1f, .epochs = 300};
    for (size_t i = 0; i < ep->n; i++)
        cr_expect(fabs(sched_lr(&s, ep->data[i]) - lr->data[i]) < 1e-7, "epoch %g: %g vs torch %g",
                  ep->data[i], sched_lr(&s, ep->data[i]), lr->data[i]);
    fixtures_free(&fx);
}

Test(clip, scales_to_the_norm)
{
    Dev d;
    cr_assert_eq(dev_open(&d, "ref"), 0);
    Params p = {0};
    params_add(&p, "a", 1, (const int[]){3}, true);
    params_add(&p, "b", 1, (const int[]){1}, false);
    params_alloc(&p, &d, 0, false);
    float *ga = params_at(&p, ROLE_GRAD, 0), *gb = params_at(&p, ROLE_GRAD, 1);
    ga[0] = 3, ga[1] = 0, ga[2] = 0, gb[0] = 4; // norm 5
    cr_expect(fabs(grad_norm(&p) - 5) < 1e-12);
    grad_clip(&p, 1.0);
    cr_expect(fabs(grad_norm(&p) - 1) < 1e-5, "after clipping: %g", grad_norm(&p));
    grad_clip(&p, 10.0); // below the limit: unchanged
    cr_expect(fabs(grad_norm(&p) - 1) < 1e-5);
    params_free(&p);
}
