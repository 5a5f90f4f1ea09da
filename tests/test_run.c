/* tests/test_run.c — run identity (run/recipe.h): every committed run file still resolves to its
 * own run id, recomputed from the recipe stored inside it; the stored recipe reads back to the
 * same values (every stored line stands in the resolved text again, in order: keys added since may
 * stand between them); the id follows the configuration (any key's value changes it, the order of
 * the overrides and the file's comments do not); every recipe in recipes/ round-trips the same way.
 * The committed files are what a study skips or resumes by id: a change of the key table or of
 * the id rule that moved one of them would make every study redo (or refuse) its stored runs.
 */
#include <criterion/criterion.h>
#include <dirent.h> // opendir: results/<study>/, recipes/
#include <math.h>   // fabs, NAN
#include <stdio.h>  // snprintf
#include <string.h> // strcmp

#include "run/recipe.h"
#ifdef HAVE_HDF5
#include "io/runfile.h"
#endif

// calls f on every path DIR/*SUFFIX (DIR itself or, with nested, every DIR/<sub>/); returns the count
static int each_file(const char *dir, bool nested, const char *suffix, void (*f)(const char *path))
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s (run the tests from the repository root)", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (nested && e->d_type == DT_DIR) n += each_file(path, false, suffix, f);
        else if (!nested && len > sl && !strcmp(e->d_name + len - sl, suffix)) {
            f(path);
            n++;
        }
    }
    closedir(d);
    return n;
}

#ifdef HAVE_HDF5
// every line of `old` stands in `now`, in the same order: the stored recipe reads back to the
// values it holds (`now` may have more lines: keys added since, at their neutral values)
static bool lines_in_order(const char *old, const char *now)
{
    const char *at = now;
    for (const char *l = old; *l;) {
        size_t n = strcspn(l, "\n");
        bool found = false;
        for (const char *m = at; *m && !found;) {
            size_t k = strcspn(m, "\n");
            if (k == n && !strncmp(l, m, n)) found = true, at = m + k;
            m += k + (m[k] == '\n');
        }
        if (!found) return false;
        l += n + (l[n] == '\n');
    }
    return true;
}

static void stored_run_keeps_its_id(const char *path)
{
    RunRecord r;
    cr_assert_eq(runfile_read(path, &r), 0, "%s does not read", path);
    TrainConfig c;
    cr_assert_eq(recipe_parse(&c, path, r.recipe, 0, NULL, NULL), 0, "%s: its stored recipe does not load", path);
    char id[17], *text = recipe_text(&c);
    recipe_run_id(&c, id);
    cr_expect_str_eq(id, r.run_id, "%s: stored run id %s, recomputed %s", path, r.run_id, id);
    cr_expect(lines_in_order(r.recipe, text), "%s: the stored recipe resolves to another text:\n%s\nnow:\n%s", path,
              r.recipe, text);
    free(text);
    runfile_record_free(&r);
}

Test(run_id, every_committed_run_keeps_its_id)
{
    int n = each_file("results", true, ".h5", stored_run_keeps_its_id);
    // a floor that catches a search finding nothing (stored results come and go as tiers are rerun)
    cr_expect(n >= 40, "only %d committed run files found under results/", n);
}
#else
Test(run_id, every_committed_run_keeps_its_id)
{
    cr_skip_test("built without HDF5 (make deps): the committed run files cannot be read");
}
#endif

static void recipe_round_trips(const char *path)
{
    TrainConfig c, d;
    FILE *needs = fopen("/dev/null", "w"); // a paper recipe's ImageNet: no reader here, no error
    cr_assert(recipe_check(&c, path, 0, NULL, needs) >= 0, "%s does not load", path);
    char *text = recipe_text(&c), *again, a[17], b[17];
    cr_assert(recipe_parse(&d, path, text, 0, NULL, needs) == 0, "%s: its resolved text does not load", path);
    fclose(needs);
    again = recipe_text(&d);
    cr_expect_str_eq(again, text, "%s: the resolved text changes when read back", path);
    recipe_run_id(&c, a);
    recipe_run_id(&d, b);
    cr_expect_str_eq(a, b, "%s", path);
    free(text);
    free(again);
}

Test(run_id, every_recipe_round_trips)
{
    cr_expect(each_file("recipes", false, ".recipe", recipe_round_trips) >= 20);
}

