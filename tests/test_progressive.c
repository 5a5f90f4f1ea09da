/* tests/test_progressive.c — EfficientNetV2's progressive learning (train/progressive.h).
 *
 * The stage table of both rules (sizes, RandAugment magnitudes, mixing alphas, dropout, where each
 * stage ends) and the stage of every probed step, against tests/ref/progressive.fix: automl's
 * main.py formulas and np.linspace, computed by tests/ref/gen_progressive_fixtures.py. The
 * recipe's errors, one line naming the key. The loader taking a new size, magnitude and mixing
 * between ranges (loader_set_aug), bitwise equal to a loader opened with them. On Fashion-MNIST
 * (skipped without dataset-fashion-mnist): a tiny progressive run (ResNet-20, 400 images, batch
 * 32, 4 stages over 4 epochs, sizes 16..28) whose run file logs the stage sizes per epoch, killed
 * with SIGKILL in stage 2 and resumed: bitwise the checkpoint of the uninterrupted run (the
 * acceptance test); and a 3-stage run resumed in the middle of stage 2.
 */
#include <criterion/criterion.h>
#include <errno.h>    // errno, EINTR
#include <math.h>     // fmax, isfinite
#include <signal.h>   // kill, raise, SIGKILL
#include <stdio.h>    // snprintf, tmpfile
#include <sys/wait.h> // waitpid
#include <time.h>     // nanosleep, clock_gettime
#include <unistd.h>   // dup, dup2, fork, access

#include "data/loader.h"
#include "fixtures.h"
#include "run/recipe.h"
#include "io/safetensors.h"

// ---------------------------------------------------------------------------------------------
// the stage table against the generator's

// the case's fixture row k of `name` (rows of `cols` values)
static const float *row(const Fixtures *fx, const char *c, const char *name, int k, int cols)
{
    const FixTensor *t = fixture_find(fx, c, name);
    cr_assert(t && t->n % cols == 0 && (size_t)(k + 1) * cols <= t->n, "fixture %s/%s: row %d of %d", c, name,
              k, cols);
    return t->data + (size_t)k * cols;
}

Test(stages, both_rules_match_automl_and_linspace)
{
    Fixtures fx = {0};
    cr_assert_eq(fixtures_load(&fx, "tests/ref/progressive.fix"), 0);
    int cases = 0;
    for (int t = 0; t < fx.count; t++) {
        const char *slash = strrchr(fx.t[t].name, '/');
        if (!slash || strcmp(slash, "/args")) continue;
        char c[64];
        snprintf(c, sizeof c, "%.*s", (int)(slash - fx.t[t].name), fx.t[t].name);
        const float *a = fx.t[t].data;
        cr_assert_eq(fx.t[t].n, 16);
        ProgArgs p = {(int)a[1], a[0] ? PROG_CODE : PROG_PAPER, (int)a[3], (int)a[4], a[6], a[7], a[8], a[9], a[10],
                      a[11]};
        ProgSettings base = {(int)a[5], a[12], a[13], a[14], a[15]};
        long T = (long)a[2];
        for (int i = 0; i < p.stages; i++) {
            const float *w = row(&fx, c, "stages", i, 6);
            ProgStage s = prog_stage(&p, &base, T, i);
            cr_expect(s.index == i && s.count == p.stages, "%s stage %d: index %d of %d", c, i, s.index, s.count);
            cr_expect_eq(s.s.res, (int)w[0], "%s stage %d: size %d, automl %d", c, i, s.s.res, (int)w[0]);
            cr_expect_eq((float)s.s.randaug, w[1], "%s stage %d: magnitude %.9g, expected %.9g", c, i, s.s.randaug,
                         w[1]);
            cr_expect_eq(s.s.mixup_alpha, w[2], "%s stage %d: mixup %.9g, expected %.9g", c, i, s.s.mixup_alpha, w[2]);
            cr_expect_eq(s.s.cutmix_alpha, w[3], "%s stage %d: cutmix %.9g, expected %.9g", c, i, s.s.cutmix_alpha,
                         w[3]);
            cr_expect_eq(s.s.dropout, w[4], "%s stage %d: dropout %.9g, expected %.9g", c, i, s.s.dropout, w[4]);
            cr_expect_eq(s.end, (long)w[5], "%s stage %d ends before step %ld, automl %ld", c, i, s.end, (long)w[5]);
            long first = i ? (long)row(&fx, c, "stages", i - 1, 6)[5] : 0;
            cr_expect_eq(s.first, first, "%s stage %d starts at step %ld, expected %ld", c, i, s.first, first);
        }
        const FixTensor *pr = fixture_find(&fx, c, "probe");
        cr_assert(pr);
        for (size_t k = 0; k < pr->n / 2; k++) {
            long g = (long)pr->data[2 * k];
            int want = (int)pr->data[2 * k + 1], got = prog_stage_index(&p, T, g);
            cr_expect_eq(got, want, "%s: step %ld in stage %d, automl trains it in %d", c, g, got, want);
            cr_expect_eq(prog_stage_at(&p, &base, T, g).index, want);
        }
        cases++;
    }
    cr_expect_eq(cases, 12, "%d cases in the fixture file", cases);
    fixtures_free(&fx);
}

