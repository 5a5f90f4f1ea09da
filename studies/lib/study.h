/* studies/lib/study.h — the study runner: a study declares its question, its grid as data and, per
 * tier, the recipe and the grid points; study_main gives every study the same command line.
 *
 * A study's runs: for the chosen tier, every point (label + recipe overrides) x seeds 1..K. A run's
 * file is <out>/<tier>_<label>_s<seed>.h5 (checkpoint beside it), its run id the hash of the
 * configuration (run/recipe.h recipe_run_id): a run whose file says `done` is skipped, any other is resumed from
 * its checkpoint, and a file holding another configuration is never overwritten.
 *   --tier smoke|cpu|paper   (default cpu)  smoke: seconds, proves the path; cpu: about 3 hours on a
 *                            2-core machine (Imagenette, CIFAR-10); paper: the published setting
 *   --list                   the runs, each with images x epochs x MACs and a time estimate
 *   --only PATTERN           runs whose label matches the shell pattern (fnmatch)
 *   --jobs N                 N runs at a time, each in its own process with cores/N threads
 *   --seeds K                seeds 1..K for every point (default: the tier's; claim_seeds for the
 *                            points a claim compares)
 *   --out DIR                results folder (default results/<study>)
 *   --set section.key=value  one more override for every run (changes their run ids)
 *   --index I                only the I-th run of the list (a Slurm array task)
 *   --slurm FILE             write a Slurm job-array script (one task per run) instead of running
 *   --check                  only the claims report on stored results (study_check)
 * After running, <out>/summary.csv and one <run>.csv per run are written from the run files
 * (io/export.h). Every run runs in a child process: a crash loses one run, never the study.
 */
#ifndef STUDY_H
#define STUDY_H

#include <stdbool.h>
#include <stdio.h>

#include "core/core.h" // LEN, MIN, MAX, log_error

enum { STUDY_MAX_SETS = 20 };

// one grid point: its label (letters, digits, '_', '-', '.') and the recipe overrides it applies.
// A set may name an earlier point's run, "model.weights=@LABEL" or
// "distill.teachers=resnet56:@LABEL": the checkpoint of that point's seed-1 run ("@LABEL/seed": its
// run of the same seed, which must exist: a student from its own seed's start; a study trains
// its teachers and start weights as its first runs; run/run.h's run references). The runner
// trains a referenced run before the runs that name it, and again when its checkpoint is missing
// (a fresh clone keeps run files, not checkpoints)
typedef struct {
    const char *label;
    const char *sets[STUDY_MAX_SETS]; // "section.key=value", NULL-terminated
    const char *recipe;               // the point's own recipe; NULL = the tier's
} StudyPoint;

// a sanity test of one class of a tier's runs: that the tier is in the regime its claims are
// about. The claims report prints a line per test (how many runs pass, their numbers) and names
// every run that fails it; a failing run is flagged, not dropped (the note says why it is kept)
typedef enum {
    SANITY_LEARNS,   // the model trains: the test loss below chance (ln classes) at the first evaluation
                     // that ends after 100 optimizer steps (the first epoch of a large set), and
                     // the final top-1 at least twice chance
    SANITY_OVERFITS, // the regime overfits: the last epoch's train top-1 (on the augmented images
                     // it trained on) above its test top-1
} SanityKind;

typedef struct {
    const char *runs;  // the labels it applies to (fnmatch pattern: "*", "*_base"); NULL ends a list
    SanityKind  kind;
} StudySanity;

enum { STUDY_MAX_SANITY = 6 };

typedef struct {
    const char       *recipe;                // recipes/X.recipe
    const char       *sets[STUDY_MAX_SETS];  // the tier's overrides for every point, NULL-terminated
    const StudyPoint *points;
    int               n_points;
    int               seeds;                 // default seed count
    const char       *why;                   // how the tier's sizes were chosen (printed by --list)
    StudySanity       sanity[STUDY_MAX_SANITY]; // the tier's sanity tests (runs NULL ends them)
    int               claim_seeds;           // seeds of the points a claim names (higher / lower),
                                             // when more than `seeds` (0: `seeds` for every point)
} StudyTier;

