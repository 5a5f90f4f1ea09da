/* tests/test_optim.c — optimizers, schedules and batch-norm conventions against their references.
 *
 * Optimizers: six steps (four for SGD) over three tensors, two decayed and one not, against
 * torch.optim.SGD/AdamW and timm's RMSpropTF, Lamb and SGDW, and L2 in the loss through autograd
 * (tests/ref/gen_train_fixtures.py); every step's weights within 1e-6 relative (max_rel_err).
 * Schedules: every step (or epoch) against timm's CosineLRScheduler and StepLRScheduler, torch's
 * MultiStepLR and EfficientNetV2's TF formula, within 1e-6; scaling to the batch. Batch norm: the
 * momentum conventions as they reach the graph, and ResNet-RS's TF momentum 0 with the EMA of the
 * running statistics against TF's ExponentialMovingAverage written out as its formula.
 * Each comparison prints its worst error (make test shows them).
 */
#include <criterion/criterion.h>
#include <math.h>  // fabs, floor
#include <stdio.h> // printf, snprintf

#include "fixtures.h"
#include "run/recipe.h" // recipe_load: the keys reach the config
#include "train/optim.h"

static const int SHAPES[3][4] = {{6, 3, 3, 2}, {6}, {10, 7}};
static const int NDIM[3] = {4, 1, 2};
static const bool DECAY[3] = {true, false, true};

static Fixtures FX;
static void load(void) { cr_assert_eq(fixtures_load(&FX, "tests/ref/train.fix"), 0); }
static void unload(void) { fixtures_free(&FX); }

static const FixTensor *get(const char *prefix, const char *fmt, int a, int b)
{
    char name[64];
    snprintf(name, sizeof name, fmt, a, b);
    const FixTensor *t = fixture_find(&FX, prefix, name);
    cr_assert(t, "fixture %s/%s missing", prefix, name);
    return t;
}

// ---------------------------------------------------------------------------------------------
// optimizers: o's steps (lr from the fixture) against the reference's weights after each

static void check_steps(const char *prefix, Optim o)
{
    Dev d;
    cr_assert_eq(dev_open(&d, "cpu"), 0);
    Params p = {0};
    char nm[16];
    for (int i = 0; i < 3; i++) {
        snprintf(nm, sizeof nm, "p%d", i);
        params_add(&p, nm, NDIM[i], SHAPES[i], DECAY[i]);
    }
    optim_defaults(&o);
    cr_assert_eq(params_alloc(&p, &d, optim_slots(&o), false), 0);
    optim_init(&p, &o);
    for (int i = 0; i < 3; i++) {
        const FixTensor *t = get(prefix, "init_%d", i, 0);
        memcpy(params_at(&p, ROLE_W, i), t->data, t->n * sizeof(float));
    }
    double worst = 0;
    int steps = 0;
    for (int k = 0; fixture_find(&FX, prefix, (snprintf(nm, sizeof nm, "lr%d", k), nm)); k++, steps++) {
        for (int i = 0; i < 3; i++) {
            const FixTensor *g = get(prefix, "grad%d_%d", k, i);
            memcpy(params_at(&p, ROLE_GRAD, i), g->data, g->n * sizeof(float));
        }
        o.lr = get(prefix, "lr%d", k, 0)->data[0];
        if (o.l2 > 0) optim_l2(&p, &o);
        optim_step(&p, &o, k + 1);
        for (int i = 0; i < 3; i++) {
            const FixTensor *w = get(prefix, "w%d_%d", k, i);
            double e = max_rel_err(params_at(&p, ROLE_W, i), w->data, w->n);
            cr_expect(e < 1e-6, "%s step %d tensor %d: relative error %.2e", prefix, k + 1, i, e);
            worst = fmax(worst, e);
        }
    }
    cr_expect(steps >= 4, "%s: %d steps in the fixture", prefix, steps);
    printf("ok    %-14s %d steps, max relative error %.1e\n", prefix, steps, worst);
    params_free(&p);
    dev_close(&d);
}

TestSuite(optim, .init = load, .fini = unload);