// recipes.md §2a's numbers, by hand: V2-S trains at 171, 214, 257, 300 with RandAugment 5 .. 10
Test(stages, efficientnetv2_s_code_sizes)
{
    ProgArgs p = {.stages = 4, .rule = PROG_CODE, .res_min = 128, .res_max = 300, .randaug_min = 5, .randaug_max = 10};
    ProgSettings base = {384, 10, 0, 0, 0.2f};
    const int size[4] = {171, 214, 257, 300};
    for (int i = 0; i < 4; i++) {
        ProgStage s = prog_stage_at(&p, &base, 1000, 250 * i + 100);
        cr_expect(s.index == i && s.s.res == size[i] && s.s.dropout == 0.2f && s.first == 250 * i &&
                  s.end == 250 * (i + 1), "stage %d: res %d dropout %g steps %ld..%ld", i, s.s.res, s.s.dropout,
                  s.first, s.end);
    }
    cr_expect_eq(prog_train_res(&p, 384), 300);
    ProgArgs off = {0};
    ProgStage s = prog_stage_at(&off, &base, 1000, 999);
    cr_expect(s.count == 0 && s.s.res == 384 && s.end == 1000, "off: the recipe's settings over the whole run");
}

// ---------------------------------------------------------------------------------------------
// the recipe's errors

static const char *const RECIPE = "recipes/fmnist_resnet20.recipe";

// recipe_load with the overrides; its return code, and what it wrote to stderr into msg
static int load_msg(char *msg, size_t cap, int n, const char *const *sets)
{
    fflush(stderr);
    FILE *f = tmpfile();
    cr_assert(f);
    int saved = dup(2);
    dup2(fileno(f), 2);
    TrainConfig c;
    int rc = recipe_load(&c, RECIPE, n, (char *const *)sets);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t k = fread(msg, 1, cap - 1, f);
    msg[k] = 0;
    fclose(f);
    return rc;
}

