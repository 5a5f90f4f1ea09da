/* tests/test_train.c — the optimizer and schedules against torch.optim.SGD and timm's
 * cosine scheduler and torch's MultiStepLR (tests/ref/gen_train_fixtures.py), and gradient
 * clipping; run files; exact resume after SIGKILL, plain and with MEAL V2's discriminator.
 */
#include <criterion/criterion.h>
#include <math.h>  // fabs, fmod
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
        sgd_step(&p, (Sgd){.lr = lr, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = nesterov});
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

// EMA over parameters and BN running statistics, as timm's ModelEmaV3 with warm-up averages them
Test(ema, timm_warmup_matches_model_ema_v3)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/train.fix"), 0);
    Dev d;
    cr_assert_eq(dev_open(&d, "cpu"), 0);
    Params p = {0};
    // Linear(4, 3) then BatchNorm1d(3), in state_dict order
    const int dims[6][2] = {{3, 4}, {3}, {3}, {3}, {3}, {3}}, nd[6] = {2, 1, 1, 1, 1, 1};
    const char *names[6] = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"};
    for (int i = 0; i < 6; i++) {
        if (i < 4) params_add(&p, names[i], nd[i], dims[i], i == 0);
        else params_add_buffer(&p, names[i], nd[i], dims[i]);
    }
    cr_assert_eq(params_alloc(&p, &d, 0, true), 0);
    for (int i = 0; i < 6; i++) {
        const FixTensor *t = get(&fx, "ema_timm", "init_%d", i, 0);
        memcpy(params_at(&p, ROLE_W, i), t->data, t->n * sizeof(float));
    }
    ema_init(&p);
    Ema e = {0.9f, EMA_WARMUP_TIMM};
    for (int k = 1; k <= 6; k++) {
        for (int i = 0; i < 6; i++) {
            const FixTensor *t = get(&fx, "ema_timm", "model%d_%d", k, i);
            memcpy(params_at(&p, ROLE_W, i), t->data, t->n * sizeof(float));
        }
        ema_update(&p, ema_decay(e, k));
        for (int i = 0; i < 6; i++) {
            const FixTensor *t = get(&fx, "ema_timm", "ema%d_%d", k, i);
            const float *v = params_at(&p, ROLE_EMA, i);
            for (size_t j = 0; j < t->n; j++)
                cr_expect(fabs(v[j] - t->data[j]) < 1e-6, "update %d %s[%zu]: %g vs timm %g", k, names[i],
                          j, v[j], t->data[j]);
        }
    }
    // the first update copies the weights (decay 0); swapping exchanges the two buffers
    cr_expect_eq(ema_decay(e, 1), 0.0);
    float *w = params_at(&p, ROLE_W, 0), *a = params_at(&p, ROLE_EMA, 0);
    ema_swap(&p);
    cr_expect(params_at(&p, ROLE_W, 0) == a && params_at(&p, ROLE_EMA, 0) == w);
    params_free(&p);
    dev_close(&d);
    fixtures_free(&fx);
}

