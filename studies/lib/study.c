/* studies/lib/study.c — the study runner (study.h). */
#include "study.h"

#include <ctype.h>    // isalnum: @LABEL
#include <dirent.h>   // opendir: stored results
#include <errno.h>    // errno
#include <fnmatch.h>  // fnmatch: --only
#include <math.h>     // sqrt, NAN
#include <omp.h>      // omp_set_num_threads: a child's share of the cores
#include <signal.h>   // kill
#include <stdlib.h>   // strtol, realpath
#include <string.h>   // strcmp
#include <sys/prctl.h> // prctl: a run dies with its runner
#include <sys/wait.h> // waitpid
#include <time.h>     // clock_gettime
#include <unistd.h>   // fork, sysconf

#include "data/dataset.h"
#include "io/export.h"
#include "run/recipe.h"
#include "run/run.h"
#include "io/runfile.h"
#include "models/models.h"
#include "nn/graph.h"

// this machine's cpu backend (2 cores), for --list and the ETA: a trained image costs CPU_S_PER_MAC
// per forward multiply-accumulate and CPU_S_PER_VALUE per activation value the forward pass writes
// (ResNet-44b's 4x-wide tensors make it 1.75x slower than ResNet-32 at fewer MACs); each step
// costs CPU_S_PER_PARAM_STEP per parameter (weight gradients and the optimizer: ResNet-50 x0.5 has
// 5.9 M of them for 19.6 M MACs); an evaluated image costs CPU_EVAL_SHARE of a trained one
// (measured: evaluation runs 3.7x the training throughput). The three costs are a least-squares
// fit (in relative error) to the wall times of 41 cpu-tier runs: rs_scaling's 27, re_fmnist's 7
// and rs_additive's 7 that no other work slowed; it predicts each within 13% (rms 7%).
// Depthwise convs and augmentation are not in it; distillation's teachers are forward passes at
// the evaluation's share (a guess, not fitted).
#define CPU_S_PER_MAC        1.246e-11
#define CPU_S_PER_VALUE      9.30e-10
#define CPU_S_PER_PARAM_STEP 2.757e-8
#define CPU_EVAL_SHARE       (1 / 3.7)
// a GPU of the H100 class at a (pessimistic) 30% of its bf16 dense peak, for the paper tier
#define GPU_TRAIN_MACS_PER_S (0.3 * 990e12 / 2)

static const char *const tier_names[N_TIERS] = {"smoke", "cpu", "paper"};
const char *tier_name(TierId t) { return tier_names[t]; }

// ---- the run list -----------------------------------------------------------------------------

typedef struct {
    char        label[128]; // the point's label
    char        name[200];  // file stem: <tier>_<label>_s<seed>
    char        run_id[17]; // of the resolved recipe (run/run.h)
    char        needs[512]; // what this machine lacks to train it (recipe_check's lines; "" = nothing)
    const char *recipe;     // the point's recipe, else the tier's
    int         seed;
    const char *sets[3 * STUDY_MAX_SETS + 2];
    int         n_sets;
    char        seed_set[48];
    char        ref_sets[2][1200]; // sets with @LABEL rewritten to @<tier>_<LABEL>_s1 (refer_sets)
    int         n_ref_sets;
    int         deps[DISTILL_MAX_TEACHERS + 1], n_deps; // the runs (indices into Opts.runs, earlier)
                                   // this run refers to; -1: one outside the list (--only), expected
                                   // done on disk. At most the start weights and every teacher
    char        ref_names[DISTILL_MAX_TEACHERS + 1][200]; // their names
    int         state;             // run_all: RS_* below
    bool        retrain;           // done, but a run that refers to it needs its missing checkpoint
    TrainConfig c;
    uint64_t    macs;       // per image, forward, at model.res (the eval size)
    double      train_macs, train_values; // per trained image, forward: at model.res, or the mean
                                          // over the progressive stages' sizes (equal in steps)
    double      images;     // trained images over the run
    double      evals;      // evaluated images over the run (every epoch's test split, EMA twice)
    double      values;     // activation values the forward pass writes, per image
    size_t      params;     // trainable parameters
    double      teacher_macs, teacher_values; // distillation's teachers, forward, per trained image
    double      est_s;      // estimated seconds on this machine (cpu tiers) or one GPU (paper)
} Run;

enum { RS_PENDING, RS_RUNNING, RS_OK, RS_FAILED }; // Run.state in run_all

typedef struct {
    const StudyDef *d;
    TierId          tier;
    const char     *only;
    int             seeds, jobs, index;
    int             ranks;      // processes per run (data-parallel, under mpirun); 1 = none
    const char     *argv0;      // this program, for the runs started under mpirun
    const char     *out, *slurm;
    const char     *extra[STUDY_MAX_SETS];
    int             n_extra;
    bool            list, check, force, yes;
    char            dir[900];
    Run            *runs;
    int             n_runs;
} Opts;

// split sizes, for budgets before any data is read (the registry's published splits)
static double dataset_size(const TrainConfig *c, bool test)
{
    const DatasetInfo *d = dataset_info(c->dataset);
    double n = !d ? 0 : test ? d->n_test : d->n_train;
    int limit = test ? c->eval_limit : c->train_limit;
    if (limit > 0 && limit < n) n = limit;
    return n;
}

// the estimated seconds of a resolved run: the cost model above for a cpu-backend run (re_fmnist's
// paper tier is Fashion-MNIST on this machine); a cuda run (ImageNet) on one GPU by MACs
static double estimate_s(const Run *r)
{
    if (strcmp(r->c.backend, "cpu"))
        return (r->images * (3 * r->train_macs + r->teacher_macs) + r->evals * (double)r->macs) / GPU_TRAIN_MACS_PER_S +
               60;
    double per_image = CPU_S_PER_MAC * r->train_macs + CPU_S_PER_VALUE * r->train_values +
                       CPU_EVAL_SHARE * (CPU_S_PER_MAC * r->teacher_macs + CPU_S_PER_VALUE * r->teacher_values);
    double per_eval = CPU_S_PER_MAC * (double)r->macs + CPU_S_PER_VALUE * r->values;
    double steps = ceil(r->images / r->c.batch);
    return r->images * per_image + steps * CPU_S_PER_PARAM_STEP * (double)r->params +
           r->evals * CPU_EVAL_SHARE * per_eval + 2; // + start-up
}

// a point's set naming another point's run, "model.weights=@LABEL" or
// "distill.teachers=resnet56:@LABEL": @LABEL becomes that point's seed-1 run, @<tier>_<LABEL>_s1
// ("@LABEL/seed": its run of this run's seed)
// (run/run.h's run reference: the checkpoint of the run of that name in the results folder), and
// the run is one of r's dependencies. LABEL must be a point of the tier listed before this one, so
// that it trains first. 0, or 1 with one line naming the point and the set
static int refer_sets(Opts *o, const StudyPoint *p, Run *r, const char *set, const char **out)
{
    const StudyTier *t = &o->d->tiers[o->tier];
    *out = set;
    if (!strchr(set, '@')) return 0;
    if (r->n_ref_sets == LEN(r->ref_sets)) {
        log_error("study %s, point %s: more than %d sets refer to other points' runs", o->d->name, p->label,
                  (int)LEN(r->ref_sets));
        return 1;
    }
    char *buf = r->ref_sets[r->n_ref_sets++];
    size_t at = 0, cap = sizeof r->ref_sets[0];
    for (const char *c = set; *c;) {
        if (*c != '@') {
            if (at + 1 < cap) buf[at] = *c;
            at++, c++;
            continue;
        }
        size_t n = 1;
        while (run_ref_char(c[n])) n++;
        int target = -1;
        for (int i = 0; i < (int)(p - t->points); i++)
            if (strlen(t->points[i].label) == n - 1 && !strncmp(t->points[i].label, c + 1, n - 1)) target = i;
        if (target < 0) {
            log_error("study %s, tier %s, point %s: '%s' refers to '%.*s', which is not a point listed before it "
                      "(a run refers to an earlier point's run, @LABEL, so that it trains first)", o->d->name,
                      tier_names[o->tier], p->label, set, (int)n, c);
            return 1;
        }
        // "@LABEL/seed": the run of the same seed as this one (a student from its own seed's start)
        int seed = 1;
        if (!strncmp(c + n, "/seed", 5)) seed = r->seed, n += 5;
        char ref[300];
        size_t rl = (size_t)snprintf(ref, sizeof ref, "@%s_%s_s%d", tier_names[o->tier], t->points[target].label,
                                     seed);
        if (at + rl < cap) memcpy(buf + at, ref, rl + 1);
        at += rl;
        c += n;
    }
    if (at >= cap) {
        log_error("study %s, point %s: '%s' is too long once its references are written out", o->d->name, p->label,
                  set);
        return 1;
    }
    buf[at] = 0;
    *out = buf;
    return 0;
}