typedef enum { TIER_SMOKE, TIER_CPU, TIER_PAPER, N_TIERS } TierId;

// what the stored runs say: per label, the mean and spread over seeds (NAN when not run)
typedef struct StudyResults StudyResults;
typedef struct StudyDef StudyDef;
typedef struct {
    int    n;          // runs found done
    double mean, std;  // of the metric over seeds (std 0 with one seed)
} StudyStat;

// the `done` runs of study d, tier t stored in dir (none when the folder is missing)
StudyResults *study_results_open(const StudyDef *d, const char *dir, TierId t);
int           study_results_count(const StudyResults *r);
// the run files of dir that could not be read (damaged, truncated, not run files): each was named
int           study_results_bad(const StudyResults *r);
void          study_results_close(StudyResults *r);
// a run's final metric: "top1" (the final epoch's; the EMA weights' when the run has EMA, as the
// papers evaluate them), "raw_top1" (the trained weights' whatever EMA), "best_top1", "ema_top1",
// "wall_s", "img_per_s" (mean over epochs), "macs", "params", "reparam_gap" (the largest
// |folded - multi-branch| top-1 over its epochs, trained and EMA weights: GhostNetV3)
StudyStat study_stat(const StudyResults *r, const char *label, const char *metric);
// the largest value of metric over every done run (NAN when none has it); the run's label and seed
// into worst, how many runs have the metric into *n (each when not NULL)
double    study_max(const StudyResults *r, const char *metric, char *worst, size_t cap, int *n);

// a claim's verdict, from the seeds' spread, never from one seed's sign (study_compare)
typedef enum { CLAIM_NOT_RUN = -1, CLAIM_CONTRADICTED = 0, CLAIM_SUPPORTED = 1, CLAIM_INCONCLUSIVE = 2 } ClaimVerdict;

// a paper's claim, evaluated on the stored results of one tier. Most claims say one grid point's
// top-1 is above another's: give `higher` and `lower` and no eval. Others give eval, which writes
// the numbers it used into `numbers` and returns a ClaimVerdict; their `higher` and `lower`, when
// given, only name the points it compares (they run with the tier's claim_seeds)
typedef struct {
    const char *text;
    int (*eval)(const StudyResults *r, char *numbers, size_t cap);
    const char *higher, *lower;
} StudyClaim;

struct StudyDef {
    const char       *name;       // results/<name>/, plots/<name>/
    const char       *question;
    const char       *paper;
    StudyTier         tiers[N_TIERS];
    const StudyClaim *claims;
    int               n_claims;
};

// the command line above; returns the exit status
int  study_main(const StudyDef *d, int argc, char **argv);
// the claims report of results r (tier `tier` of study d), then its sanity lines (study_sanity)
void study_claims(const StudyDef *d, const StudyResults *r, TierId tier, FILE *out);
// the tier's sanity tests on results r: a line per test, every failing run named; returns how
// many runs fail one
int  study_sanity(const StudyDef *d, const StudyResults *r, TierId tier, FILE *out);
// the claims report of d's stored results in dir for tier; returns the number of claims run, -1
// when a run file there cannot be read (named, and the report is printed without it)
int  study_check(const StudyDef *d, const char *dir, TierId tier, FILE *out);
// published vs reproduced (results/published.csv, studies/lib/check.c), then every study's claims on
// the tiers it has results for; 0, 1 when a reproduction is outside its tolerance or a run file
// cannot be read (named, and the report is printed without it), 2 on a bad published table
int  study_check_all(const char *published, const char *results, bool all, FILE *out);
// a rerun of study d at tier t (run files in dir rerun) against its stored results (dir stored)
// and the published numbers: per grid point, both means ± std, their difference and what it
// means, the published number where there is one. 0; 1 when the rerun folder holds no done run of
// the tier or a run file cannot be read; 2 on a bad published table
int  study_verify(const StudyDef *d, TierId t, const char *rerun, const char *stored, const char *published,
                  FILE *out);