Test(optim, sgd_nesterov_matches_torch)
{
    check_steps("sgd_nesterov", (Optim){.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true});
}
Test(optim, sgd_classic_matches_torch)
{
    check_steps("sgd_classic", (Optim){.momentum = 0.9f, .weight_decay = 5e-4f});
}
Test(optim, sgdw_matches_timm)
{
    check_steps("sgdw", (Optim){.momentum = 0.9f, .nesterov = true, .weight_decay = 0.05f, .decoupled = true});
}
Test(optim, adamw_ra4_betas_match_torch)
{
    check_steps("adamw_ra4", (Optim){.kind = OPTIM_ADAMW, .beta1 = 0.6f, .beta2 = 0.995f, .eps = 1e-6f,
                                     .weight_decay = 0.1f});
}
Test(optim, adamw_defaults_match_torch)
{
    // beta2, eps: the kind's own
    check_steps("adamw", (Optim){.kind = OPTIM_ADAMW, .beta1 = 0.9f, .weight_decay = 0.1f});
}
Test(optim, rmsprop_tf_matches_timm)
{
    check_steps("rmsprop_tf", (Optim){.kind = OPTIM_RMSPROP_TF, .momentum = 0.9f, .beta2 = 0.9f, .eps = 1e-3f,
                                      .weight_decay = 0.1f});
}
Test(optim, rmsprop_tf_decoupled_without_momentum_matches_timm)
{
    check_steps("rmsprop_tf_w", (Optim){.kind = OPTIM_RMSPROP_TF, .weight_decay = 0.05f, .decoupled = true});
}
Test(optim, lamb_matches_timm)
{
    check_steps("lamb", (Optim){.kind = OPTIM_LAMB, .beta1 = 0.9f, .weight_decay = 0.05f});
}
Test(optim, lamb_always_adapt_decoupled_matches_timm)
{
    check_steps("lamb_adapt_w", (Optim){.kind = OPTIM_LAMB, .beta1 = 0.9f, .weight_decay = 0.05f,
                                        .decoupled = true, .always_adapt = true});
}
// TF's L2 term in the loss, as autograd differentiates it, with EfficientNetV2's and ResNet-RS's optimizers
Test(optim, l2_in_loss_rmsprop_tf_matches_autograd)
{
    check_steps("l2_rmsprop_tf", (Optim){.kind = OPTIM_RMSPROP_TF, .momentum = 0.9f, .beta2 = 0.9f,
                                         .eps = 1e-3f, .l2 = 0.05f});
}
Test(optim, l2_in_loss_sgd_matches_autograd)
{
    check_steps("l2_sgd", (Optim){.momentum = 0.9f, .nesterov = true, .l2 = 0.05f});
}

Test(optim, slots_and_defaults)
{
    Optim o = {.kind = OPTIM_RMSPROP_TF};
    cr_expect_eq(optim_slots(&o), 1);
    o.momentum = 0.9f;
    cr_expect_eq(optim_slots(&o), 2);
    optim_defaults(&o);
    cr_expect(o.beta2 == 0.9f && o.eps == 1e-10f, "rmsprop_tf defaults %g %g", o.beta2, o.eps);
    Optim a = {.kind = OPTIM_LAMB};
    optim_defaults(&a);
    cr_expect(optim_slots(&a) == 2 && a.beta2 == 0.999f && a.eps == 1e-6f);
    cr_expect_str_eq(optim_slot_name(OPTIM_ADAMW, 1), "exp_avg_sq");
    cr_expect_eq(optim_slots(&(Optim){.kind = OPTIM_SGD}), 0);
}

// ---------------------------------------------------------------------------------------------
// schedules

// the epoch the trainer passes at global step u: epoch + step / steps_per_epoch
static double epoch_at(int u, int spe) { return u / spe + (double)(u % spe) / spe; }

// s at every step (spe > 0) or epoch (spe = 0) against prefix/lr; skip(u): steps left out
static void check_sched(const char *prefix, const Schedule *s, int spe, bool (*skip)(int u, int spe))
{
    const FixTensor *lr = fixture_find(&FX, prefix, "lr");
    cr_assert(lr, "fixture %s/lr missing", prefix);
    double worst = 0;
    int skipped = 0;
    for (size_t u = 0; u < lr->n; u++) {
        if (skip && skip((int)u, spe)) { skipped++; continue; }
        double got = sched_lr(s, spe ? epoch_at((int)u, spe) : (double)u), e = fabs(got - lr->data[u]);
        cr_expect(e < 1e-6, "%s %s %zu: %.9g vs %.9g", prefix, spe ? "step" : "epoch", u, got, lr->data[u]);
        worst = fmax(worst, e);
    }
    printf("ok    %-18s %zu %s, max error %.1e%s\n", prefix, lr->n - skipped, spe ? "steps" : "epochs", worst,
           skipped ? " (exact decay boundaries left out)" : "");
}