// the id of recipe + overrides
static void id_of(const char *text, int n, const char **sets, char id[17])
{
    TrainConfig c;
    cr_assert_eq(recipe_parse(&c, "t", text, n, (char *const *)sets, NULL), 0);
    recipe_run_id(&c, id);
}

Test(run_id, follows_the_configuration)
{
    const char *base = "[model]\nname = resnet20   # a comment\n[train]\nepochs = 3\n";
    char a[17], b[17], c[17], d[17], e[17];
    id_of(base, 0, NULL, a);
    id_of("[train]\nepochs = 3\n[model]\nname = resnet20\n", 0, NULL, b);
    cr_expect_str_eq(a, b, "the file's order and comments are not part of the configuration");
    const char *seed2[] = {"train.seed=2"}, *both[] = {"train.seed=2", "data.flip=true"},
               *swapped[] = {"data.flip=true", "train.seed=2"};
    id_of(base, 1, seed2, c);
    cr_expect_str_neq(a, c, "another seed is another run");
    id_of(base, 2, both, d);
    id_of(base, 2, swapped, e);
    cr_expect_str_eq(d, e, "the overrides' order does not matter");
    cr_expect_str_neq(c, d);
    // a default written out is the default
    const char *explicit_seed[] = {"train.seed=1"};
    id_of(base, 1, explicit_seed, c);
    cr_expect_str_eq(a, c);
}

// run references (run/run.h): "@NAME" in model.weights or a teacher's file is the checkpoint of the
// done run NAME in the reference folder; the run id keeps the reference, whatever the folder
#include "run/run.h"
#include <stdlib.h> // mkdtemp
#include <unistd.h> // unlink, rmdir

Test(run_refs, listed_resolved_and_refused)
{
    const char *base = "[model]\nname = resnet20\nweights = @cpu_sup_s1\n"
                       "[distill]\nteachers = resnet32:@cpu_t_a_s1, resnet44:/abs/t.safetensors\n";
    TrainConfig c;
    cr_assert_eq(recipe_parse(&c, "t", base, 0, NULL, NULL), 0);
    char names[4][128];
    cr_assert_eq(run_refs(&c, names, 4), 2);
    cr_expect_str_eq(names[0], "cpu_sup_s1");
    cr_expect_str_eq(names[1], "cpu_t_a_s1");
    char id[17];
    recipe_run_id(&c, id);
    // not done here: refused, the config untouched
    char dir[] = "/tmp/test_refs_XXXXXX";
    cr_assert(mkdtemp(dir));
    cr_expect_eq(run_resolve_refs(&c, dir), ERR_IO, "a reference to a run that is not there is an error");
    cr_expect_str_eq(c.weights, "@cpu_sup_s1");
#ifdef HAVE_HDF5
    // done, with their checkpoints: each reference becomes DIR/NAME.safetensors
    const char *runs[] = {"cpu_sup_s1", "cpu_t_a_s1"};
    for (int i = 0; i < 2; i++) {
        char path[256];
        RunMeta meta = {.study = "t", .run_id = "0", .tier = "cpu", .label = "x", .git_revision = "r",
                        .backend = "cpu", .device = "cpu", .recipe = "", .model = "resnet20", .started = "",
                        .host = "h", .segments = "", .status = "done"};
        snprintf(path, sizeof path, "%s/%s.h5", dir, runs[i]);
        cr_assert_eq(runfile_write(path, &meta, NULL, 0, NULL), 0);
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, runs[i]);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fclose(f);
    }
    TrainConfig d = c;
    cr_assert_eq(run_resolve_refs(&d, dir), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/cpu_sup_s1.safetensors", dir);
    cr_expect_str_eq(d.weights, want);
    snprintf(want, sizeof want, "resnet32:%s/cpu_t_a_s1.safetensors, resnet44:/abs/t.safetensors", dir);
    cr_expect_str_eq(d.distill.teachers, want);
    // the same recipe elsewhere has the same id: the id is of the reference, not of the path
    char id2[17];
    recipe_run_id(&c, id2);
    cr_expect_str_eq(id, id2);
    for (int i = 0; i < 2; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s.h5", dir, runs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, runs[i]);
        unlink(path);
    }
#endif
    rmdir(dir);
    // an '@' inside a path is no reference; only one that begins a value or a teacher's file is
    TrainConfig g;
    const char *path_at[] = {"model.weights=/data/u@host/w.safetensors"};
    cr_assert_eq(recipe_parse(&g, "t", "[model]\nname = resnet20\n", 1, (char *const *)path_at, NULL), 0);
    cr_expect_eq(run_refs(&g, names, 4), 0);
    cr_expect_eq(run_resolve_refs(&g, "/nowhere"), 0);
    cr_expect_str_eq(g.weights, "/data/u@host/w.safetensors");
    // malformed references: named, refused
    const char *bad[] = {"model.weights=@", "model.weights=@a/b", "distill.teachers=resnet32:@x;y"};
    for (int i = 0; i < 3; i++) {
        TrainConfig e;
        cr_assert_eq(recipe_parse(&e, "t", "[model]\nname = resnet20\n", 1, (char *const *)&bad[i], NULL), 0);
        cr_expect_eq(run_refs(&e, names, 4), ERR_FORMAT, "%s is not a reference", bad[i]);
    }
}