Test(recipe, contradictions_are_one_line_naming_the_key)
{
    const struct { const char *sets[6]; const char *says; } bad[] = {
        {{"progressive.res_min=16"}, "progressive.res_min / res_max set but progressive.stages = 0"},
        {{"progressive.stages=1", "progressive.res_min=16"}, "progressive.stages = 1: one stage"},
        {{"progressive.stages=4"}, "progressive.stages = 4 schedules nothing"},
        {{"progressive.stages=4", "progressive.res_min=32", "progressive.res_max=16"},
         "progressive.res_min = 32 is above progressive.res_max = 16"},
        {{"progressive.stages=4", "progressive.res_min=40"}, "progressive.res_min = 40 is above progressive.res_max "
         "= 28 (0 = model.res = 28)"},
        {{"progressive.stages=4", "progressive.res_min=4"}, "progressive.res_min / res_max = 4, 0: expected 0"},
        {{"progressive.stages=4", "progressive.randaug_max=10"}, "data.randaug, which is off"},
        {{"progressive.stages=4", "data.randaug=tf-n2-m10", "progressive.randaug_min=10", "progressive.randaug_max=5"},
         "progressive.randaug_min = 10 is above progressive.randaug_max = 5"},
        {{"progressive.stages=4", "progressive.mixup_max=0.2"}, "progressive.mixup_min / mixup_max mix pairs"},
        {{"progressive.stages=4", "data.drop_last=true", "progressive.mixup_min=0.3", "progressive.mixup_max=0.2"},
         "progressive.mixup_min = 0.3 is above"},
        {{"progressive.stages=4", "progressive.rule=code", "progressive.dropout_max=0.3"}, "with progressive.rule = "
         "code: the released code keeps model.dropout"},
        {{"progressive.stages=4", "progressive.dropout_min=0.3", "progressive.dropout_max=0.1"},
         "progressive.dropout_min = 0.3 is above"},
        {{"progressive.stages=4", "progressive.res_min=16", "distill.teachers=resnet20:/nonexistent.safetensors"},
         "with distill.teachers: the teachers run at model.res"},
        // issue 19: a first stage that shrinks the last stage's maps to 1x1 under a larger eval size
        {{"model.name=efficientnetv2_s", "model.res=48", "progressive.stages=4", "progressive.res_min=16",
          "progressive.res_max=38"}, "progressive stage 1 trains efficientnetv2_s at 16 px, where its last stage's "
         "maps are 1x1, but model.res = 48 evaluates it on 2x2 maps"},
        {{"model.name=efficientnetv2_s", "model.res=48", "progressive.stages=4", "progressive.rule=code",
          "progressive.res_min=16", "progressive.res_max=38"}, "raise progressive.res_min to 32 or more (stage 1 then "
         "trains at 33 px)"},
        {{"model.name=efficientnetv2_s", "model.res=48", "progressive.stages=4", "progressive.res_min=16",
          "progressive.res_max=30"}, "no res_min up to res_max = 30 gives stage 1 more than 1x1 maps: raise "
         "progressive.res_max too"},
        {{"model.name=resnet50", "model.res=96", "progressive.stages=3", "progressive.res_min=32"},
         "trains resnet50 at 32 px, where its last stage's maps are 1x1, but model.res = 96 evaluates it on 3x3"},
        {{"progressive.rule=fast"}, "progressive.rule = 'fast': expected one of paper | code"},
        {{"progressive.stages=65"}, "progressive.stages = '65': out of range"},
    };
    char msg[2048];
    for (int i = 0; i < LEN(bad); i++) {
        int n = 0;
        while (n < 6 && bad[i].sets[n]) n++;
        cr_expect_eq(load_msg(msg, sizeof msg, n, bad[i].sets), ERR_FORMAT, "case %d (%s) loaded", i, bad[i].says);
        cr_expect(strstr(msg, bad[i].says), "case %d: expected \"%s\", got: %s", i, bad[i].says, msg);
        int lines = 0;
        for (const char *p = msg; *p; p++) lines += *p == '\n';
        cr_expect_eq(lines, 1, "case %d: %d lines: %s", i, lines, msg);
    }
    // the smallest first stages that keep 2x2 maps load, and 1x1 maps at both sizes are consistent
    const char *two[] = {"model.name=efficientnetv2_s", "model.res=48", "progressive.stages=4", "progressive.res_min=33",
                         "progressive.res_max=38"};
    cr_expect_eq(load_msg(msg, sizeof msg, LEN(two), two), 0, "%s", msg);
    const char *one[] = {"model.name=efficientnetv2_s", "model.res=32", "progressive.stages=4", "progressive.res_min=16"};
    cr_expect_eq(load_msg(msg, sizeof msg, LEN(one), one), 0, "%s", msg);
    // a consistent section loads, and the resolved recipe carries it
    const char *good[] = {"progressive.stages=4", "progressive.rule=code", "progressive.res_min=16",
                          "data.randaug=tf-n2-m10", "progressive.randaug_min=5", "progressive.randaug_max=10"};
    cr_expect_eq(load_msg(msg, sizeof msg, LEN(good), good), 0, "%s", msg);
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, RECIPE, LEN(good), (char *const *)good), 0);
    char *text = recipe_text(&c);
    cr_expect(strstr(text, "[progressive]\nstages = 4\nrule = code\nres_min = 16\nres_max = 0\n"), "%s", text);
    free(text);
}

// ---------------------------------------------------------------------------------------------
// the loader between stages

// an in-memory dataset of n (h, w, 1) images with varied pixels; labels i mod classes
static void synthetic(Dataset *ds, int n, int h, int w, int classes)
{
    size_t sz = (size_t)h * w;
    uint8_t *images = malloc((size_t)n * sz), *labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        for (size_t p = 0; p < sz; p++) images[i * sz + p] = (uint8_t)(37 * p + 11 + 101 * i + (p * p) % 13);
        labels[i] = (uint8_t)(i % classes);
    }
    dataset_init_memory(ds, "synthetic", n, classes, h, w, 1, images, labels);
}