static int resolve(Opts *o, const StudyPoint *p, int seed, Run *r)
{
    const StudyTier *t = &o->d->tiers[o->tier];
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", p->label);
    snprintf(r->name, sizeof r->name, "%s_%s_s%d", tier_names[o->tier], p->label, seed);
    r->seed = seed;
    for (int i = 0; i < STUDY_MAX_SETS && t->sets[i]; i++) r->sets[r->n_sets++] = t->sets[i];
    for (int i = 0; i < STUDY_MAX_SETS && p->sets[i]; i++)
        if (refer_sets(o, p, r, p->sets[i], &r->sets[r->n_sets++])) return 1;
    for (int i = 0; i < o->n_extra; i++) r->sets[r->n_sets++] = o->extra[i];
    snprintf(r->seed_set, sizeof r->seed_set, "train.seed=%d", seed);
    r->sets[r->n_sets++] = r->seed_set;
    // a paper recipe loads even where this build lacks its data reader; what it lacks is noted
    char *needs = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&needs, &len);
    CHECK(m, "study: open_memstream failed");
    r->recipe = p->recipe ? p->recipe : t->recipe;
    int rc = recipe_check(&r->c, r->recipe, r->n_sets, (char *const *)r->sets, m);
    fclose(m);
    snprintf(r->needs, sizeof r->needs, "%s", needs ? needs : "");
    free(needs);
    if (rc < 0) {
        log_error("study %s, tier %s, run %s: the recipe above does not load", o->d->name, tier_names[o->tier],
                  r->name);
        return 1;
    }
    recipe_run_id(&r->c, r->run_id);
    // the runs it refers to (@NAME, from its sets or its recipe): earlier runs of the tier
    char refs[LEN(r->deps)][128];
    int n_refs = run_refs(&r->c, refs, LEN(r->deps));
    if (n_refs < 0) return 1;
    if (n_refs > (int)LEN(r->deps)) {
        log_error("study %s, run %s: it refers to %d runs; a run can refer to at most %d (its start weights and "
                  "%d teachers)", o->d->name, r->name, n_refs, (int)LEN(r->deps), DISTILL_MAX_TEACHERS);
        return 1;
    }
    int self = (int)(r - o->runs);
    for (int k = 0; k < n_refs; k++) {
        int dep = -1; // the run in this list (--only may leave it out: then it must be done on disk)
        for (int i = 0; i < self; i++)
            if (!strcmp(o->runs[i].name, refs[k])) dep = i;
        bool earlier = dep >= 0; // else a run of an earlier point that --only or --index left out?
        for (int i = 0; i < (int)(p - t->points) && !earlier; i++) {
            char prefix[200];
            int n = snprintf(prefix, sizeof prefix, "%s_%s_s", tier_names[o->tier], t->points[i].label);
            earlier = !strncmp(refs[k], prefix, (size_t)n) && refs[k][n] >= '1' && refs[k][n] <= '9';
        }
        if (!earlier) {
            log_error("study %s, tier %s, run %s: it refers to run %s, which is not a run of a point listed before "
                      "it (runs are <tier>_<label>_s<seed>; a point refers to an earlier one as @LABEL)", o->d->name,
                      tier_names[o->tier], r->name, refs[k]);
            return 1;
        }
        snprintf(r->ref_names[r->n_deps], sizeof r->ref_names[0], "%s", refs[k]);
        r->deps[r->n_deps++] = dep;
    }
    // the model at the eval size, then at each training size (progressive stages: equal in steps)
    int stages = prog_on(&r->c.prog) ? r->c.prog.stages : 1;
    ProgSettings base = {.res = r->c.res};
    for (int i = -1; i < stages; i++) {
        int res = i < 0 || !prog_on(&r->c.prog) ? r->c.res : prog_stage(&r->c.prog, &base, stages, i).s.res;
        Params table = {0};
        Graph g;
        graph_init(&g, &table);
        model_build(&g, r->c.model, &r->c.net, 1, res);
        double values = 0;
        for (int k = 0; k < g.n_t; k++) values += (double)shape_numel(g.t[k].s);
        if (i < 0) r->macs = graph_macs(&g), r->values = values, r->params = params_count(&table, true);
        else r->train_macs += (double)graph_macs(&g) / stages, r->train_values += values / stages;
        graph_free(&g);
        params_free(&table);
    }
    // distillation's live teachers: a forward pass each on every trained image, at the training size
    char teachers[DISTILL_MAX_TEACHERS][64], files[DISTILL_MAX_TEACHERS][512];
    int n_teachers = r->c.distill.soft_labels[0] ? 0 : distill_teacher_names(&r->c.distill, teachers, files,
                                                                              DISTILL_MAX_TEACHERS);
    for (int i = 0; i < n_teachers; i++) {
        if (!model_known(teachers[i])) continue; // a paper recipe's teacher this build lacks (needs:)
        ModelKnobs k = model_knobs_default(); // a run of the study: its knobs (run_teacher_knobs)
        for (int j = 0; j < o->n_runs; j++)
            if (files[i][0] == '@' && !strcmp(o->runs[j].name, files[i] + 1) && !strcmp(o->runs[j].c.model, teachers[i]))
                k = o->runs[j].c.net;
        k.in_chans = r->c.net.in_chans, k.num_classes = r->c.net.num_classes;
        if (model_check(teachers[i], &k)) continue; // refused when the run trains (said then)
        Params table = {0};
        Graph g;
        graph_init(&g, &table);
        model_build(&g, teachers[i], &k, 1, prog_train_res(&r->c.prog, r->c.res));
        r->teacher_macs += (double)graph_macs(&g);
        for (int j = 0; j < g.n_t; j++) r->teacher_values += (double)shape_numel(g.t[j].s);
        graph_free(&g);
        params_free(&table);
    }
    double per_epoch = dataset_size(&r->c, false);
    double steps = ceil(per_epoch / r->c.batch) * r->c.epochs;
    int epochs = r->c.epochs;
    if (r->c.max_steps > 0 && r->c.max_steps < steps) {
        steps = r->c.max_steps;
        epochs = (int)ceil(steps / ceil(per_epoch / r->c.batch));
    }
    r->images = MIN(steps * r->c.batch, per_epoch * r->c.epochs);
    int every = r->c.eval_every > 1 ? r->c.eval_every : 1, evaluated = 0; // train.eval_every's epochs
    for (int e = 1; e <= epochs; e++) evaluated += e == 1 || e % every == 0 || e == epochs;
    r->evals = evaluated * dataset_size(&r->c, true) * (r->c.ema.decay > 0 ? 2 : 1);
    r->est_s = estimate_s(r);
    return 0;
}