// the claims' statistics (studies/lib/study.h): Student's t quantiles, Welch's test
#ifdef HAVE_HDF5
#include "studies/lib/study.h"

Test(claims, t_quantiles_and_welch_verdicts)
{
    // scipy.stats.t.ppf(0.975, df)
    const double df[] = {1, 2, 4, 7.5, 10, 29, 45, 200, 1e9}, want[] = {12.706, 4.303, 2.776, 2.3303, 2.228, 2.045,
                                                                          2.0141, 1.9719, 1.960};
    for (int i = 0; i < LEN(df); i++)
        cr_expect(fabs(study_t_crit(df[i]) - want[i]) < 0.004, "t(%g) = %.4f, want %.4f", df[i], study_t_crit(df[i]),
                  want[i]);
    char what[200];
    // one seed a side: never a verdict from a sign
    cr_expect_eq(study_compare((StudyStat){1, 90, 0}, (StudyStat){1, 80, 0}, what, sizeof what), CLAIM_INCONCLUSIVE);
    cr_expect_eq(study_compare((StudyStat){0, NAN, NAN}, (StudyStat){3, 80, 1}, what, sizeof what), CLAIM_NOT_RUN);
    // 3 seeds a side, std 0.5: a 2-point gap is significant (t = 4.9, df 4), 0.5 is not (t 1.22)
    cr_expect_eq(study_compare((StudyStat){3, 82, 0.5}, (StudyStat){3, 80, 0.5}, what, sizeof what), CLAIM_SUPPORTED, "%s", what);
    cr_expect_eq(study_compare((StudyStat){3, 80, 0.5}, (StudyStat){3, 82, 0.5}, what, sizeof what), CLAIM_CONTRADICTED, "%s", what);
    cr_expect_eq(study_compare((StudyStat){3, 80.5, 0.5}, (StudyStat){3, 80, 0.5}, what, sizeof what), CLAIM_INCONCLUSIVE, "%s", what);
    cr_expect(strstr(what, "Welch t 1.22"), "%s", what);
    // not below by more than a margin of 1: the 95% interval of the difference (half width 2.776 x
    // 0.408 = 1.13 at 3 seeds a side, std 0.5) against -1
    StudyStat a = {3, 80, 0.5};
    cr_expect_eq(study_compare_margin((StudyStat){3, 80.2, 0.5}, a, 1, what, sizeof what), CLAIM_SUPPORTED, "%s", what);
    cr_expect(strstr(what, "diff +0.20, 95% interval -0.93 .. +1.33"), "%s", what);
    cr_expect_eq(study_compare_margin((StudyStat){3, 79.5, 0.5}, a, 1, what, sizeof what), CLAIM_INCONCLUSIVE, "%s",
                 what);
    cr_expect_eq(study_compare_margin((StudyStat){3, 77.5, 0.5}, a, 1, what, sizeof what), CLAIM_CONTRADICTED, "%s",
                 what);
    cr_expect_eq(study_compare_margin((StudyStat){1, 85, 0}, a, 1, what, sizeof what), CLAIM_INCONCLUSIVE, "%s", what);
    cr_expect_eq(study_compare_margin((StudyStat){3, 79.5, 0}, (StudyStat){3, 80, 0}, 1, what, sizeof what),
                 CLAIM_SUPPORTED, "no spread: the difference itself (%s)", what);
    cr_expect_eq(study_compare_margin(a, (StudyStat){0, NAN, NAN}, 1, what, sizeof what), CLAIM_NOT_RUN);
}
#endif

