/* tests/test_train.c — the EMA against timm's ModelEmaV3 and TF's warm-up, gradient clipping,
 * run files, and exact resume after SIGKILL with SGD, AdamW and RMSpropTF (their slots and step
 * count in the checkpoint) and with MEAL V2's discriminator. Optimizers and schedules against
 * their references: test_optim.c.
 */
#include <criterion/criterion.h>
#include <math.h>  // fabs, fmod
#include <stdio.h> // snprintf

#include "fixtures.h"
#include "train/optim.h"

static const FixTensor *get(const Fixtures *fx, const char *prefix, const char *fmt, int a, int b)
{
    char name[64];
    snprintf(name, sizeof name, fmt, a, b);
    const FixTensor *t = fixture_find(fx, prefix, name);
    cr_assert(t, "fixture %s/%s missing", prefix, name);
    return t;
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
                      .eval_top1 = 55.5, .eval_top5 = 90, .ema_top1 = 56, .eval_top1_reparam = 55.5,
                      .ema_top1_reparam = 56, .img_per_s = 800, .seconds = 10},
                     {.epoch = 2, .lr = 0.05f, .res = 28, .train_loss = 0.9, .train_top1 = 70, .eval_loss = 0.8,
                      .eval_top1 = 71.25, .eval_top5 = 97, .ema_top1 = 72.5, .eval_top1_reparam = 71.0,
                      .ema_top1_reparam = 72.25, .img_per_s = 810, .seconds = 9}};
    RunFinal r = {.best_top1 = 55.5, .best_epoch = 1};
    RunMeta m = {.study = "t", .run_id = "abc", .tier = "smoke", .git_revision = "0", .backend = "cpu",
                 .device = "cpu", .status = "running", .recipe = "[model]\nname = resnet20\n", .seed = 3,
                 .model = "resnet20", .params = 10, .macs = 20, .train_res = 28, .eval_res = 28};
    cr_assert_eq(runfile_write(path, &m, e, 1, &r), 0);
    r.best_top1 = 71.25, r.best_epoch = 2, m.status = "done";
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
    cr_expect_eq(nfields, 13); // DESIGN §6's columns and the folded form's two (runfile.h)
    hid_t g = H5Gopen2(f, "final", H5P_DEFAULT);
    cr_expect(fabs(read_attr_d(g, "top1") - 71.25) < 1e-9);
    cr_expect(fabs(read_attr_d(g, "best_epoch") - 2) < 1e-9);
    cr_expect(fabs(read_attr_d(g, "ema_top1") - 72.5) < 1e-9);
    cr_expect(fabs(read_attr_d(g, "top1_reparam") - 71.0) < 1e-9);
    cr_expect(fabs(read_attr_d(g, "ema_top1_reparam") - 72.25) < 1e-9);
    H5Gclose(g);
    H5Fclose(f);
    unlink(path);
}

Test(runfile, unwritable_folder_is_an_error)
{
    RunMeta m = {.status = "running"};
    RunFinal r = {0};
    cr_expect_eq(runfile_write("/nonexistent/dir/run.h5", &m, NULL, 0, &r), ERR_IO);
}
#endif

// ---------------------------------------------------------------------------------------------
// the checkpoint's epoch log: every column back, the folded form's too; a log of the 11 columns
// written before those existed loads with them NAN

#include <unistd.h> // getpid, unlink

#include "io/safetensors.h"
#include "train/checkpoint.h"

// a one-entry table ("a", 3 values) on the cpu backend
static void tiny_table(Params *p, Dev *d)
{
    cr_assert_eq(dev_open(d, "cpu"), 0);
    *p = (Params){0};
    params_add(p, "a", 1, (const int[]){3}, true);
    cr_assert_eq(params_alloc(p, d, 0, false), 0);
}