static int build_runs(Opts *o)
{
    const StudyTier *t = &o->d->tiers[o->tier];
    int most = o->seeds ? o->seeds : MAX(MAX(t->seeds, t->claim_seeds), 1);
    o->runs = xcalloc((size_t)t->n_points * most, sizeof *o->runs);
    for (int i = 0; i < t->n_points; i++) {
        if (o->only && fnmatch(o->only, t->points[i].label, 0)) continue;
        // --seeds K for every point, else claim_seeds for a point a claim compares, else the tier's
        bool claimed = false;
        for (int c = 0; c < o->d->n_claims; c++)
            claimed |= (o->d->claims[c].higher && !strcmp(o->d->claims[c].higher, t->points[i].label)) ||
                       (o->d->claims[c].lower && !strcmp(o->d->claims[c].lower, t->points[i].label));
        int seeds = o->seeds ? o->seeds : MAX(MAX(t->seeds, 1), claimed ? t->claim_seeds : 0);
        for (int s = 1; s <= seeds; s++)
            if (resolve(o, &t->points[i], s, &o->runs[o->n_runs++])) return 1;
    }
    if (!o->n_runs) {
        // the tier's labels, so the user sees what a pattern is matched against
        char labels[512] = "";
        size_t at = 0;
        for (int i = 0; i < t->n_points && at + 1 < sizeof labels; i++)
            at += (size_t)snprintf(labels + at, sizeof labels - at, "%s%s", i ? ", " : "", t->points[i].label);
        log_error("study %s, tier %s: no run matches --only '%s', a shell pattern matched against a whole "
                  "label (e.g. 'd20_*'); the labels: %s", o->d->name, tier_names[o->tier], o->only ? o->only : "",
                  labels);
        return 1;
    }
    return 0;
}

static void fmt_time(double s, char *buf, size_t cap)
{
    if (s < 90) snprintf(buf, cap, "%.0f s", s);
    else if (s < 5400) snprintf(buf, cap, "%.0f min", s / 60);
    else snprintf(buf, cap, "%.1f h", s / 3600);
}

static void status_of(const Opts *o, const Run *r, char *st, size_t cap)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.h5", o->dir, r->name);
    if (runfile_read_status(path, st, cap) == ERR_IO) {
        snprintf(st, cap, "-");
        return;
    }
    // a file of another configuration under this run's name (an older tier's) is not this run's
    char id[64] = "";
    if (st[0] && runfile_read_attr(path, "run_id", id, sizeof id) == 0 && strcmp(id, r->run_id))
        snprintf(st, cap, "other config");
}

static int list_runs(const Opts *o)
{
    const StudyTier *t = &o->d->tiers[o->tier];
    printf("study %s, tier %s: %s\n  paper: %s\n  recipe: %s\n", o->d->name, tier_names[o->tier], o->d->question,
           o->d->paper, t->recipe);
    if (t->why) printf("  sizes: %s\n", t->why);
    printf("  %-34s %-22s %9s %5s %4s %9s %12s %10s  %s\n", "run", "model", "train px", "eval", "ep", "MACs/trn",
           "train MACs", "estimate", "status");
    double total = 0, total_macs = 0;
    for (int i = 0; i < o->n_runs; i++) {
        const Run *r = &o->runs[i];
        char est[32], st[32];
        fmt_time(r->est_s, est, sizeof est);
        status_of(o, r, st, sizeof st);
        double tm = 3 * r->images * r->train_macs;
        char px[24]; // the training size, or the progressive stages' first .. last
        ProgSettings base = {.res = r->c.res};
        int first = prog_stage(&r->c.prog, &base, 1, 0).s.res, last = prog_train_res(&r->c.prog, r->c.res);
        if (first == last) snprintf(px, sizeof px, "%d", last);
        else snprintf(px, sizeof px, "%d..%d", first, last);
        printf("  %-34s %-22s %9s %5d %4d %8.1fM %12.3g %10s  %s\n", r->name, r->c.model, px, r->c.res, r->c.epochs,
               r->train_macs / 1e6, tm, est, st);
        bool own = strcmp(r->recipe, t->recipe) != 0;
        if (own || r->n_deps) { // what sets it apart from the tier's others
            printf("  %-34s", "");
            if (own) printf(" recipe %s", r->recipe);
            for (int k = 0; k < r->n_deps; k++)
                if (k == 0) printf("%s from %s", own ? ";" : "", r->ref_names[k]);
                else printf(", %s", r->ref_names[k]);
            printf("%s\n", r->teacher_macs > 0 ? " (teachers' forward passes in the estimate)" : "");
        }
        total += r->est_s;
        total_macs += tm;
    }
    char est[32];
    fmt_time(total, est, sizeof est);
    printf("  %d runs, %.3g training MACs (images x epochs x 3 x MACs/trn, the forward MACs of a trained image "
           "at its stage's size): about %s on %s\n", o->n_runs, total_macs,
           est, !strcmp(o->runs[0].c.backend, "cpu") ? "this machine's cpu backend (2 cores)"
                                                     : "one H100-class GPU at 30% of its bf16 peak");
    return 0;
}

// ---- running ----------------------------------------------------------------------------------

// a grid that would hold this machine longer than this starts only when confirmed
#define CONFIRM_HOURS 6

// whether the grid may start: yes when its estimate on this machine is below CONFIRM_HOURS (runs
// already done not counted), or --yes, or the user says y at the terminal; else its budget is shown
static bool confirmed(const Opts *o)
{
    double left = 0;
    for (int i = 0; i < o->n_runs; i++) {
        char st[32];
        status_of(o, &o->runs[i], st, sizeof st);
        if (o->force || strcmp(st, "done")) left += o->runs[i].est_s;
    }
    if (o->index >= 0 || o->yes || left < CONFIRM_HOURS * 3600.0) return true;
    list_runs(o);
    char est[32];
    fmt_time(left, est, sizeof est);
    printf("%s, tier %s: the runs left need about %s on %s.\n", o->d->name, tier_names[o->tier], est,
           !strcmp(o->runs[0].c.backend, "cpu") ? "this machine" : "one GPU");
    if (!isatty(0)) {
        log_error("%s: tier %s would run about %s: confirm with --yes (or run it elsewhere: --slurm FILE). "
                  "Nothing was started.", o->d->name, tier_names[o->tier], est);
        return false;
    }
    printf("start them? [y/N] ");
    fflush(stdout);
    char line[16] = "";
    if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
        printf("%s: nothing was started\n", o->d->name);
        return false;
    }
    return true;
}

// SIGINT / SIGTERM to the runner: forwarded to the running children (each stops after its step,
// its run file says interrupted), no new run starts, and the runner exits 128 + the signal
static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

// the child's work: one run, its output to the terminal (jobs 1) or to <out>/<name>.log. The parent
// never runs an OpenMP region (resolving recipes and counting MACs build graphs without
// computing): GNU libgomp's thread pool does not survive fork(), and a child forked after one
// would hang in its first parallel region.
// a run's output: its log file when several run at once
static int redirect_output(const Opts *o, const Run *r)
{
    if (o->jobs == 1) return 0;
    char log[1200];
    snprintf(log, sizeof log, "%s/%s.log", o->dir, r->name);
    if (!freopen(log, "a", stdout)) return 1;
    dup2(fileno(stdout), 2);
    return 0;
}

// one run as `ranks` processes: this program again under mpirun, on the run's --index (an exec:
// returns only when mpirun cannot start)
static int exec_ranks(const Opts *o, int index, int threads)
{
    char exe[4096], np[16], omp[48], idx[16], seeds[16];
    if (!realpath(o->argv0, exe)) {
        log_error("study %s: cannot resolve the program's path %s (%s)", o->d->name, o->argv0, strerror(errno));
        return 1;
    }
    snprintf(np, sizeof np, "%d", o->ranks);
    snprintf(omp, sizeof omp, "OMP_NUM_THREADS=%d", threads);
    snprintf(idx, sizeof idx, "%d", index);
    snprintf(seeds, sizeof seeds, "%d", o->seeds);
    const char *argv[24 + 2 * STUDY_MAX_SETS];
    int n = 0;
    // --bind-to none: Open MPI binds each rank to one core by default, where its threads would queue
    argv[n++] = "mpirun", argv[n++] = "-np", argv[n++] = np, argv[n++] = "--bind-to", argv[n++] = "none";
    argv[n++] = "-x", argv[n++] = omp;
    argv[n++] = exe, argv[n++] = "--tier", argv[n++] = tier_names[o->tier], argv[n++] = "--out", argv[n++] = o->dir;
    if (o->only) argv[n++] = "--only", argv[n++] = o->only;
    if (o->seeds) argv[n++] = "--seeds", argv[n++] = seeds;
    for (int i = 0; i < o->n_extra; i++) argv[n++] = "--set", argv[n++] = o->extra[i];
    argv[n++] = "--index", argv[n++] = idx, argv[n++] = "--yes";
    if (o->force || o->runs[index].retrain) argv[n++] = "--force"; // a retrained reference: again
    argv[n] = NULL;
    fflush(stdout);
    execvp("mpirun", (char *const *)argv);
    log_error("study %s: cannot start mpirun for --ranks %d (%s): make deps installs openmpi-bin", o->d->name,
              o->ranks, strerror(errno));
    return 1;
}