// steps [first, first + n) of `epoch` from a and b: bitwise the same pixels, labels and targets?
static bool same_range(Loader *a, Loader *b, int epoch, int first, int n)
{
    loader_start(a, epoch, first, n, true);
    loader_start(b, epoch, first, n, true);
    bool same = true;
    for (;;) {
        const Batch *x, *y;
        cr_assert_eq(loader_next(a, &x), 0);
        cr_assert_eq(loader_next(b, &y), 0);
        if (!x || !y) { same &= !x && !y; break; }
        size_t px = (size_t)x->n * a->out_h * a->out_w * a->c;
        same &= x->n == y->n && a->out_h == b->out_h && a->out_w == b->out_w && x->step == y->step &&
                !memcmp(x->x, y->x, px * sizeof(float)) && !memcmp(x->labels, y->labels, (size_t)x->n * sizeof(int)) &&
                !x->targets == !y->targets &&
                (!x->targets || !memcmp(x->targets, y->targets, (size_t)x->n * x->classes * sizeof(float)));
    }
    return same;
}

Test(loader, set_aug_equals_a_loader_opened_with_it)
{
    Dataset ds;
    synthetic(&ds, 40, 14, 14, 4);
    AugArgs a = {.flip = true, .mean = {0.5f}, .std = {0.25f}, .randaug = "tf-n2-m5",
                 .mix = {.prob = 1, .switch_prob = 0.5f, .correct_lam = true, .classes = 4}};
    AugArgs b = a; // stage 2: a larger size, a stronger RandAugment, Mixup on
    b.randaug_m_set = true, b.randaug_m = 10, b.mix.mixup_alpha = 0.4f;
    AugArgs c = a; // stage 3: mixing off again, RandAugment off
    c.randaug[0] = 0;
    Loader l, fresh;
    cr_assert_eq(loader_open(&l, &ds, &a, 7, 8, true, 16, 16, 2, 3), 0);
    cr_assert_eq(loader_open(&fresh, &ds, &a, 7, 8, true, 16, 16, 1, 1), 0);
    cr_expect(same_range(&l, &fresh, 0, 0, 2), "stage 1: the loader as opened");
    loader_close(&fresh);

    cr_assert_eq(loader_set_aug(&l, &b, 20, 20), 0);
    cr_expect(l.out_h == 20 && l.out_w == 20 && l.aug.ra.m == 10 && l.aug.mix.mixup_alpha == 0.4f);
    cr_assert_eq(loader_open(&fresh, &ds, &b, 7, 8, true, 20, 20, 1, 1), 0);
    cr_expect(same_range(&l, &fresh, 1, 2, 5), "stage 2: size 20, magnitude 10, Mixup, across an epoch end");
    loader_close(&fresh);
    AugArgs b5 = b; // the magnitude does reach the pixels
    b5.randaug_m = 5;
    cr_assert_eq(loader_open(&fresh, &ds, &b5, 7, 8, true, 20, 20, 1, 1), 0);
    cr_expect(!same_range(&l, &fresh, 1, 2, 1), "magnitude 10 and 5 give the same batch");
    loader_close(&fresh);

    cr_assert_eq(loader_set_aug(&l, &c, 12, 12), 0);
    cr_assert_eq(loader_open(&fresh, &ds, &c, 7, 8, true, 12, 12, 1, 1), 0);
    cr_expect(same_range(&l, &fresh, 2, 0, 5), "stage 3: size 12, no RandAugment, no mixing (no targets)");

    // what the loader cannot take leaves it as it was
    AugArgs r = c;
    r.repeated_aug = 2;
    cr_expect_eq(loader_set_aug(&l, &r, 16, 16), ERR_ARG);
    AugArgs bad = c;
    snprintf(bad.randaug, sizeof bad.randaug, "tf-n2-q1");
    cr_expect_eq(loader_set_aug(&l, &bad, 16, 16), ERR_FORMAT);
    cr_expect(l.out_h == 12 && same_range(&l, &fresh, 3, 1, 3), "a refused change altered the loader");
    loader_close(&fresh);
    loader_close(&l);
    Loader odd; // mixing pairs samples: an odd batch cannot take it
    cr_assert_eq(loader_open(&odd, &ds, &a, 7, 7, true, 16, 16, 1, 2), 0);
    cr_expect_eq(loader_set_aug(&odd, &b, 20, 20), ERR_ARG);
    loader_close(&odd);
    dataset_free(&ds);
}