// the checkpoint at path again, its log cut to its first `cols` columns
static void cut_log(const char *path, int cols)
{
    StFile f;
    cr_assert_eq(st_read(&f, path), 0);
    StTensor t[8];
    int64_t dims[8][2];
    double *cut = NULL;
    cr_assert(f.n <= 8);
    for (int i = 0; i < f.n; i++) {
        const StEntry *e = &f.e[i];
        dims[i][0] = e->dims[0], dims[i][1] = e->ndim > 1 ? e->dims[1] : 0;
        t[i] = (StTensor){e->name, e->ndim, dims[i], f.data + e->begin, strcmp(e->dtype, "F64") ? ST_F32 : ST_F64};
        if (strcmp(e->name, "log.epochs")) continue;
        const double *v = (const double *)(f.data + e->begin);
        cut = xcalloc((size_t)(e->dims[0] * cols), sizeof *cut);
        for (int r = 0; r < e->dims[0]; r++)
            for (int c = 0; c < cols; c++) cut[r * cols + c] = v[r * e->dims[1] + c];
        dims[i][1] = cols;
        t[i].data = cut;
    }
    const char *meta[32][2]; // the metadata but the checksums, which st_write writes anew
    int n_meta = 0;
    for (int m = 0; m < f.n_meta; m++) {
        if (!strncmp(f.meta[m][0], "crc32.", 6)) continue;
        cr_assert(n_meta < 32);
        meta[n_meta][0] = f.meta[m][0], meta[n_meta][1] = f.meta[m][1], n_meta++;
    }
    cr_assert_eq(st_write(path, t, f.n, (const char *const (*)[2])meta, n_meta), 0);
    free(cut);
    st_free(&f);
}

Test(checkpoint, epoch_log_round_trip_and_the_older_log)
{
    char path[96];
    snprintf(path, sizeof path, "/tmp/repro_test_log_%d.safetensors", (int)getpid());
    Dev d;
    Params p;
    tiny_table(&p, &d);
    EpochLog e[2] = {{.epoch = 1, .lr = 0.5f, .res = 36, .train_loss = 2, .train_top1 = 20, .eval_loss = 1.9,
                      .eval_top1 = 30, .eval_top5 = 80, .ema_top1 = 31, .eval_top1_reparam = 30.5,
                      .ema_top1_reparam = 31.5, .img_per_s = 100, .seconds = 3},
                     {.epoch = 2, .lr = 0.25f, .res = 36, .eval_top1 = 40, .ema_top1 = NAN,
                      .eval_top1_reparam = NAN, .ema_top1_reparam = NAN}};
    TrainResult r = {.status = "running", .epochs = e, .n_epochs = 2, .final = {.best_top1 = 40, .best_epoch = 2}};
    cr_assert_eq(ckpt_save(path, &p, NULL, OPTIM_SGD, &r, 2, 10, 1, "log", NULL, 1, 64), 0);
    EpochLog back[2];
    TrainResult rb = {.epochs = back};
    int done;
    long step;
    cr_assert_eq(ckpt_load(path, &p, NULL, OPTIM_SGD, &rb, &done, &step, 1, "log", 1), 0);
    cr_expect(done == 2 && step == 10 && rb.n_epochs == 2);
    cr_expect(back[0].eval_top1_reparam == 30.5 && back[0].ema_top1_reparam == 31.5 && back[0].seconds == 3,
              "epoch 1 back: folded %g, EMA folded %g, seconds %g", back[0].eval_top1_reparam,
              back[0].ema_top1_reparam, back[0].seconds);
    cr_expect(isnan(back[1].eval_top1_reparam) && back[1].eval_top1 == 40);
    cut_log(path, 11);
    cr_assert_eq(ckpt_load(path, &p, NULL, OPTIM_SGD, &rb, &done, &step, 1, "log", 1), 0);
    cr_expect(back[0].ema_top1 == 31 && back[0].seconds == 3 && isnan(back[0].eval_top1_reparam) &&
              isnan(back[0].ema_top1_reparam), "an 11-column log: seconds %g, folded %g",
              back[0].seconds, back[0].eval_top1_reparam);
    cut_log(path, 10); // neither layout
    cr_expect_eq(ckpt_load(path, &p, NULL, OPTIM_SGD, &rb, &done, &step, 1, "log", 1), ERR_FORMAT);
    unlink(path);
    params_free(&p);
    dev_close(&d);
}