static int child_run(const Opts *o, Run *r, int threads)
{
    omp_set_num_threads(threads);
    if (redirect_output(o, r)) return 1;
    RunSpec spec = {.dir = o->dir, .name = r->name, .study = o->d->name, .tier = tier_names[o->tier],
                    .label = r->label, .mode = o->force || r->retrain ? RUN_FORCE : RUN_CONTINUE,
                    .quiet = true}; // the run file holds the recipe
    RunOutcome out;
    fflush(stdout);
    // under exec_ranks' mpirun: one rank of a data-parallel run
    int rc = run_train_ranks(&r->c, r->recipe, &spec, &out);
    fflush(stdout);
    return rc;
}

// whether run r waits for a run of this list it refers to (one not started yet, or training)
static bool waits_for(const Opts *o, const Run *r, int first)
{
    for (int k = 0; k < r->n_deps; k++)
        if (r->deps[k] >= first && (o->runs[r->deps[k]].state == RS_PENDING || o->runs[r->deps[k]].state == RS_RUNNING))
            return true;
    return false;
}

static int run_all(Opts *o)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = MAX(1, o->jobs), threads = (int)MAX(1, cores / (jobs * o->ranks));
    int first = 0, last = o->n_runs;
    if (o->index >= 0) {
        if (o->index >= o->n_runs) {
            log_error("study %s: --index %d, but tier %s has %d runs (0 .. %d)", o->d->name, o->index,
                      tier_names[o->tier], o->n_runs, o->n_runs - 1);
            return 1;
        }
        first = o->index, last = o->index + 1;
    }
    if (run_make_dirs(o->dir)) return 1;
    if (comm_launched()) // one rank of exec_ranks' mpirun: the run in this process, no fork (MPI's)
        return child_run(o, &o->runs[first], (int)MAX(1, omp_get_max_threads())) ? 1 : 0;
    double est_left = 0, t0 = time_now(), est_done = 0, est_todo = 0;
    int todo = 0;
    // a done run that a run to train refers to (@LABEL) needs its checkpoint, which a results
    // folder need not keep (a fresh clone has the run files alone): it trains again, as it did
    for (int i = last - 1; i >= first; i--) { // from the last: a retrained run's own references too
        char st[32];
        status_of(o, &o->runs[i], st, sizeof st);
        if (!o->force && !o->runs[i].retrain && !strcmp(st, "done")) continue;
        for (int k = 0; k < o->runs[i].n_deps; k++) {
            Run *d = o->runs[i].deps[k] >= first ? &o->runs[o->runs[i].deps[k]] : NULL;
            char ckpt[1200];
            if (!d || d->retrain) continue;
            snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", o->dir, d->name);
            status_of(o, d, st, sizeof st);
            d->retrain = !strcmp(st, "done") && access(ckpt, R_OK) != 0;
        }
    }
    for (int i = first; i < last; i++) {
        char st[32];
        est_left += o->runs[i].est_s;
        o->runs[i].state = RS_PENDING;
        status_of(o, &o->runs[i], st, sizeof st);
        if (o->force || o->runs[i].retrain || strcmp(st, "done")) est_todo += o->runs[i].est_s, todo++;
    }
    char est0[32]; // the runs share this machine's cores: N at a time take about as long in all
    fmt_time(est_todo, est0, sizeof est0);
    printf("[%s %s] %d runs, %d to train: about %s on this machine by --list's estimate; results in %s\n",
           o->d->name, tier_names[o->tier], last - first, todo, est0, o->dir);
    pid_t *pid = xcalloc((size_t)jobs, sizeof *pid);
    int *slot_run = xcalloc((size_t)jobs, sizeof *slot_run), failed = 0, finished = 0, running = 0;
    int next = first, total = last - first, interrupted = 0; // next: the first run not handled yet
    // a run handled (skipped, failed or started): next moves past every run handled so far
#define ADVANCE()                                                                                           \
    do {                                                                                                     \
        while (next < last && o->runs[next].state != RS_PENDING) next++;                                     \
    } while (0)
    // a run handled without a process (done already, an unreadable file, a reference that failed):
    // counted as finished (and failed, unless done), its estimate spent