// k of d's done runs of tier t stored in dir `stored` (spread over them in name order) trained
// again by this build (repro train on each one's stored recipe, into dir scratch), each compared
// with its stored run: final top-1 and every epoch's numbers (times and speeds aside), and which
// revision stored it. 0 when every rerun made at the stored revision has the same numbers; 1 when
// one differs there, a rerun failed or a run file cannot be read
int  study_verify_sample(const StudyDef *d, TierId t, const char *stored, int k, const char *scratch, FILE *out);
// every study, NULL-terminated, in name order: build/studies/registry.c, which the Makefile
// writes from the files studies/*.c (each defines `const StudyDef study_<name>`)
extern const StudyDef *const study_registry[];
const char     *tier_name(TierId t);

// whether x's mean is above y's: Welch's two-sample t-test at the 5% level, two-sided (the
// difference over its standard error sqrt(sx^2/nx + sy^2/ny), against Student's t quantile at
// Welch-Satterthwaite's degrees of freedom). CLAIM_SUPPORTED when significantly above,
// CLAIM_CONTRADICTED when significantly below, CLAIM_INCONCLUSIVE otherwise and always with fewer
// than 2 seeds on a side (no spread to judge a difference by); CLAIM_NOT_RUN when a side has none.
// Writes "diff +1.23 ± 0.40 (t 3.1, df 3.8)" (or why it cannot judge) to what
ClaimVerdict study_compare(StudyStat x, StudyStat y, char *what, size_t cap);
// whether x's mean is not below y's by more than margin (a non-inferiority test): the Welch 95%
// two-sided interval of the difference x - y (as study_compare). CLAIM_SUPPORTED when its lower end
// is above -margin, CLAIM_CONTRADICTED when its upper end is below -margin (x worse by more than
// the margin), CLAIM_INCONCLUSIVE otherwise and with fewer than 2 seeds on a side; CLAIM_NOT_RUN
// when a side has none. Writes the difference, the interval and the margin to what
ClaimVerdict study_compare_margin(StudyStat x, StudyStat y, double margin, char *what, size_t cap);
// Student's t two-sided 5% critical value at df degrees of freedom (df >= 1, fractional allowed)
double study_t_crit(double df);
// claim helper: study_compare of the top-1 of labels a and b, the numbers written to `numbers`
ClaimVerdict study_claim_higher(const StudyResults *r, const char *a, const char *b, char *numbers, size_t cap);

// claim helpers on any metric of study_stat: study_compare (a's above b's) and
// study_compare_margin (a's not below b's by more than margin) of labels a and b, the numbers
// written to `numbers`
ClaimVerdict study_claim_metric(const StudyResults *r, const char *a, const char *b, const char *metric,
                                char *numbers, size_t cap);
ClaimVerdict study_claim_not_below(const StudyResults *r, const char *a, const char *b, const char *metric,
                                   double margin, char *numbers, size_t cap);

// claim helper for "a beats b at every point": study_compare of `metric` for each pair
// (higher[i], lower[i]), i < n, the numbers of each written to `numbers` (as error = 100 - top-1
// when as_error). CLAIM_CONTRADICTED when one pair is significantly the other way (a counterexample
// is a finding even with points missing), CLAIM_SUPPORTED when every pair was run and is
// significantly above, CLAIM_NOT_RUN when none was run, CLAIM_INCONCLUSIVE otherwise
ClaimVerdict study_claim_each(const StudyResults *r, const char *const *higher, const char *const *lower, int n,
                              const char *metric, bool as_error, char *numbers, size_t cap);

// each study file ends with STUDY_PROGRAM(its StudyDef): compiled with -DSTUDY_MAIN it is the
// study's program (bin/<study>); without, the definition joins the registry (repro check)
#ifdef STUDY_MAIN
#define STUDY_PROGRAM(def) \
    int main(int argc, char **argv) { return study_main(&def, argc, argv); }
#else
#define STUDY_PROGRAM(def)
#endif

#endif
