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
    cr_expect(n >= 60, "only %d committed run files found under results/", n);
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
}
#endif