#define HANDLED(r_, state_)                                                                                 \
    do {                                                                                                     \
        (r_)->state = (state_);                                                                              \
        failed += (state_) == RS_FAILED;                                                                     \
        finished++;                                                                                          \
        est_left -= (r_)->est_s;                                                                             \
        ADVANCE();                                                                                           \
    } while (0)
    double *started = xcalloc((size_t)jobs, sizeof *started);
    struct sigaction sa = {.sa_handler = on_stop}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool forwarded = false;
    while ((next < last && !stop_signal) || running) {
        if (stop_signal && !forwarded) { // each child stops after its current step
            for (int s = 0; s < jobs; s++)
                if (pid[s]) kill(pid[s], stop_signal);
            forwarded = true;
            printf("[%s %s] %s: stopping %d running run%s after their current step\n", o->d->name,
                   tier_names[o->tier], strsignal(stop_signal), running, running == 1 ? "" : "s");
            fflush(stdout);
        }
        // start runs while there are free slots, in the list's order (done runs are skipped here,
        // without a process); a run whose references (@LABEL) are not done yet waits for them, and
        // the slot takes the next run that does not
        for (int s = 0; s < jobs && next < last && !stop_signal; s++) {
            if (pid[s]) continue;
            int i = next;
            while (i < last && (o->runs[i].state != RS_PENDING || waits_for(o, &o->runs[i], first))) i++;
            if (i == last) break; // every run left waits for a running one: the slot stays free
            Run *r = &o->runs[i];
            char st[32];
            status_of(o, r, st, sizeof st); // "other config": a file of another run id (run_train says so)
            int failed_dep = -1;
            for (int k = 0; k < r->n_deps; k++)
                if (r->deps[k] >= first && o->runs[r->deps[k]].state == RS_FAILED) failed_dep = r->deps[k];
            if (o->force) {
                snprintf(st, sizeof st, "%s", st[0] == '-' ? "-" : "starting over (--force)");
            } else if (!st[0]) { // named above; never overwritten unasked
                printf("[%s %s] run %d/%d %s: its run file cannot be read (above): not run; --only %s --force "
                       "runs it again\n", o->d->name, tier_names[o->tier], i - first + 1, total, r->name, r->label);
                HANDLED(r, RS_FAILED);
                s--;
                continue;
            } else if (!strcmp(st, "other config")) { // run_train says why, and fails
                snprintf(st, sizeof st, "another configuration's file");
            } else if (!strcmp(st, "done") && r->retrain) {
                snprintf(st, sizeof st, "training again");
            } else if (!strcmp(st, "done")) {
                printf("[%s %s] run %d/%d %s: done already, skipped\n", o->d->name, tier_names[o->tier],
                       i - first + 1, total, r->name);
                HANDLED(r, RS_OK);
                s--; // the slot is still free
                continue;
            }
            if (failed_dep >= 0) {
                printf("[%s %s] run %d/%d %s: not run: the run it refers to, %s, failed\n", o->d->name,
                       tier_names[o->tier], i - first + 1, total, r->name, o->runs[failed_dep].name);
                HANDLED(r, RS_FAILED);
                s--;
                continue;
            }
            if (!strcmp(st, "training again"))
                printf("[%s %s] run %d/%d %s: done, but its checkpoint is not here and later runs start from it: "
                       "training it again\n", o->d->name, tier_names[o->tier], i - first + 1, total, r->name);
            printf("[%s %s] run %d/%d %s: %s (%s, res %d, %d epochs)\n", o->d->name, tier_names[o->tier],
                   i - first + 1, total, r->name, st[0] == '-' ? "starting" : !strcmp(st, "running") || !strcmp(st, "failed") || !strcmp(st, "interrupted") ? "resuming" : st, r->c.model, r->c.res,
                   r->c.epochs);
            fflush(stdout);
            // the stop signals wait until the child has its own handlers and the parent its pid
            sigset_t stops, old_mask;
            sigemptyset(&stops);
            sigaddset(&stops, SIGINT);
            sigaddset(&stops, SIGTERM);
            sigprocmask(SIG_BLOCK, &stops, &old_mask);
            pid_t parent = getpid(), p = fork();
            if (p < 0) {
                sigprocmask(SIG_SETMASK, &old_mask, NULL);
                log_error("study %s: cannot fork (%s); stopping the running runs", o->d->name, strerror(errno));
                stop_signal = SIGTERM; // the loop forwards it and waits for them
                failed++;
                break;
            }
            if (p == 0) {
                // a group of its own: a terminal's Ctrl-C reaches the runner, which forwards it once
                // (twice would mean "stop now"); and the run dies with the runner, as it did in its group
                setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent) _exit(1);
                signal(SIGINT, SIG_DFL), signal(SIGTERM, SIG_DFL); // until run_train sets its own
                sigprocmask(SIG_SETMASK, &old_mask, NULL);
                _exit((o->ranks > 1 ? redirect_output(o, r) || exec_ranks(o, i, threads)
                                     : child_run(o, r, threads)) ? 1 : 0);
            }
            r->state = RS_RUNNING;
            pid[s] = p, slot_run[s] = i, started[s] = time_now();
            ADVANCE();
            running++;
            sigprocmask(SIG_SETMASK, &old_mask, NULL);
        }
        if (!running) break;
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG); // polled, so that a signal is seen at once
        if (p == 0) {
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
            continue;
        }
        if (p < 0 && errno == EINTR) continue;
        if (p < 0) break;
        for (int s = 0; s < jobs; s++) {
            if (pid[s] != p) continue;
            Run *r = &o->runs[slot_run[s]];
            pid[s] = 0;
            running--;
            finished++;
            est_left -= r->est_s;
            est_done += r->est_s;
            char st[32], eta[32];
            status_of(o, r, st, sizeof st);
            bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            r->state = ok && !strcmp(st, "done") ? RS_OK : RS_FAILED;
            if (!ok && stop_signal && (!strcmp(st, "running") || !strcmp(st, "interrupted"))) {
                // stopped by the signal (or killed before its handler was set): resumable; a run that
                // diverged or failed for its own reasons keeps its status
                char path[1200];
                snprintf(path, sizeof path, "%s/%s.h5", o->dir, r->name);
                if (strcmp(st, "interrupted") && runfile_set_status(path, "interrupted") == 0)
                    snprintf(st, sizeof st, "interrupted");
                interrupted++;
                printf("[%s %s] run %d/%d %s: interrupted after %.0f s (resumable: run the same command again)\n",
                       o->d->name, tier_names[o->tier], slot_run[s] - first + 1, total, r->name,
                       time_now() - started[s]);
                fflush(stdout);
                continue;
            }
            if (!ok && strcmp(st, "diverged")) failed++;
            // the estimate, corrected by how the finished runs compared with theirs (wall time over
            // their estimates: N at a time already in it)
            double spent = time_now() - t0, scale = est_done > 0 ? spent / est_done : 1;
            fmt_time(MAX(0, est_left) * scale, eta, sizeof eta);
            printf("[%s %s] run %d/%d %s: %s in %.0f s%s%s; %d left, ETA %s\n", o->d->name, tier_names[o->tier],
                   slot_run[s] - first + 1, total, r->name, ok ? st : "FAILED", time_now() - started[s],
                   WIFSIGNALED(status) ? " (killed by a signal)" : "", ok ? "" : " (see its output)",
                   total - finished, eta);
            fflush(stdout);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(pid);
    free(slot_run);
    free(started);
    int not_started = 0;
    for (int i = first; i < last; i++) not_started += o->runs[i].state == RS_PENDING;
    if (stop_signal) {
        printf("[%s %s] stopped by %s: %d run%s interrupted, %d not started; the same command resumes them\n",
               o->d->name, tier_names[o->tier], strsignal(stop_signal), interrupted, interrupted == 1 ? "" : "s",
               not_started);
        return 128 + stop_signal;
    }
    if (o->index < 0 && export_dir(o->dir) < 0) failed++;
    else if (o->index < 0) printf("[%s %s] summary: %s/summary.csv\n", o->d->name, tier_names[o->tier], o->dir);
    return failed ? 1 : 0;
#undef HANDLED
#undef ADVANCE
}

// ---- Slurm ------------------------------------------------------------------------------------

static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    fputc('\'', f);
}

static int write_slurm(const Opts *o, const char *argv0)
{
    // an array's tasks start together: a run that refers to another run of the same array would
    // start before it (the runner orders them; Slurm does not)
    for (int i = 0; i < o->n_runs; i++)
        for (int k = 0; k < o->runs[i].n_deps; k++)
            if (o->runs[i].deps[k] >= 0) {
                log_error("study %s, tier %s: run %s refers to run %s of the same array, which Slurm would start "
                          "at the same time. Write two arrays: the referenced runs first (--only PATTERN, e.g. "
                          "--only '%s'), then the others with --only once they are done (sbatch "
                          "--dependency=afterok:JOBID). Nothing was written.", o->d->name, tier_names[o->tier],
                          o->runs[i].name, o->runs[i].ref_names[k], o->runs[o->runs[i].deps[k]].label);
                return 1;
            }
    char exe[4096], cwd[4096];
    if (!realpath(argv0, exe) || !getcwd(cwd, sizeof cwd)) {
        log_error("study %s: cannot resolve the program's path %s (%s)", o->d->name, argv0, strerror(errno));
        return 1;
    }
    FILE *f = fopen(o->slurm, "w");
    if (!f) {
        log_error("study %s: cannot write %s (%s)", o->d->name, o->slurm, strerror(errno));
        return 1;
    }
    fprintf(f, "#!/bin/bash\n# %s, tier %s: %d runs, one Slurm array task each (written by %s --slurm).\n"
               "# A task skips its run when its file says done and resumes it from its checkpoint otherwise.\n"
               "# Afterwards: bin/repro export %s (summary.csv), make plots, make check.\n",
            o->d->name, tier_names[o->tier], o->n_runs, o->d->name, o->dir);
    bool paper = o->tier == TIER_PAPER;
    fprintf(f, "#SBATCH --job-name=%s-%s\n#SBATCH --array=0-%d\n", o->d->name, tier_names[o->tier], o->n_runs - 1);
    if (o->ranks > 1) // one run = N tasks, one process each (a GPU each on the paper tier), MPI by PMIx
        fprintf(f, "#SBATCH --ntasks=%d\n#SBATCH --cpus-per-task=%s\n%s", o->ranks, paper ? "8" : "1",
                paper ? "#SBATCH --gpus-per-task=1\n" : "");
    else
        fprintf(f, "#SBATCH --cpus-per-task=%s\n%s", paper ? "16" : "2", paper ? "#SBATCH --gpus=1\n" : "");
    fprintf(f, "#SBATCH --output=%s/slurm-%%A_%%a.log\nset -euo pipefail\ncd ", o->dir);
    put_quoted(f, cwd);
    fprintf(f, "\nmkdir -p ");
    put_quoted(f, o->dir);
    fprintf(f, o->ranks > 1 ? "\nexport OMP_NUM_THREADS=\"$SLURM_CPUS_PER_TASK\"\nexec srun --mpi=pmix " : "\nexec ");
    put_quoted(f, exe);
    fprintf(f, " --tier %s --out ", tier_names[o->tier]);
    put_quoted(f, o->dir);
    if (o->only) fprintf(f, " --only "), put_quoted(f, o->only);
    if (o->seeds) fprintf(f, " --seeds %d", o->seeds);
    for (int i = 0; i < o->n_extra; i++) fprintf(f, " --set "), put_quoted(f, o->extra[i]);
    fprintf(f, " --index \"$SLURM_ARRAY_TASK_ID\"\n");
    bool ok = !ferror(f);
    if (fclose(f) || !ok) {
        log_error("study %s: writing %s failed", o->d->name, o->slurm);
        return 1;
    }
    printf("%s: %d array tasks%s (sbatch %s)\n", o->slurm, o->n_runs, o->ranks > 1 ? " of --ranks processes each" : "",
           o->slurm);
    return 0;
}