// ---------------------------------------------------------------------------------------------
// tiny progressive runs on Fashion-MNIST

#ifdef HAVE_HDF5
#include "io/runfile.h"

typedef struct { const char *path; RunMeta m; } RunOut;

static int write_runfile(const TrainResult *r, void *user)
{
    RunOut *o = user;
    o->m.status = r->status;
    return runfile_write(o->path, &o->m, r->epochs, r->n_epochs, &r->final);
}
#endif

static bool have_fmnist(void)
{
    return access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) == 0;
}

// ResNet-20 on 400 Fashion-MNIST images in batches of 32 (12 steps an epoch, drop_last for
// mixing), 4 epochs, RandAugment (TF), random erasing, EMA; 4 stages (paper rule: sizes 16, 20,
// 24, 28, magnitude 5 .. 10, Mixup 0 .. 0.2, dropout 0.1 .. 0.3), or 3 (code rule: 20, 24, 28,
// stages ending at steps 16, 32, 48: epoch 2 ends inside stage 2)
static TrainConfig tiny_prog(const char *ckpt, bool code_rule)
{
    const char *sets[] = {"data.train_limit=400", "data.eval_limit=100", "train.eval_batch=100", "train.batch=32",
                          "train.epochs=4", "data.drop_last=true", "data.randaug=tf-n2-m10", "data.erase_p=0.5",
                          "train.ema_decay=0.9", "train.ema_warmup=timm", "progressive.res_min=16",
                          "progressive.res_max=28", "progressive.randaug_min=5", "progressive.randaug_max=10",
                          "progressive.mixup_max=0.2", "progressive.stages=4", "progressive.dropout_min=0.1",
                          "progressive.dropout_max=0.3"};
    const char *code[] = {"progressive.stages=3", "progressive.rule=code"};
    int n = LEN(sets);
    if (code_rule) sets[n - 3] = code[0], sets[n - 2] = code[1], n--; // no dropout schedule
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, RECIPE, n, (char *const *)sets), 0);
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", ckpt);
    snprintf(c.run_id, sizeof c.run_id, "tiny-prog");
    return c;
}

// the run to kill, held in a child forked before any OpenMP region (fixture_fork_held)
static pid_t child_fork(const char *cut, bool code_rule, TrainHook hook, int *go)
{
    pid_t pid = fixture_fork_held(go);
    cr_assert(pid >= 0);
    if (pid == 0) {
        TrainConfig k = tiny_prog(cut, code_rule);
        TrainResult kr;
        freopen("/dev/null", "w", stdout);
        _exit(train_run(&k, &kr, hook, NULL) ? 1 : 0);
    }
    return pid;
}