// the sanity lines and the every-pair claim (studies/lib/study.h) on run files written here: a
// study "t" whose cpu tier asks that every run learns and that the baselines overfit
#ifdef HAVE_HDF5
#include <stdlib.h> // mkdtemp
static const StudyDef sanity_study = {
    .name = "t",
    .tiers = {[TIER_CPU] = {.sanity = {{"*", SANITY_LEARNS}, {"*_base", SANITY_OVERFITS}}}},
};

// a done run of label/seed with the epochs e[0..n) (the best top-1 the last epoch's test top-1 or 35)
static void write_rows(const char *dir, const char *recipe, const char *label, int seed, const EpochLog *e, int n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/cpu_%s_s%d.h5", dir, label, seed);
    RunMeta m = {.study = "t", .run_id = "0123456789abcdef", .tier = "cpu", .label = label, .git_revision = "x",
                 .backend = "cpu", .device = "cpu", .status = "done", .recipe = recipe, .started = "", .host = "",
                 .segments = "", .threads = 1, .seed = (uint64_t)seed, .model = "resnet20"};
    RunFinal f = {.best_top1 = MAX(35, e[n - 1].eval_top1), .best_epoch = n, .wall_s = 1};
    cr_assert_eq(runfile_write(path, &m, e, n, &f), 0, "%s", path);
}

// a done run of label/seed: 2 epochs, the first's test loss first_loss, the last's train and test top-1
static void write_run(const char *dir, const char *recipe, const char *label, int seed, double first_loss,
                      double train, double test)
{
    EpochLog e[2] = {{.epoch = 1, .train_loss = 2, .train_top1 = 30, .eval_loss = first_loss, .eval_top1 = 35,
                      .ema_top1 = NAN, .eval_top1_reparam = NAN, .ema_top1_reparam = NAN},
                     {.epoch = 2, .train_loss = 0.3, .train_top1 = train, .eval_loss = 0.6, .eval_top1 = test,
                      .ema_top1 = NAN, .eval_top1_reparam = NAN, .ema_top1_reparam = NAN}};
    write_rows(dir, recipe, label, seed, e, 2);
}

// the sanity report of the study "t" on the runs in dir (n of them): its text (free it), the failing count
static char *sanity_report(const char *dir, int n, int *failing)
{
    StudyResults *r = study_results_open(&sanity_study, dir, TIER_CPU);
    cr_assert_eq(study_results_count(r), n);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    *failing = study_sanity(&sanity_study, r, TIER_CPU, out);
    fclose(out);
    study_results_close(r);
    return text;
}