// ---- stored results and claims ----------------------------------------------------------------

struct StudyResults {
    RunRecord *rec;
    int        n;
    int        bad; // run files that cannot be read (each named when loaded)
};

static void results_load(StudyResults *r, const StudyDef *d, const char *dir, TierId tier)
{
    memset(r, 0, sizeof *r);
    DIR *dd = opendir(dir);
    if (!dd) return;
    for (struct dirent *e; (e = readdir(dd));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".h5")) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        RunRecord rec;
        if (runfile_read(path, &rec)) {
            r->bad++;
            continue;
        }
        if (strcmp(rec.study, d->name) || strcmp(rec.tier, tier_names[tier]) || strcmp(rec.status, "done")) {
            runfile_record_free(&rec);
            continue;
        }
        r->rec = xrealloc(r->rec, (size_t)(r->n + 1) * sizeof *r->rec);
        r->rec[r->n++] = rec;
    }
    closedir(dd);
}

static void results_free(StudyResults *r)
{
    for (int i = 0; i < r->n; i++) runfile_record_free(&r->rec[i]);
    free(r->rec);
}

StudyResults *study_results_open(const StudyDef *d, const char *dir, TierId t)
{
    StudyResults *r = xcalloc(1, sizeof *r);
    results_load(r, d, dir, t);
    return r;
}

int study_results_count(const StudyResults *r) { return r->n; }
int study_results_bad(const StudyResults *r) { return r->bad; }

void study_results_close(StudyResults *r)
{
    results_free(r);
    free(r);
}

// the largest |folded - multi-branch| top-1 over a run's epochs (the trained weights' and the
// EMA's); NAN when it has no folded numbers (a model without branches)
static double reparam_gap(const RunRecord *x)
{
    static const char *const pairs[2][2] = {{"eval_top1", "eval_top1_reparam"}, {"ema_top1", "ema_top1_reparam"}};
    double gap = NAN;
    for (int p = 0; p < 2; p++) {
        int a = run_col(x, pairs[p][0]), b = run_col(x, pairs[p][1]);
        if (a < 0 || b < 0) continue;
        for (int i = 0; i < x->n_rows; i++) {
            double d = fabs(x->rows[(size_t)i * x->n_cols + b] - x->rows[(size_t)i * x->n_cols + a]);
            if (!isnan(d) && !(d <= gap)) gap = d;
        }
    }
    return gap;
}

// one run's metric (study_stat's list); NAN when the run lacks it
static double run_metric(const RunRecord *x, const char *metric)
{
    return !strcmp(metric, "reparam_gap") ? reparam_gap(x)
           : !strcmp(metric, "img_per_s") ? run_col_mean(x, "img_per_s")
           : !strcmp(metric, "macs")      ? (double)x->macs
           : !strcmp(metric, "params")    ? (double)x->params
           : !strcmp(metric, "raw_top1")  ? run_final(x, "top1")
           : !strcmp(metric, "top1")      ? run_reported_top1(x)
                                          : run_final(x, metric);
}

double study_max(const StudyResults *r, const char *metric, char *worst, size_t cap, int *n)
{
    double best = NAN;
    if (n) *n = 0;
    for (int i = 0; i < r->n; i++) {
        double v = run_metric(&r->rec[i], metric);
        if (!isnan(v) && n) (*n)++;
        if (!isnan(v) && !(v <= best)) {
            best = v;
            if (worst) snprintf(worst, cap, "%s seed %llu", r->rec[i].label, (unsigned long long)r->rec[i].seed);
        }
    }
    return best;
}

StudyStat study_stat(const StudyResults *r, const char *label, const char *metric)
{
    StudyStat s = {0, NAN, NAN};
    double sum = 0, sq = 0;
    for (int i = 0; i < r->n; i++) {
        const RunRecord *x = &r->rec[i];
        if (strcmp(x->label, label)) continue;
        double v = run_metric(x, metric);
        if (isnan(v)) continue;
        s.n++;
        sum += v;
        sq += v * v;
    }
    if (s.n) {
        s.mean = sum / s.n;
        s.std = s.n > 1 ? sqrt(MAX(0, (sq - sum * sum / s.n) / (s.n - 1))) : 0;
    }
    return s;
}

double study_t_crit(double df)
{
    // two-sided 5%: t_0.975 at df = 1 .. 30, then 40, 60, 120, infinity; linear in 1/df between
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    static const double tail_df[] = {30, 40, 60, 120, INFINITY}, tail_t[] = {2.042, 2.021, 2.000, 1.980, 1.960};
    if (df < 1) df = 1;
    if (df <= 30) {
        int lo = (int)floor(df);
        if (lo >= 30) return t[29];
        double f = (1 / (double)lo - 1 / df) / (1 / (double)lo - 1 / (double)(lo + 1));
        return t[lo - 1] + f * (t[lo] - t[lo - 1]);
    }
    for (int i = 0; i < 4; i++)
        if (df <= tail_df[i + 1]) {
            double a = 1 / tail_df[i], b = isinf(tail_df[i + 1]) ? 0 : 1 / tail_df[i + 1];
            return tail_t[i] + (a - 1 / df) / (a - b) * (tail_t[i + 1] - tail_t[i]);
        }
    return 1.960;
}

ClaimVerdict study_compare(StudyStat x, StudyStat y, char *what, size_t cap)
{
    if (!x.n || !y.n) {
        snprintf(what, cap, "runs: %d and %d", x.n, y.n);
        return CLAIM_NOT_RUN;
    }
    double d = x.mean - y.mean;
    if (x.n < 2 || y.n < 2) {
        snprintf(what, cap, "diff %+.2f; %d and %d seed%s: no spread to judge it by", d, x.n, y.n,
                 x.n + y.n > 2 ? "s" : "");
        return CLAIM_INCONCLUSIVE;
    }
    double vx = x.std * x.std / x.n, vy = y.std * y.std / y.n, se = sqrt(vx + vy);
    if (se == 0) { // identical seeds on both sides: the difference is exact
        snprintf(what, cap, "diff %+.2f, no spread over seeds", d);
        return d > 0 ? CLAIM_SUPPORTED : d < 0 ? CLAIM_CONTRADICTED : CLAIM_INCONCLUSIVE;
    }
    double df = (vx + vy) * (vx + vy) / (vx * vx / (x.n - 1) + vy * vy / (y.n - 1) + 1e-300), tv = d / se;
    double tc = study_t_crit(df);
    snprintf(what, cap, "diff %+.2f ± %.2f (Welch t %.2f, df %.1f, 5%% critical %.2f)", d, se, tv, df, tc);
    return tv > tc ? CLAIM_SUPPORTED : tv < -tc ? CLAIM_CONTRADICTED : CLAIM_INCONCLUSIVE;
}

ClaimVerdict study_compare_margin(StudyStat x, StudyStat y, double margin, char *what, size_t cap)
{
    if (!x.n || !y.n) {
        snprintf(what, cap, "runs: %d and %d", x.n, y.n);
        return CLAIM_NOT_RUN;
    }
    double d = x.mean - y.mean;
    if (x.n < 2 || y.n < 2) {
        snprintf(what, cap, "diff %+.2f (margin %.2f); %d and %d seed%s: no spread to judge it by", d, margin, x.n,
                 y.n, x.n + y.n > 2 ? "s" : "");
        return CLAIM_INCONCLUSIVE;
    }
    double vx = x.std * x.std / x.n, vy = y.std * y.std / y.n, se = sqrt(vx + vy);
    double df = se ? (vx + vy) * (vx + vy) / (vx * vx / (x.n - 1) + vy * vy / (y.n - 1) + 1e-300) : 1;
    double half = se ? study_t_crit(df) * se : 0, lo = d - half, hi = d + half;
    snprintf(what, cap, "diff %+.2f, 95%% interval %+.2f .. %+.2f (Welch, df %.1f) against the margin -%.2f", d, lo,
             hi, df, margin);
    return lo > -margin ? CLAIM_SUPPORTED : hi < -margin ? CLAIM_CONTRADICTED : CLAIM_INCONCLUSIVE;
}