// ---------------------------------------------------------------------------------------------
// exact resume: a tiny run killed with SIGKILL at a random moment, resumed, ends with bitwise the
// weights of an uninterrupted run; the same taught by a teacher in MEAL V2's way, so the
// discriminator's weights and momentum must resume too

#include <signal.h>   // SIGKILL
#include <sys/wait.h> // waitpid
#include <stdlib.h>   // setenv
#include <time.h>     // clock_gettime

#include "run/recipe.h"

// the optimizer's settings (recipe --set overrides) of a run
typedef struct { const char *name; int n; char *sets[10]; } Opt;

static const Opt plain_sgd = {"sgd", 0, {NULL}};

// teacher: NULL, or a teacher's weights for MEAL V2's distillation with the discriminator
static TrainConfig tiny_run(const char *ckpt, const Opt *o, const char *teacher)
{
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, "recipes/fmnist_resnet20.recipe", o->n, (char **)o->sets), 0);
    // 400 images in batches of 32: each epoch ends with a partial batch of 16 (its own model);
    // EMA on, so the average and its warm-up count must resume too
    c.train_limit = 400, c.eval_limit = 100, c.eval_batch = 100, c.batch = 32, c.epochs = 4;
    c.sched.epochs = 4;
    c.aug.erase_p = 0.5f; // exercise every random draw
    if (!c.ema.decay) c.ema = (Ema){0.9f, EMA_WARMUP_TIMM};
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", ckpt);
    snprintf(c.run_id, sizeof c.run_id, "tiny");
    if (teacher) {
        snprintf(c.distill.teachers, sizeof c.distill.teachers, "resnet20:%s", teacher);
        c.distill.discriminator = true, c.distill.disc_reduction = 3; // 10 -> 3 -> 1 -> 2
        c.distill.ce_weight = 0.5f;
    }
    return c;
}

static bool have_fmnist(void)
{
    return access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0;
}

// runs tiny_run(.., o, teacher) uninterrupted, and again killed with SIGKILL right after a random
// step of its second or third epoch (REPRO_KILL_AT_STEP: the trainer kills itself there, so the
// moment does not depend on the machine's load, as a timer's would) and resumed; compares the
// checkpoints
static void sigkill_then_resume(const Opt *o, const char *teacher)
{
    // private paths: another test run at the same time must not share them
    char ref[96], cut[96];
    snprintf(ref, sizeof ref, "/tmp/repro_resume_ref_%s_%d.safetensors", o->name, (int)getpid());
    snprintf(cut, sizeof cut, "/tmp/repro_resume_cut_%s_%d.safetensors", o->name, (int)getpid());
    unlink(ref);
    unlink(cut);
    // the step from the clock, in the second or third of the 4 epochs of 13 steps: every run of
    // the test picks another; printed for a failure to be replayed
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    enum { STEPS = 13 };
    long kill_at = STEPS + 1 + (now_ts.tv_nsec / 1000) % (2 * STEPS);
    char kill_s[32];
    snprintf(kill_s, sizeof kill_s, "%ld", kill_at);
    int go;
    pid_t pid = fixture_fork_held(&go); // before this process runs any OpenMP region
    cr_assert(pid >= 0);
    if (pid == 0) {
        TrainConfig k = tiny_run(cut, o, teacher);
        TrainResult kr;
        freopen("/dev/null", "w", stdout);
        setenv("REPRO_KILL_AT_STEP", kill_s, 1);
        _exit(train_run(&k, &kr, NULL, NULL) ? 1 : 0);
    }
    TrainConfig c = tiny_run(ref, o, teacher);
    TrainResult r;
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
    train_result_free(&r);
    cr_log_info("%s: killing it right after step %ld (of %d)", o->name, kill_at, 4 * STEPS);
    fixture_release(go);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    long done = fixture_ckpt_meta(cut, "epochs_done");
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: the run to kill ended on its own (status %d) "
              "after %ld epochs", o->name, WEXITSTATUS(st), done);
    cr_assert_eq(done, (kill_at - 1) / STEPS, "%s: killed after step %ld with %ld epochs done", o->name, kill_at,
                 done);
    TrainConfig k = tiny_run(cut, o, teacher);
    k.resume = true;
    cr_assert_eq(train_run(&k, &r, NULL, NULL), 0);
    cr_expect_eq(r.n_epochs, 4, "the resumed run has %d epochs logged", r.n_epochs);
    train_result_free(&r);
    cr_expect(fixture_same_checkpoint(ref, cut), "%s: resumed weights, optimizer slots or EMA differ from the "
              "uninterrupted run's", o->name);
    // every slot of the optimizer is in the checkpoint, under its name
    StFile f;
    cr_assert_eq(st_read(&f, ref), 0);
    cr_expect_str_eq(st_meta(&f, "optimizer"), optim_name(c.optim.kind));
    for (int s = 0; s < optim_slots(&c.optim); s++) {
        char nm[96];
        snprintf(nm, sizeof nm, "optimizer.%s.conv1.weight", optim_slot_name(c.optim.kind, s));
        cr_expect(st_find(&f, nm), "%s: %s missing from the checkpoint", o->name, nm);
    }
    st_free(&f);
    unlink(ref);
    unlink(cut);
}