Test(optim, cosine_warmup_matches_timm)
{
    const FixTensor *ep = fixture_find(&FX, "cosine", "epochs"), *lr = fixture_find(&FX, "cosine", "lr");
    cr_assert(ep && lr && ep->n == lr->n);
    Schedule s = {.kind = SCHED_COSINE, .lr_peak = 0.4f, .lr_final = 1e-3f, .warmup_lr = 1e-2f,
                  .warmup_epochs = 1, .epochs = 6, .per_step = true};
    for (size_t i = 0; i < ep->n; i++)
        cr_expect(fabs(sched_lr(&s, ep->data[i]) - lr->data[i]) < 1e-6, "epoch %.2f: %g vs timm %g",
                  ep->data[i], sched_lr(&s, ep->data[i]), lr->data[i]);
}

Test(optim, step_matches_torch_multisteplr)
{
    const FixTensor *ep = fixture_find(&FX, "step", "epochs"), *lr = fixture_find(&FX, "step", "lr");
    cr_assert(ep && lr && ep->n == lr->n);
    Schedule s = {.kind = SCHED_STEP, .lr_peak = 0.1f, .milestones = {150, 225}, .n_milestones = 2,
                  .gamma = 0.1f, .epochs = 300};
    for (size_t i = 0; i < ep->n; i++)
        cr_expect(fabs(sched_lr(&s, ep->data[i]) - lr->data[i]) < 1e-7, "epoch %g: %g vs torch %g",
                  ep->data[i], sched_lr(&s, ep->data[i]), lr->data[i]);
}

// timm: warm-up 2 epochs (prefix), cosine 6 epochs to lr_min, 2 cool-down epochs: 10 epochs
Test(optim, cosine_min_lr_cooldown_matches_timm)
{
    Schedule s = {.kind = SCHED_COSINE, .lr_peak = 0.4f, .lr_final = 1e-3f, .warmup_lr = 1e-4f,
                  .warmup_epochs = 2, .cooldown_epochs = 2, .epochs = 10, .per_step = true};
    check_sched("cosine_cool", &s, 10, NULL);
    s.per_step = false;
    check_sched("cosine_cool_epochs", &s, 0, NULL);
}

// EfficientNetV2: 0.256, x0.97 every 2.4 epochs, 5 warm-up epochs from 0 (30 epochs)
static const Schedule EXP = {.kind = SCHED_EXP_STAIRCASE, .lr_peak = 0.256f, .gamma = 0.97f,
                             .decay_epochs = 2.4, .warmup_epochs = 5, .epochs = 30, .per_step = true};

// steps where u / (2.4 spe) is an integer: timm's decay_t = 2.4 * spe, rounded up in double (16.8
// at 7 steps an epoch), puts its decay one step after the exact boundary, where TF's float32
// formula (and this schedule) put it
static bool exact_boundary(int u, int spe) { return u > 0 && (5 * u) % (12 * spe) == 0; }

Test(optim, exp_staircase_matches_tf_formula)
{
    check_sched("exp_tf_7", &EXP, 7, NULL);
    check_sched("exp_tf_10", &EXP, 10, NULL);
    Schedule f = {.kind = SCHED_EXP_STAIRCASE, .lr_peak = 0.256f, .gamma = 0.5f, .decay_epochs = 1,
                  .warmup_epochs = 1, .lr_final = 0.01f, .epochs = 10, .per_step = true};
    check_sched("exp_floor", &f, 10, NULL); // minimal_lr
    // a decay every step: TF's step / 1.0 is exact where epoch 0.7 / 0.1 rounds to 6.999...
    Schedule e = {.kind = SCHED_EXP_STAIRCASE, .lr_peak = 1, .gamma = 0.5f, .decay_epochs = 0.1, .epochs = 2,
                  .per_step = true};
    for (int u = 0; u < 20; u++)
        cr_expect(sched_lr(&e, epoch_at(u, 10)) == ldexp(1, -u), "step %d: %g", u, sched_lr(&e, epoch_at(u, 10)));
}

Test(optim, exp_staircase_matches_timm_step_scheduler)
{
    check_sched("exp_timm_7", &EXP, 7, exact_boundary);
    check_sched("exp_timm_10", &EXP, 10, NULL);
}