// "a (n seeds) mean ± std" into buf
static const char *stat_text(const char *label, StudyStat x, char *buf, size_t cap)
{
    if (x.n > 1) snprintf(buf, cap, "%s %.2f ± %.2f (%d)", label, x.mean, x.std, x.n);
    else snprintf(buf, cap, "%s %.2f (1 seed)", label, x.mean);
    return buf;
}

ClaimVerdict study_claim_not_below(const StudyResults *r, const char *a, const char *b, const char *metric,
                                   double margin, char *numbers, size_t cap)
{
    StudyStat x = study_stat(r, a, metric), y = study_stat(r, b, metric);
    char what[200], sx[80], sy[80];
    ClaimVerdict v = study_compare_margin(x, y, margin, what, sizeof what);
    if (v == CLAIM_NOT_RUN) snprintf(numbers, cap, "%s: %d runs, %s: %d runs", a, x.n, b, y.n);
    else snprintf(numbers, cap, "%s%s%s vs %s: %s", strcmp(metric, "top1") ? metric : "",
                  strcmp(metric, "top1") ? ": " : "", stat_text(a, x, sx, sizeof sx), stat_text(b, y, sy, sizeof sy),
                  what);
    return v;
}

ClaimVerdict study_claim_metric(const StudyResults *r, const char *a, const char *b, const char *metric,
                                char *numbers, size_t cap)
{
    StudyStat x = study_stat(r, a, metric), y = study_stat(r, b, metric);
    char what[200], sx[80], sy[80];
    ClaimVerdict v = study_compare(x, y, what, sizeof what);
    if (v == CLAIM_NOT_RUN) snprintf(numbers, cap, "%s: %d runs, %s: %d runs", a, x.n, b, y.n);
    else snprintf(numbers, cap, "%s%s%s vs %s: %s", strcmp(metric, "top1") ? metric : "",
                  strcmp(metric, "top1") ? ": " : "", stat_text(a, x, sx, sizeof sx), stat_text(b, y, sy, sizeof sy),
                  what);
    return v;
}

ClaimVerdict study_claim_higher(const StudyResults *r, const char *a, const char *b, char *numbers, size_t cap)
{
    return study_claim_metric(r, a, b, "top1", numbers, cap);
}

ClaimVerdict study_claim_each(const StudyResults *r, const char *const *higher, const char *const *lower, int n,
                              const char *metric, bool as_error, char *numbers, size_t cap)
{
    int at = 0, seen = 0, supported = 0, contradicted = 0;
    numbers[0] = 0;
    for (int i = 0; i < n; i++) {
        StudyStat x = study_stat(r, higher[i], metric), y = study_stat(r, lower[i], metric);
        char what[200];
        // as errors: the same test on the errors, the lower point's minus the higher one's (the
        // drop in error the claim expects above 0)
        StudyStat ex = {x.n, 100 - x.mean, x.std}, ey = {y.n, 100 - y.mean, y.std};
        ClaimVerdict v = as_error ? study_compare(ey, ex, what, sizeof what) : study_compare(x, y, what, sizeof what);
        if (v == CLAIM_NOT_RUN) continue;
        seen++;
        supported += v == CLAIM_SUPPORTED;
        contradicted += v == CLAIM_CONTRADICTED;
        if (as_error) x = ex, y = ey;
        at += snprintf(numbers + at, cap - (size_t)MIN((size_t)at, cap), "%s%s %.2f ± %.2f (%d) vs %s %.2f ± %.2f (%d)%s: %s",
                       seen > 1 ? "; " : "", lower[i], y.mean, y.std, y.n, higher[i], x.mean, x.std, x.n,
                       as_error ? " error, drop" : "", what);
        if ((size_t)at >= cap) break;
    }
    if (seen < n && (size_t)at < cap)
        snprintf(numbers + at, cap - (size_t)at, "%s%d of %d pairs run", seen ? "; " : "", seen, n);
    if (!seen) return CLAIM_NOT_RUN;
    if (contradicted) return CLAIM_CONTRADICTED;
    return supported == n ? CLAIM_SUPPORTED : CLAIM_INCONCLUSIVE;
}

void study_claims(const StudyDef *d, const StudyResults *r, TierId tier, FILE *out)
{
    fprintf(out, "claims of %s (%s), tier %s, %d stored runs done:\n", d->name, d->paper, tier_names[tier], r->n);
    static const char *const verdict[] = {"not run", "CONTRADICTED", "supported", "inconclusive"};
    for (int i = 0; i < d->n_claims; i++) {
        char numbers[768] = "";
        const StudyClaim *c = &d->claims[i];
        ClaimVerdict v = c->eval ? (ClaimVerdict)c->eval(r, numbers, sizeof numbers)
                                 : study_claim_higher(r, c->higher, c->lower, numbers, sizeof numbers);
        fprintf(out, "  %-13s %s\n                %s\n", verdict[v + 1], c->text, numbers);
    }
    study_sanity(d, r, tier, out);
}

// the run's resolved recipe (its stored text parsed again); false when it cannot be read
static bool run_config(const RunRecord *x, TrainConfig *c)
{
    FILE *needs = fopen("/dev/null", "w");
    int rc = recipe_parse(c, x->label, x->recipe, 0, NULL, needs ? needs : stderr);
    if (needs) fclose(needs);
    return rc >= 0;
}

// the "learns" test reads the test loss at the first evaluated epoch that ends after this many
// optimizer steps, so that a set of 2,000 images (31 steps an epoch) is judged as late as one of
// 50,000 (the first epoch): an epoch count would say nothing about how far a model got
enum { LEARNS_STEPS = 100 };

// the row the "learns" test reads: the first with an evaluation (eval_every leaves NaN) that ends
// at or after LEARNS_STEPS steps; the last evaluated one when the run is shorter
static int learns_row(const RunRecord *x, const TrainConfig *c, int el)
{
    double n = dataset_size(c, false), b = c->batch > 0 ? c->batch : 1;
    double steps = c->drop_last ? floor(n / b) : ceil(n / b);
    int at = -1;
    for (int i = 0; i < x->n_rows; i++) {
        if (isnan(x->rows[(size_t)i * x->n_cols + el])) continue;
        at = i;
        if ((i + 1) * steps >= LEARNS_STEPS) break;
    }
    return at;
}

// one run against one sanity test: whether it passes, its numbers written to what; *gap its margin
static bool sane(const RunRecord *x, SanityKind kind, char *what, size_t cap, double *gap)
{
    int last = x->n_rows - 1, tr = run_col(x, "train_top1"), te = run_col(x, "eval_top1"),
        el = run_col(x, "eval_loss");
    if (last < 0 || tr < 0 || te < 0 || el < 0) {
        snprintf(what, cap, "no epochs stored");
        return false;
    }
    const double *row = x->rows + (size_t)last * x->n_cols;
    if (kind == SANITY_OVERFITS) {
        *gap = row[tr] - row[te];
        snprintf(what, cap, "train %.2f vs test %.2f", row[tr], row[te]);
        return *gap > 0;
    }
    TrainConfig c;
    if (!run_config(x, &c)) {
        snprintf(what, cap, "its stored recipe cannot be read");
        return false;
    }
    const DatasetInfo *di = dataset_info(c.dataset);
    int classes = c.net.num_classes > 0 ? c.net.num_classes : di ? di->classes : 0, at = learns_row(x, &c, el);
    if (classes < 2 || at < 0) {
        snprintf(what, cap, classes < 2 ? "its recipe gives no class count" : "no evaluated epoch stored");
        return false;
    }
    double loss = x->rows[(size_t)at * x->n_cols + el], top1 = run_reported_top1(x), chance_loss = log(classes),
           floor1 = 200.0 / classes;
    *gap = chance_loss - loss;
    snprintf(what, cap, "test loss %.3f after epoch %d (chance %.3f), final top-1 %.2f (twice chance %.1f)", loss,
             at + 1, chance_loss, top1, floor1);
    return loss < chance_loss && top1 >= floor1;
}