// train.eval_every: evaluation after the first epoch, every Nth and the last, the others' eval
// numbers NaN; skipping an evaluation changes nothing of the training (the same checkpoint)
Test(eval_every, skips_evaluations_not_training, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char a[96], b[96];
    snprintf(a, sizeof a, "/tmp/repro_eval_every_1_%d.safetensors", (int)getpid());
    snprintf(b, sizeof b, "/tmp/repro_eval_every_3_%d.safetensors", (int)getpid());
    TrainConfig c1 = tiny_run(a, &plain_sgd, NULL), c3 = tiny_run(b, &plain_sgd, NULL);
    c3.eval_every = 3;
    TrainResult r1, r3;
    cr_assert_eq(train_run(&c1, &r1, NULL, NULL), 0);
    cr_assert_eq(train_run(&c3, &r3, NULL, NULL), 0);
    cr_assert_eq(r3.n_epochs, 4);
    for (int e = 0; e < 4; e++) { // epochs 1, 3 and 4 (the last) evaluated; 2 not
        bool want = e != 1;
        cr_expect_eq(!isnan(r3.epochs[e].eval_top1), want, "epoch %d: eval %s", e + 1, want ? "missing" : "present");
        cr_expect_eq(!isnan(r3.epochs[e].ema_top1), want, "epoch %d: EMA eval %s", e + 1, want ? "missing" : "present");
        if (want) cr_expect_eq(r3.epochs[e].eval_top1, r1.epochs[e].eval_top1, "epoch %d", e + 1);
    }
    cr_expect_eq(r3.final.best_top1, MAX(r1.epochs[0].eval_top1, MAX(r1.epochs[2].eval_top1, r1.epochs[3].eval_top1)),
                 "the best epoch is of the evaluated ones");
    cr_expect(fixture_same_checkpoint(a, b), "skipping evaluations changed the training");
    train_result_free(&r1);
    train_result_free(&r3);
    unlink(a);
    unlink(b);
}

// SGD with Nesterov momentum (the recipe's), cosine, timm's EMA warm-up
Test(resume, sigkill_then_resume_is_bitwise_exact, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    sigkill_then_resume(&plain_sgd, NULL);
}