// rates given per 256 images: ResNet-RS 0.1 -> 1.6 at 4096; EfficientNetV2 0.016 -> 0.256
Test(optim, rates_scale_with_the_batch)
{
    Schedule s = {.kind = SCHED_COSINE, .lr_peak = 0.1f, .lr_final = 1e-3f, .warmup_lr = 1e-2f,
                  .lr_batch = 256};
    Schedule b = sched_for_batch(&s, 4096);
    cr_expect(b.lr_peak == 1.6f && b.lr_final == 0.016f && b.warmup_lr == 0.16f && b.lr_batch == 0,
              "%g %g %g", b.lr_peak, b.lr_final, b.warmup_lr);
    s.lr_peak = 0.016f;
    cr_expect(sched_for_batch(&s, 4096).lr_peak == 0.256f);
    s.lr_batch = 0;
    cr_expect(sched_for_batch(&s, 4096).lr_peak == 0.016f, "lr_batch 0: rates as written");
    // timm train.py for adamw/lamb: lr = lr_base * (batch / lr_base_size) ** 0.5 (MobileNetV4's
    // 0.002 at 4096 -> 0.0005 at 256, 0.004 at 16384); warm-up start and floor alike
    Schedule q = {.kind = SCHED_COSINE, .lr_peak = 0.002f, .lr_final = 1e-4f, .warmup_lr = 1e-5f,
                  .lr_batch = 4096, .lr_sqrt = true};
    Schedule q256 = sched_for_batch(&q, 256), q16k = sched_for_batch(&q, 16384);
    cr_expect(q256.lr_peak == 0.0005f && q256.lr_final == 2.5e-5f && q256.warmup_lr == 2.5e-6f &&
              q16k.lr_peak == 0.004f && q256.lr_batch == 0, "%g %g %g %g", q256.lr_peak, q256.lr_final,
              q256.warmup_lr, q16k.lr_peak);
    q.lr_batch = 0;
    cr_expect(sched_for_batch(&q, 256).lr_peak == 0.002f, "lr_sqrt without lr_batch: rates as written");
    TrainConfig c;
    char *sets[] = {"schedule.lr_batch=256", "optim.kind=adamw", "optim.beta1=0.6", "model.bn_momentum=0",
                    "model.bn_momentum_tf=true", "model.bn_eps=1e-3", "schedule.kind=exp_staircase",
                    "schedule.decay_epochs=2.4", "schedule.cooldown_epochs=1"};
    cr_assert_eq(recipe_load(&c, NULL, LEN(sets), sets), 0);
    cr_expect(c.sched.lr_batch == 256 && c.optim.kind == OPTIM_ADAMW && c.optim.beta1 == 0.6f);
    cr_expect(c.optim.beta2 == 0.999f && c.optim.eps == 1e-8f, "adamw's own beta2, eps filled in");
    cr_expect(c.net.bn_momentum == 0 && c.net.bn_momentum_tf && c.net.bn_eps == 1e-3f);
    cr_expect(c.sched.kind == SCHED_EXP_STAIRCASE && c.sched.decay_epochs == 2.4 &&
              c.sched.cooldown_epochs == 1);
}

// ---------------------------------------------------------------------------------------------
// batch norm: momentum conventions, and ResNet-RS's momentum 0 under TF's EMA

Test(bn, momentum_conventions_reach_every_bn)
{
    struct { float m; bool tf; float eps, want_m, want_eps; } cases[] = {
        {0, false, 0, 0.1f, 1e-5f},       // the model's own: PyTorch's
        {0.1f, false, 0, 0.1f, 1e-5f},    // PyTorch's 0.1 ...
        {0.9f, true, 1e-3f, 0.1f, 1e-3f}, // ... is TF's 0.9 (EfficientNetV2, eps 1e-3)
        {0, true, 0, 1.0f, 1e-5f},        // ResNet-RS: the last batch's statistics
        {0.95f, true, 1e-6f, 0.05f, 1e-6f}, // MobileNetV4's TF config
    };
    for (int c = 0; c < LEN(cases); c++) {
        ModelKnobs k = model_knobs_default();
        k.bn_momentum = cases[c].m, k.bn_momentum_tf = cases[c].tf, k.bn_eps = cases[c].eps;
        cr_assert_eq(model_check("resnet20", &k), 0);
        Params p = {0};
        Graph g;
        graph_init(&g, &p);
        model_build(&g, "resnet20", &k, 2, 8);
        int n_bn = 0;
        for (int i = 0; i < g.n_node; i++) {
            if (g.node[i].kind != G_BN) continue;
            n_bn++;
            const BatchNorm *b = &g.node[i].bn;
            cr_expect(fabs(b->momentum - cases[c].want_m) < 1e-7 && b->eps == cases[c].want_eps,
                      "case %d %s: momentum %g eps %g", c, g.node[i].name, b->momentum, b->eps);
        }
        cr_expect(n_bn > 10, "%d BN nodes", n_bn);
        graph_free(&g);
        params_free(&p);
    }
    ModelKnobs bad = model_knobs_default();
    bad.bn_momentum = 1.5f;
    cr_expect_neq(model_check("resnet20", &bad), 0);
}