int study_sanity(const StudyDef *d, const StudyResults *r, TierId tier, FILE *out)
{
    static const char *const about[] = {
        [SANITY_LEARNS] = "every model trains (test loss below chance by the first evaluation after 100 steps, final "
                          "top-1 at least twice chance)",
        [SANITY_OVERFITS] = "the regime overfits (last epoch's train top-1 above its test top-1)",
    };
    const StudyTier *T = &d->tiers[tier];
    int failing = 0;
    if (T->sanity[0].runs) fprintf(out, "sanity of %s, tier %s:\n", d->name, tier_names[tier]);
    for (int i = 0; i < STUDY_MAX_SANITY && T->sanity[i].runs; i++) {
        const StudySanity *s = &T->sanity[i];
        int n = 0, pass = 0, at = 0;
        double lo = INFINITY, hi = -INFINITY;
        char fails[1200] = "", what[200];
        for (int j = 0; j < r->n; j++) {
            const RunRecord *x = &r->rec[j];
            if (fnmatch(s->runs, x->label, 0)) continue;
            double gap = NAN;
            n++;
            if (sane(x, s->kind, what, sizeof what, &gap)) pass++;
            else if (at < (int)sizeof fails - 1)
                at += snprintf(fails + at, sizeof fails - (size_t)at, "\n      FAILS %s_s%llu: %s", x->label,
                               (unsigned long long)x->seed, what);
            if (!isnan(gap)) lo = MIN(lo, gap), hi = MAX(hi, gap);
        }
        failing += n - pass;
        fprintf(out, "  %-8s %s: %s\n", !n ? "not run" : pass == n ? "ok" : "FLAGGED", s->runs, about[s->kind]);
        if (n)
            fprintf(out, "           %d of %d runs pass; %s %+.2f .. %+.2f%s\n", pass, n,
                    s->kind == SANITY_OVERFITS ? "train - test top-1" : "chance - test loss", lo, hi,
                    fails);
    }
    return failing;
}

int study_check(const StudyDef *d, const char *dir, TierId tier, FILE *out)
{
    StudyResults *r = study_results_open(d, dir, tier);
    int bad = r->bad;
    if (bad)
        log_error("check %s: %d run file%s in %s cannot be read (above): the claims below lack them. Restore "
                  "them (git checkout -- FILE), or run them again (--only LABEL --force)", d->name, bad,
                  bad == 1 ? "" : "s", dir);
    study_claims(d, r, tier, out);
    study_results_close(r);
    return bad ? -1 : d->n_claims;
}

// ---- the command line -------------------------------------------------------------------------

static int usage(FILE *f, const StudyDef *d, const char *prog)
{
    fprintf(f,
            "usage: %s [--tier smoke|cpu|paper] [--list] [--only PATTERN] [--jobs N] [--seeds K]\n"
            "          [--out DIR] [--set section.key=value ...] [--index I | --slurm FILE] [--check]\n"
            "          [--force] [--yes] [--ranks N]\n"
            "%s — %s\n  (%s)\n"
            "  Runs the tier's grid (default cpu) into DIR (default results/%s): one run file per run,\n"
            "  <tier>_<label>_s<seed>.h5; done runs are skipped, interrupted ones resumed from their\n"
            "  checkpoint; then DIR/summary.csv. --list: the runs and their budget. --only PATTERN: the\n"
            "  points whose label matches the shell pattern ('d20_*'). --jobs N: N runs at a time (they\n"
            "  share the machine's cores). --seeds K: seeds 1..K of every point (default: the tier's, more for the points a\n"
            "  claim compares where it says so). --index I: the I-th run only. --slurm FILE: a job-array\n"
            "  script instead.\n"
            "  --ranks N: each run data-parallel over N processes (mpirun -np N here; srun in the\n"
            "  --slurm script, N tasks per node), train.batch being the whole batch of all N.\n"
            "  --check: the paper's claims on the stored runs of the tier. --force: the selected runs\n"
            "  (all, or --only's) start over, their files replaced. SIGINT / SIGTERM stop the running\n"
            "  runs after their current step (status interrupted); the same command resumes them.\n"
            "  A grid estimated at more than %d hours on this machine (the paper tiers) shows its\n"
            "  budget and starts only when confirmed (--yes, or y at the prompt).\n",
            prog, d->name, d->question, d->paper, d->name, CONFIRM_HOURS);
    return f == stdout ? 0 : 2;
}

static int parse_int(const char *s, int lo, int hi, const char *flag, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        log_error("%s '%s': expected an integer in %d .. %d", flag, s, lo, hi);
        return 1;
    }
    *out = (int)v;
    return 0;
}

int study_main(const StudyDef *d, int argc, char **argv)
{
    Opts o = {.d = d, .tier = TIER_CPU, .jobs = 1, .index = -1, .ranks = 1, .argv0 = argv[0]};
    if (comm_env_rank() > 0 && !freopen("/dev/null", "w", stdout)) return 1; // rank 0 speaks
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, d, argv[0]);
        else if (!strcmp(a, "--list")) o.list = true;
        else if (!strcmp(a, "--check")) o.check = true;
        else if (!strcmp(a, "--force")) o.force = true;
        else if (!strcmp(a, "--yes")) o.yes = true;
        else if (!v) {
            log_error("%s: unknown or incomplete argument '%s'", d->name, a);
            return usage(stderr, d, argv[0]);
        } else if (!strcmp(a, "--tier")) {
            int t = 0;
            while (t < N_TIERS && strcmp(v, tier_names[t])) t++;
            if (t == N_TIERS) {
                log_error("--tier '%s': expected smoke, cpu or paper", v);
                return 2;
            }
            o.tier = (TierId)t, i++;
        } else if (!strcmp(a, "--only")) o.only = v, i++;
        else if (!strcmp(a, "--out")) o.out = v, i++;
        else if (!strcmp(a, "--slurm")) o.slurm = v, i++;
        else if (!strcmp(a, "--jobs")) { if (parse_int(v, 1, 64, a, &o.jobs)) return 2; i++; }
        else if (!strcmp(a, "--ranks")) { if (parse_int(v, 1, 1024, a, &o.ranks)) return 2; i++; }
        else if (!strcmp(a, "--seeds")) { if (parse_int(v, 1, 100, a, &o.seeds)) return 2; i++; }
        else if (!strcmp(a, "--index")) { if (parse_int(v, 0, 1 << 20, a, &o.index)) return 2; i++; }
        else if (!strcmp(a, "--set")) {
            if (o.n_extra == STUDY_MAX_SETS) {
                log_error("%s: more than %d --set", d->name, STUDY_MAX_SETS);
                return 2;
            }
            o.extra[o.n_extra++] = v, i++;
        } else {
            log_error("%s: unknown argument '%s'", d->name, a);
            return usage(stderr, d, argv[0]);
        }
    }
    if (comm_launched() && o.index < 0) {
        log_error("%s: started by mpirun or srun, a study runs one run as its ranks: give --index I (--ranks N "
                  "starts each run so; the --slurm script too)", d->name);
        return 2;
    }
    if (o.slurm && o.index >= 0) {
        log_error("%s: --slurm writes a script for every run; --index runs one: give one of them", d->name);
        return 2;
    }
    snprintf(o.dir, sizeof o.dir, "%s", o.out ? o.out : "results/");
    if (!o.out) snprintf(o.dir, sizeof o.dir, "results/%s", d->name);
    if (o.check) return study_check(d, o.dir, o.tier, stdout) >= 0 ? 0 : 1;
    if (build_runs(&o)) return 1;
    int rc;
    if (o.list) rc = list_runs(&o);
    else if (o.slurm) rc = write_slurm(&o, argv[0]);
    else if (o.runs[0].needs[0]) {
        list_runs(&o);
        fputs(o.runs[0].needs, stderr);
        log_error("%s: tier %s needs what this machine lacks (above: a data set's files, which repro data "
                  "list says where to read from and where to get (make data for the shared photograph sets); "
                  "or a teacher model). Nothing was started.",
                  d->name, tier_names[o.tier]);
        rc = 2;
    } else if (!confirmed(&o)) rc = 2;
    else rc = run_all(&o);
    free(o.runs);
    return rc;
}