// the acceptance test: the paper-rule run uninterrupted (its run file logging one size per
// epoch), and again killed with SIGKILL while it trains stage 2 (epoch 2), resumed from its
// checkpoint after epoch 1: the same checkpoint, bit for bit
Test(resume, killed_in_stage_2_resumes_bitwise, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char ref[96], cut[96];
    snprintf(ref, sizeof ref, "/tmp/repro_prog_ref_%d.safetensors", (int)getpid());
    snprintf(cut, sizeof cut, "/tmp/repro_prog_cut_%d.safetensors", (int)getpid());
    unlink(ref);
    unlink(cut);
    int go;
    pid_t pid = child_fork(cut, false, NULL, &go);
    TrainConfig c = tiny_prog(ref, false);
    TrainResult r;
    TrainHook hook = NULL;
    void *user = NULL;
#ifdef HAVE_HDF5
    char h5[96];
    snprintf(h5, sizeof h5, "/tmp/repro_prog_run_%d.h5", (int)getpid());
    RunOut out = {h5, {.study = "t", .run_id = c.run_id, .tier = "smoke", .git_revision = "0", .backend = "cpu",
                       .device = "cpu", .recipe = "", .seed = c.seed, .model = c.model,
                       .train_res = prog_train_res(&c.prog, c.res), .eval_res = c.res}};
    hook = write_runfile, user = &out;
#endif
    cr_assert_eq(train_run(&c, &r, hook, user), 0);
    const int sizes[4] = {16, 20, 24, 28};
    cr_assert_eq(r.n_epochs, 4);
    for (int e = 0; e < 4; e++) cr_expect_eq(r.epochs[e].res, sizes[e], "epoch %d at %d", e + 1, r.epochs[e].res);
    train_result_free(&r);
#ifdef HAVE_HDF5
    RunRecord rf;
    cr_assert_eq(runfile_read(h5, &rf), 0);
    int col = run_col(&rf, "image_size");
    cr_assert(col >= 0 && rf.n_rows == 4, "run file: %d rows, image_size column %d", rf.n_rows, col);
    for (int e = 0; e < 4; e++)
        cr_expect_eq(rf.rows[e * rf.n_cols + col], sizes[e], "run file: epoch %d image_size %g", e + 1,
                     rf.rows[e * rf.n_cols + col]);
    cr_expect_eq(rf.train_res, 28);
    cr_expect_eq(rf.eval_res, 28);
    runfile_record_free(&rf);
    unlink(h5);
#endif
    // killed 50 ms after its first checkpoint (epoch 1 = stage 1) appears: in stage 2, whose first
    // steps it is taking (an epoch takes 0.3 s at the fastest this machine ran it; a delay from
    // measured times would not do: other work on the machine changes them a hundredfold)
    fixture_release(go);
    int st = fixture_kill_after(pid, cut, 0.05, 0, 240);
    cr_assert(access(cut, F_OK) == 0, "no checkpoint from the run to kill after 240 s");
    cr_assert(WIFSIGNALED(st), "the run ended before it was killed (status %d)", WEXITSTATUS(st));
    cr_assert_eq(fixture_ckpt_meta(cut, "epochs_done"), 1, "killed after epoch 2 ended: not in stage 2");
    cr_assert_eq(fixture_ckpt_meta(cut, "step"), 12);
    TrainConfig k = tiny_prog(cut, false);
    k.resume = true;
    cr_assert_eq(train_run(&k, &r, NULL, NULL), 0);
    cr_expect_eq(r.n_epochs, 4);
    for (int e = 0; e < r.n_epochs; e++) cr_expect_eq(r.epochs[e].res, sizes[e]);
    train_result_free(&r);
    cr_expect(fixture_same_checkpoint(ref, cut), "resumed in stage 2: weights, optimizer slots, BN statistics or "
              "EMA differ from the uninterrupted run's");
    unlink(ref);
    unlink(cut);
}

static int kill_after_epoch_2(const TrainResult *r, void *user)
{
    if (r->n_epochs == 2 && !strcmp(r->status, "running")) raise(SIGKILL); // its checkpoint is written
    return 0;
}

// the code rule's 3 stages over 4 epochs: killed right after epoch 2's checkpoint (step 24, inside
// stage 2 = steps 16 .. 31), the resumed run must rebuild stage 2's models and loader to go on
Test(resume, resumed_mid_stage_is_bitwise, .timeout = 300)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    char ref[96], cut[96];
    snprintf(ref, sizeof ref, "/tmp/repro_prog_mref_%d.safetensors", (int)getpid());
    snprintf(cut, sizeof cut, "/tmp/repro_prog_mcut_%d.safetensors", (int)getpid());
    unlink(ref);
    unlink(cut);
    int go;
    pid_t pid = child_fork(cut, true, kill_after_epoch_2, &go);
    TrainConfig c = tiny_prog(ref, true);
    TrainResult r;
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
    train_result_free(&r);
    fixture_release(go);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(fixture_ckpt_meta(cut, "step"), 24);
    TrainConfig k = tiny_prog(cut, true);
    k.resume = true;
    cr_assert_eq(train_run(&k, &r, NULL, NULL), 0);
    const int sizes[4] = {20, 24, 28, 28}; // the stage of each epoch's last step (11, 23, 35, 47)
    cr_assert_eq(r.n_epochs, 4);
    for (int e = 0; e < 4; e++) cr_expect_eq(r.epochs[e].res, sizes[e], "epoch %d at %d", e + 1, r.epochs[e].res);
    train_result_free(&r);
    cr_expect(fixture_same_checkpoint(ref, cut), "resumed mid-stage: the checkpoint differs from the uninterrupted "
              "run's");
    unlink(ref);
    unlink(cut);
}

// ---------------------------------------------------------------------------------------------
// issue 19: a progressive run keeps the eval loss of a fixed-size run