// ResNet-RS: bn_momentum 0 (TF) keeps the last batch's statistics in moving_mean/var, and
// ExponentialMovingAverage(0.9999, num_updates = step) averages them: after update t,
// ema = ema - (1 - d_t)(ema - stat_t), d_t = min(0.9999, (1 + t)/(10 + t)), ema starting at the
// initial statistics (mean 0, var 1); TF's running variance is the unbiased batch variance
Test(bn, tf_momentum_0_with_ema_matches_tf_moving_average)
{
    enum { N = 4, H = 3, W = 2, C = 3, M = N * H * W, STEPS = 4 };
    Dev d;
    cr_assert_eq(dev_open(&d, "cpu"), 0);
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    ModelKnobs k = model_knobs_default();
    k.bn_momentum_tf = true; // bn_momentum 0 in TF's convention
    g.bn_momentum = model_bn_momentum(&k, g.bn_momentum);
    int x = g_input(&g, (Shape4){N, H, W, C});
    g_bn(&g, "bn", x);
    cr_assert_eq(params_alloc(&p, &d, 0, true), 0);
    graph_init_params(&g, 1);
    Arena a;
    arena_init(&a, &d);
    arena_begin(&a);
    graph_plan(&g, &a, GRAPH_TRAIN);
    arena_commit(&a);
    ema_init(&p);
    const GNode *bn = &g.node[g.n_node - 1];
    const float *run_mean = params_at(&p, ROLE_W, bn->par[2]), *run_var = params_at(&p, ROLE_W, bn->par[3]);
    const float *ema_mean = params_at(&p, ROLE_EMA, bn->par[2]), *ema_var = params_at(&p, ROLE_EMA, bn->par[3]);
    double want_mean[C] = {0, 0, 0}, want_var[C] = {1, 1, 1}, worst = 0;
    Ema e = {0.9999f, EMA_WARMUP_TF};
    for (int t = 1; t <= STEPS; t++) {
        float *in = graph_val(&g, &a, x);
        fixture_uniform(0x5EED0B01, (uint64_t)t, M * C, in);
        for (int i = 0; i < M * C; i++) in[i] = in[i] * t + 0.5f * t; // statistics that move
        graph_forward(&g, &d, &a, true, 1, 0);
        ema_update(&p, ema_decay(e, t));
        double dt = fmin(0.9999, (1.0 + t) / (10.0 + t));
        for (int c = 0; c < C; c++) {
            double s = 0, ss = 0;
            for (int i = 0; i < M; i++) s += in[i * C + c];
            double mu = s / M;
            for (int i = 0; i < M; i++) ss += (in[i * C + c] - mu) * (in[i * C + c] - mu);
            double var = ss / (M - 1); // unbiased, as TF's fused batch norm keeps it
            cr_expect(fabs(run_mean[c] - mu) < 1e-6 * fabs(mu) + 1e-7 && fabs(run_var[c] - var) < 1e-6 * var,
                      "step %d channel %d: running %g %g, the batch's %g %g", t, c, run_mean[c], run_var[c],
                      mu, var);
            want_mean[c] -= (1 - dt) * (want_mean[c] - mu);
            want_var[c] -= (1 - dt) * (want_var[c] - var);
            double em = fabs(ema_mean[c] - want_mean[c]) / fmax(fabs(want_mean[c]), 1e-3);
            double ev = fabs(ema_var[c] - want_var[c]) / want_var[c];
            cr_expect(em < 1e-6 && ev < 1e-6, "step %d channel %d: EMA %g %g, TF's %g %g", t, c, ema_mean[c],
                      ema_var[c], want_mean[c], want_var[c]);
            worst = fmax(worst, fmax(em, ev));
        }
    }
    printf("ok    bn momentum 0 (TF) + EMA: %d updates, max relative error %.1e\n", STEPS, worst);
    arena_free(&a);
    graph_free(&g);
    params_free(&p);
    dev_close(&d);
}