// AdamW (two slots and the bias correction's step count), its rate per 256 images, a cool-down
Test(resume, adamw_sigkill_then_resume_is_bitwise_exact, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    sigkill_then_resume(&(Opt){"adamw", 6, {"optim.kind=adamw", "optim.beta1=0.6", "optim.weight_decay=0.05",
                                           "schedule.lr_peak=0.016", "schedule.lr_batch=256",
                                           "schedule.cooldown_epochs=1"}},
                        NULL);
}

// RMSpropTF (square average from ones), L2 in the loss, exponential staircase, TF's BN momentum
// and EMA warm-up: the EfficientNetV2 setup
Test(resume, rmsprop_tf_sigkill_then_resume_is_bitwise_exact, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    sigkill_then_resume(&(Opt){"rmsprop_tf", 10, {"optim.kind=rmsprop_tf", "optim.eps=1e-3",
                                                 "optim.weight_decay=0", "optim.l2_weight_decay=5e-4",
                                                 "schedule.kind=exp_staircase", "schedule.decay_epochs=1",
                                                 "schedule.gamma=0.5", "schedule.lr_peak=0.01",
                                                 "model.bn_momentum=0.9", "model.bn_momentum_tf=true"}},
                        NULL);
}

Test(resume, meal_v2_with_discriminator_resumes_bitwise, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char teacher[64];
    snprintf(teacher, sizeof teacher, "/tmp/repro_resume_teacher_%d.safetensors", (int)getpid());
    // a teacher: the plain run, a few steps, trained in a process of its own: this one must not run
    // OpenMP before it forks the run to kill (fixture_fork_held)
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        TrainConfig t = tiny_run(teacher, &plain_sgd, NULL);
        t.max_steps = 6, t.ema.decay = 0, t.ema.warmup = EMA_WARMUP_NONE;
        TrainResult r;
        freopen("/dev/null", "w", stdout);
        _exit(train_run(&t, &r, NULL, NULL) ? 1 : 0);
    }
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "training the teacher failed");
    sigkill_then_resume(&(Opt){"meal_v2", 0, {NULL}}, teacher);
    unlink(teacher);
}

// the trainer on host copies of its parameters and with every batch through dev_upload/download,
// as it runs on cuda (REPRO_DEV_STAGED=1: Dev.host false on the cpu backend) ends bitwise where it
// ends on host memory: every host write of weights, grads, slots and EMA reaches the device, and
// every host read sees the device's values. SGD with clipping (grad_norm, grad_clip), RMSpropTF
// with L2 in the loss (optim_init's ones, optim_l2), both with the EMA and a checkpoint
static void staged_equals_host(const Opt *o)
{
    char a[96], b[96];
    snprintf(a, sizeof a, "/tmp/repro_staged_host_%s_%d.safetensors", o->name, (int)getpid());
    snprintf(b, sizeof b, "/tmp/repro_staged_copy_%s_%d.safetensors", o->name, (int)getpid());
    TrainResult r;
    for (int staged = 0; staged < 2; staged++) {
        TrainConfig c = tiny_run(staged ? b : a, o, NULL);
        c.epochs = c.sched.epochs = 2;
        c.clip_grad = 1.0;
        unlink(c.checkpoint);
        if (staged) setenv("REPRO_DEV_STAGED", "1", 1);
        int rc = train_run(&c, &r, NULL, NULL);
        unsetenv("REPRO_DEV_STAGED");
        cr_assert_eq(rc, 0);
        train_result_free(&r);
    }
    cr_expect(fixture_same_checkpoint(a, b), "%s: trained on host copies, the weights, slots or EMA differ "
              "from the run on host memory", o->name);
    unlink(a);
    unlink(b);
}

Test(staged, host_copies_train_bitwise_as_host_memory, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    staged_equals_host(&plain_sgd);
    staged_equals_host(&(Opt){"rmsprop_tf", 4, {"optim.kind=rmsprop_tf", "optim.eps=1e-3", "optim.weight_decay=0",
                                               "optim.l2_weight_decay=5e-4"}});
}