// EfficientNetV2-S at width 0.25, half depth (8 blocks in its last stage) on 1,000 Fashion-MNIST
// images in batches of 50, 4 epochs, evaluated at 48 px (2x2 maps in its last stage): TF's BN and
// RMSProp as the V2 recipes, the base recipe's cosine schedule after a warm-up epoch, no
// RandAugment. stages 0: fixed at 48 px; else 4 stages (paper rule) from res_min to 48
static TrainConfig v2_run(int stages, int res_min)
{
    char st[40], rmin[40];
    snprintf(st, sizeof st, "progressive.stages=%d", stages);
    snprintf(rmin, sizeof rmin, "progressive.res_min=%d", stages ? 33 : 0);
    const char *sets[] = {"model.name=efficientnetv2_s", "model.width=0.25", "model.depth=0.5", "model.res=48",
                          "model.bn_eps=1e-3", "model.bn_momentum=0.9", "model.bn_momentum_tf=true",
                          "data.train_limit=1000", "data.eval_limit=500", "train.eval_batch=250", "train.batch=50",
                          "train.epochs=4", "optim.kind=rmsprop_tf", "optim.beta2=0.9", "optim.momentum=0.9",
                          "optim.eps=0.001", "optim.weight_decay=0", "optim.l2_weight_decay=1e-5", "schedule.lr_peak=0.016",
                          "schedule.lr_batch=256", st, rmin};
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, RECIPE, LEN(sets), (char *const *)sets), 0);
    // below 33 px the recipe check refuses the stage (1x1 maps in the last stage): the old cpu
    // recipes' sizes are set here past it, to show what the check keeps out
    if (stages) c.prog.res_min = res_min;
    snprintf(c.run_id, sizeof c.run_id, "v2-prog");
    return c;
}

// the largest eval loss of a run's epochs, and each epoch's into loss[]
static double v2_losses(TrainConfig c, double loss[4])
{
    TrainResult r;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = train_run(&c, &r, NULL, NULL);
    fclose(stdout);
    stdout = saved;
    cr_assert_eq(rc, 0);
    cr_assert_eq(r.n_epochs, 4);
    double worst = 0;
    for (int e = 0; e < 4; e++) loss[e] = r.epochs[e].eval_loss, worst = fmax(worst, loss[e]);
    train_result_free(&r);
    return worst;
}

// measured when written (1 thread or 2: the same bits), eval loss per epoch: fixed at 48 px 2.35,
// 112, 6.0, 1.26 (the spike: the rate's peak after the warm-up epoch); stages from 33 px 2.4, 38,
// 14, 1.7; stages from 16 px (stages 1 and 2 at 16 and 26 px: 1x1 maps in the last stage) 33,960,
// 61,140, 11, 2.3. The bound, 4x the fixed run's worst epoch, sits 12x above the sound run and
// 75x below the collapsed one
Test(collapse, progressive_eval_loss_within_a_bound_of_fixed_size, .timeout = 600)
{
    if (!have_fmnist()) cr_skip_test("dataset-fashion-mnist not installed");
    double fixed[4], prog[4], old[4];
    double bound = 4 * v2_losses(v2_run(0, 0), fixed);
    double worst = v2_losses(v2_run(4, 33), prog);
    for (int e = 0; e < 4; e++)
        cr_expect(prog[e] <= bound, "epoch %d: eval loss %.4g with stages from 33 px, above 4x the fixed-size run's "
                  "worst (%.4g; fixed: %.4g %.4g %.4g %.4g)", e + 1, prog[e], bound, fixed[0], fixed[1], fixed[2],
                  fixed[3]);
    cr_expect(isfinite(worst));
    // the bound can fail: the old sizes' collapse exceeds it
    double collapsed = v2_losses(v2_run(4, 16), old);
    fprintf(stderr, "eval loss per epoch: fixed 48 px %.3g %.3g %.3g %.3g; stages from 33 px %.3g %.3g %.3g %.3g; "
            "from 16 px %.4g %.4g %.3g %.3g (bound %.3g)\n", fixed[0], fixed[1], fixed[2], fixed[3], prog[0], prog[1],
            prog[2], prog[3], old[0], old[1], old[2], old[3], bound);
    cr_expect(collapsed > bound, "stages from 16 px (1x1 maps in the last stage) kept the eval "
              "loss within the bound (%.4g): %.4g %.4g %.4g %.4g", bound, old[0], old[1], old[2], old[3]);
}