// TF's ExponentialMovingAverage(decay, num_updates): min(decay, (1 + t) / (10 + t))
Test(ema, tf_num_updates_warmup)
{
    Ema e = {0.9999f, EMA_WARMUP_TF};
    cr_expect(fabs(ema_decay(e, 1) - 2.0 / 11.0) < 1e-12);
    cr_expect(fabs(ema_decay(e, 90) - 91.0 / 100.0) < 1e-12);
    cr_expect(fabs(ema_decay(e, 200000) - 0.9999f) < 1e-12);
    cr_expect(fabs(ema_decay((Ema){0.5f, EMA_WARMUP_NONE}, 1) - 0.5) < 1e-12);
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

// ---------------------------------------------------------------------------------------------
// run files: written, replaced atomically, readable; an unwritable path is an error

#ifdef HAVE_HDF5
#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h> // access

#include "io/runfile.h"

static double read_attr_d(hid_t loc, const char *name)
{
    double v = NAN;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    cr_assert(a >= 0, "attribute %s missing", name);
    H5Aread(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
    return v;
}

Test(runfile, write_replace_and_read_back)
{
    char path[64], tmp[80];
    snprintf(path, sizeof path, "/tmp/repro_test_run_%d.h5", (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    EpochLog e[2] = {{.epoch = 1, .lr = 0.1f, .res = 28, .train_loss = 1.5, .train_top1 = 40, .eval_loss = 1.2,
                      .eval_top1 = 55.5, .eval_top5 = 90, .ema_top1 = 56, .img_per_s = 800, .seconds = 10},
                     {.epoch = 2, .lr = 0.05f, .res = 28, .train_loss = 0.9, .train_top1 = 70, .eval_loss = 0.8,
                      .eval_top1 = 71.25, .eval_top5 = 97, .ema_top1 = 72.5, .img_per_s = 810, .seconds = 9}};
    TrainResult r = {.status = "running", .epochs = e, .n_epochs = 1, .best_top1 = 55.5, .best_epoch = 1};
    RunMeta m = {.study = "t", .run_id = "abc", .tier = "smoke", .git_revision = "0", .backend = "cpu",
                 .device = "cpu", .status = "running", .recipe = "[model]\nname = resnet20\n", .seed = 3,
                 .model = "resnet20", .params = 10, .macs = 20, .train_res = 28, .eval_res = 28};
    cr_assert_eq(runfile_write(path, &m, e, 1, &r), 0);
    r.n_epochs = 2, r.best_top1 = 71.25, r.best_epoch = 2, m.status = "done";
    cr_assert_eq(runfile_write(path, &m, e, 2, &r), 0);
    cr_expect(access(tmp, F_OK) != 0, "the temporary file was left behind");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    char status[16] = "";
    hid_t a = H5Aopen(f, "status", H5P_DEFAULT), t = H5Aget_type(a);
    H5Aread(a, t, status);
    H5Tclose(t);
    H5Aclose(a);
    cr_expect_str_eq(status, "done");
    hsize_t nfields, nrecords;
    cr_assert(H5TBget_table_info(f, "epochs", &nfields, &nrecords) >= 0);
    cr_expect_eq(nrecords, 2);
    cr_expect_eq(nfields, 11);
    hid_t g = H5Gopen2(f, "final", H5P_DEFAULT);
    cr_expect(fabs(read_attr_d(g, "top1") - 71.25) < 1e-9);
    cr_expect(fabs(read_attr_d(g, "best_epoch") - 2) < 1e-9);
    cr_expect(fabs(read_attr_d(g, "ema_top1") - 72.5) < 1e-9);
    H5Gclose(g);
    H5Fclose(f);
    unlink(path);
}

Test(runfile, unwritable_folder_is_an_error)
{
    RunMeta m = {.status = "running"};
    TrainResult r = {.status = "running"};
    cr_expect_eq(runfile_write("/nonexistent/dir/run.h5", &m, NULL, 0, &r), ERR_IO);
}
#endif

// ---------------------------------------------------------------------------------------------
// exact resume: a tiny run killed with SIGKILL at a random moment, resumed, ends with bitwise the
// weights of an uninterrupted run; the same taught by a teacher in MEAL V2's way, so the
// discriminator's weights and momentum must resume too

#include <signal.h>   // kill, SIGKILL
#include <sys/wait.h> // waitpid
#include <time.h>     // nanosleep

#include "io/recipe.h"
#include "io/safetensors.h"

// teacher: NULL, or a teacher's weights for MEAL V2's distillation with the discriminator
static TrainConfig tiny_run(const char *ckpt, const char *teacher)
{
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, "recipes/fmnist_resnet20.recipe", 0, NULL), 0);
    // 400 images in batches of 32: each epoch ends with a partial batch of 16 (its own model);
    // EMA on, so the average and its warm-up count must resume too
    c.train_limit = 400, c.eval_limit = 100, c.eval_batch = 100, c.batch = 32, c.epochs = 4;
    c.sched.epochs = 4;
    c.aug.erase_p = 0.5f; // exercise every random draw
    c.ema = (Ema){0.9f, EMA_WARMUP_TIMM};
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", ckpt);
    snprintf(c.run_id, sizeof c.run_id, "tiny");
    if (teacher) {
        snprintf(c.distill.teachers, sizeof c.distill.teachers, "resnet20:%s", teacher);
        c.distill.discriminator = true, c.distill.disc_reduction = 3; // 10 -> 3 -> 1 -> 2
        c.distill.ce_weight = 0.5f;
    }
    return c;
}

static bool same_weights(const char *a, const char *b)
{
    StFile fa, fb;
    cr_assert_eq(st_read(&fa, a), 0);
    cr_assert_eq(st_read(&fb, b), 0);
    bool same = fa.n == fb.n;
    for (int i = 0; same && i < fa.n; i++) {
        if (!strcmp(fa.e[i].name, "log.epochs")) continue; // timings differ, of course
        const StEntry *e = st_find(&fb, fa.e[i].name);
        same = e && e->end - e->begin == fa.e[i].end - fa.e[i].begin &&
               memcmp(fa.data + fa.e[i].begin, fb.data + e->begin, e->end - e->begin) == 0;
        if (!same) cr_log_error("tensor %s differs", fa.e[i].name);
    }
    st_free(&fa);
    st_free(&fb);
    return same;
}

static bool have_fmnist(void)
{
    return access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0;
}

// runs tiny_run(.., teacher) uninterrupted, and again killed and resumed; compares the checkpoints
static void sigkill_resume(const char *teacher)
{
    // private paths: another test run at the same time must not share them
    char ref[64], cut[64];
    snprintf(ref, sizeof ref, "/tmp/repro_resume_ref_%d.safetensors", (int)getpid());
    snprintf(cut, sizeof cut, "/tmp/repro_resume_cut_%d.safetensors", (int)getpid());
    unlink(ref);
    unlink(cut);
    TrainConfig c = tiny_run(ref, teacher);
    TrainResult r;
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
    double full_s = r.wall_s;
    train_result_free(&r);
    // kill at a random moment in the middle of the run (the seed comes from the clock: every
    // run of the test picks another moment; the moment is printed for a failure to be replayed)
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    double frac = 0.25 + 0.5 * (now_ts.tv_nsec % 1000) / 1000.0;
    cr_log_info("killing after %.0f%% of an uninterrupted run's %.2f s", 100 * frac, full_s);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        TrainConfig k = tiny_run(cut, teacher);
        TrainResult kr;
        freopen("/dev/null", "w", stdout);
        _exit(train_run(&k, &kr, NULL, NULL) ? 1 : 0);
    }
    struct timespec delay = {(time_t)(frac * full_s), (long)(fmod(frac * full_s, 1.0) * 1e9)};
    nanosleep(&delay, NULL);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    TrainConfig k = tiny_run(cut, teacher);
    k.resume = true;
    cr_assert_eq(train_run(&k, &r, NULL, NULL), 0);
    cr_expect_eq(r.n_epochs, 4, "the resumed run has %d epochs logged", r.n_epochs);
    train_result_free(&r);
    cr_expect(same_weights(ref, cut), "resumed weights, momentum or EMA differ from the uninterrupted run's");
    unlink(ref);
    unlink(cut);
}

Test(resume, sigkill_then_resume_is_bitwise_exact, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    sigkill_resume(NULL);
}

Test(resume, meal_v2_with_discriminator_resumes_bitwise, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char teacher[64];
    snprintf(teacher, sizeof teacher, "/tmp/repro_resume_teacher_%d.safetensors", (int)getpid());
    TrainConfig t = tiny_run(teacher, NULL); // a teacher: the plain run, a few steps
    t.max_steps = 6, t.ema.decay = 0, t.ema.warmup = EMA_WARMUP_NONE;
    TrainResult r;
    cr_assert_eq(train_run(&t, &r, NULL, NULL), 0);
    train_result_free(&r);
    sigkill_resume(teacher);
    unlink(teacher);
}