Test(claims, sanity_lines_and_every_pair)
{
    char dir[] = "/tmp/test_run_XXXXXX";
    cr_assert(mkdtemp(dir));
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, "recipes/re_cifar10.recipe", 0, NULL), 0);
    char *recipe = recipe_text(&c); // 10 classes: chance is ln 10 = 2.303 and 10% top-1
    // a_base s3 does not overfit (train 79 < test 80); a_re s1's first test loss is above chance;
    // b_re s1 ends at 19.9% top-1, below twice chance
    const double base[3][3] = {{1.5, 90, 80}, {1.6, 91, 80.5}, {1.5, 79, 80}}, re[3][3] = {{2.4, 85, 82}, {1.5, 86, 82.5},
                                                                                        {1.5, 86, 83}};
    for (int s = 0; s < 3; s++) {
        write_run(dir, recipe, "a_base", s + 1, base[s][0], base[s][1], base[s][2]);
        write_run(dir, recipe, "a_re", s + 1, re[s][0], re[s][1], re[s][2]);
        write_run(dir, recipe, "b_base", s + 1, 1.5, 90, 40 + 0.2 * s);
        write_run(dir, recipe, "b_re", s + 1, 1.5, 88, s ? 40 + 10 * s : 19.9);
    }
    free(recipe);
    int failing;
    char *text = sanity_report(dir, 12, &failing);
    cr_expect_eq(failing, 3, "%s", text);
    cr_expect(strstr(text, "FLAGGED  *: every model trains") && strstr(text, "10 of 12 runs pass"), "%s", text);
    cr_expect(strstr(text, "FAILS a_re_s1: test loss 2.400 after epoch 1 (chance 2.303)"), "%s", text);
    cr_expect(strstr(text, "FAILS b_re_s1") && strstr(text, "final top-1 19.90 (twice chance 20.0)"), "%s", text);
    cr_expect(strstr(text, "FLAGGED  *_base: the regime overfits") && strstr(text, "5 of 6 runs pass"), "%s", text);
    cr_expect(strstr(text, "FAILS a_base_s3: train 79.00 vs test 80.00"), "%s", text);
    cr_expect(!strstr(text, "FAILS a_base_s1") && !strstr(text, "FAILS b_base"), "%s", text);
    free(text);

    // every pair: a_re is above a_base (82.5 ± 0.5 vs 80.17 ± 0.29: significant); b_re is not judged
    StudyResults *r = study_results_open(&sanity_study, dir, TIER_CPU);
    char numbers[1000];
    const char *hi1[] = {"a_re"}, *lo1[] = {"a_base"}, *hi2[] = {"a_re", "b_re"}, *lo2[] = {"a_base", "b_base"},
               *hi3[] = {"a_re", "c_re"}, *lo3[] = {"a_base", "c_base"}, *hi4[] = {"c_re"}, *lo4[] = {"c_base"};
    cr_expect_eq(study_claim_each(r, hi1, lo1, 1, "top1", true, numbers, sizeof numbers), CLAIM_SUPPORTED, "%s", numbers);
    cr_expect(strstr(numbers, "a_base 19.83 ± 0.29 (3) vs a_re 17.50 ± 0.50 (3) error, drop: diff +2.33"), "%s", numbers);
    cr_expect_eq(study_claim_each(r, hi2, lo2, 2, "top1", false, numbers, sizeof numbers), CLAIM_INCONCLUSIVE,
                 "b_re's spread is wide (19.9, 50, 60 against 40.2 ± 0.2): no verdict; %s", numbers);
    cr_expect_eq(study_claim_each(r, hi3, lo3, 2, "top1", false, numbers, sizeof numbers), CLAIM_INCONCLUSIVE,
                 "a pair not run leaves the claim open: %s", numbers);
    cr_expect(strstr(numbers, "1 of 2 pairs run"), "%s", numbers);
    cr_expect_eq(study_claim_each(r, hi4, lo4, 1, "top1", false, numbers, sizeof numbers), CLAIM_NOT_RUN, "%s", numbers);
    cr_expect_eq(study_claim_each(r, lo1, hi1, 1, "top1", false, numbers, sizeof numbers), CLAIM_CONTRADICTED, "%s", numbers);
    study_results_close(r);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

// "learns" reads the test loss after 100 optimizer steps, not after epoch 1: on 2,000 images at
// batch 64 (32 steps an epoch) evaluated every 5th epoch, that is epoch 5 (epoch 4 has no
// evaluation); a run still at chance there fails, one at chance only after its first epoch passes
Test(claims, learns_reads_the_loss_after_100_steps)
{
    char dir[] = "/tmp/test_run_XXXXXX";
    cr_assert(mkdtemp(dir));
    TrainConfig c;
    const char *sets[] = {"data.train_limit=2000", "train.batch=64", "train.eval_every=5", "train.epochs=6"};
    cr_assert_eq(recipe_load(&c, "recipes/re_cifar10.recipe", 4, (char *const *)sets), 0);
    char *recipe = recipe_text(&c);
    const double late[2] = {2.0, 2.35}; // epoch 5's test loss: below chance (2.303), above it
    for (int s = 0; s < 2; s++) {
        EpochLog e[6];
        for (int i = 0; i < 6; i++) {
            bool evaluated = i == 0 || i == 4 || i == 5;
            double loss = i == 0 ? 2.45 : i == 4 ? late[s] : 1.9;
            e[i] = (EpochLog){.epoch = i + 1, .train_loss = 2, .train_top1 = 40, .eval_loss = evaluated ? loss : NAN,
                              .eval_top1 = evaluated ? 45 : NAN, .ema_top1 = NAN, .eval_top1_reparam = NAN,
                              .ema_top1_reparam = NAN};
        }
        write_rows(dir, recipe, "x", s + 1, e, 6);
    }
    free(recipe);
    int failing;
    char *text = sanity_report(dir, 2, &failing);
    cr_expect_eq(failing, 1, "%s", text);
    cr_expect(strstr(text, "1 of 2 runs pass"), "%s", text);
    cr_expect(strstr(text, "FAILS x_s2: test loss 2.350 after epoch 5 (chance 2.303)"), "%s", text);
    cr_expect(!strstr(text, "FAILS x_s1"), "%s", text);
    free(text);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}
#endif
