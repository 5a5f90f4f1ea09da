/* studies/lib/check.c — published vs reproduced, and every study's claims (`repro check`, make check).
 *
 * results/published.csv (scripts/make_published.py writes it from the shared published tables,
 * source column kept) has one row per published number: study, label (the grid point that
 * reproduces it), tier (the tier whose setting is the published one), metric (top1 | error |
 * best_error, percent), published, tolerance (percentage points), paper, table, note, source.
 * For each row with stored `done` runs of that tier: published, reproduced (mean ± std over
 * seeds), difference, tolerance, verdict: within when |difference| <= the row's tolerance plus
 * twice the reproduction's seed std (0 for one seed). A row with no tolerance ("-") is shown beside
 * the others and never judged (another data release, a third party's number); a row with no study
 * is a published number no study reproduces: listed as "no study" (every row of the shared
 * tables is in the file, so the gaps show). Where only a smaller tier has runs of that label, they
 * are shown for reference, without a verdict: a 4-epoch run does not reproduce a 300-epoch number.
 * Then each registered study's claims on every tier it has results for.
 * Exit status 1 when a reproduction row is outside its tolerance (claims never fail the check).
 */
#include <csv.h>      // csv_parse: the published table
#include <dirent.h>   // scandir: verify --sample
#include <errno.h>    // errno
#include <math.h>     // fabs
#include <stdlib.h>   // strtod
#include <string.h>   // strcmp
#include <sys/wait.h> // waitpid
#include <unistd.h>   // fork, execl, readlink

#include "io/runfile.h" // RunRecord: verify --sample
#include "run/run.h"     // run_git_revision, run_make_dirs
#include "study.h"

enum { PUB_COLS = 10 };
static const char *const pub_cols[PUB_COLS] = {"study", "label",  "tier",  "metric", "published",
                                               "tolerance", "paper", "table", "note",   "source"};

typedef struct {
    char   *f[PUB_COLS];
    double  published, tolerance;
} PubRow;

typedef struct {
    PubRow *rows;
    int     n, col, line;
    char   *cur[PUB_COLS];
    bool    header_ok, bad;
    const char *path;
} PubParse;

static void on_field(void *s, size_t len, void *user)
{
    PubParse *p = user;
    if (p->col < PUB_COLS) {
        p->cur[p->col] = xcalloc(len + 1, 1);
        memcpy(p->cur[p->col], s, len);
    }
    p->col++;
}

static void on_row(int c, void *user)
{
    (void)c;
    PubParse *p = user;
    p->line++;
    if (p->line == 1) { // the header names the columns, in this order
        p->header_ok = p->col == PUB_COLS;
        for (int j = 0; j < PUB_COLS && p->header_ok; j++) p->header_ok = p->cur[j] && !strcmp(p->cur[j], pub_cols[j]);
    } else if (p->col != PUB_COLS) {
        log_error("%s:%d: %d fields, expected %d (%s, ...)", p->path, p->line, p->col, PUB_COLS, pub_cols[0]);
        p->bad = true;
    } else {
        PubRow r = {0};
        char *e1, *e2;
        r.published = strtod(p->cur[4], &e1);
        bool shown = !strcmp(p->cur[5], "-"); // shown, never judged
        r.tolerance = shown ? NAN : strtod(p->cur[5], &e2);
        if (shown) e2 = p->cur[5] + 1;
        if (*e1 || *e2 || e1 == p->cur[4] || e2 == p->cur[5] || r.tolerance < 0) {
            log_error("%s:%d: published '%s' and tolerance '%s' must be numbers (tolerance >= 0, or - for a row "
                      "shown but not judged)", p->path, p->line,
                      p->cur[4], p->cur[5]);
            p->bad = true;
        } else {
            memcpy(r.f, p->cur, sizeof r.f);
            memset(p->cur, 0, sizeof p->cur);
            p->rows = xrealloc(p->rows, (size_t)(p->n + 1) * sizeof *p->rows);
            p->rows[p->n++] = r;
        }
    }
    for (int j = 0; j < PUB_COLS; j++) free(p->cur[j]), p->cur[j] = NULL;
    p->col = 0;
}

static int read_published(const char *path, PubParse *p)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_error("check: cannot open %s (%s)", path, strerror(errno));
        return 1;
    }
    struct csv_parser cp;
    csv_init(&cp, CSV_STRICT | CSV_APPEND_NULL);
    char buf[4096];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = csv_parse(&cp, buf, n, on_field, on_row, p) == n;
    ok = ok && csv_fini(&cp, on_field, on_row, p) == 0;
    if (!ok) log_error("%s: not valid CSV near line %d (%s)", path, p->line + 1, csv_strerror(csv_error(&cp)));
    csv_free(&cp);
    fclose(f);
    if (ok && !p->header_ok) {
        log_error("%s: the header must be: study,label,tier,metric,published,tolerance,paper,table,note,source", path);
        ok = false;
    }
    return ok && !p->bad ? 0 : 1;
}

static void free_published(PubParse *p)
{
    for (int i = 0; i < p->n; i++)
        for (int j = 0; j < PUB_COLS; j++) free(p->rows[i].f[j]);
    free(p->rows);
}

static TierId tier_of(const char *s)
{
    for (int t = 0; t < N_TIERS; t++)
        if (!strcmp(s, tier_name((TierId)t))) return (TierId)t;
    return N_TIERS;
}

enum { MAX_STUDIES = 32 };

// "mean ± std (n)", or "mean (1 seed)": one seed has no spread to print
static const char *fmt_stat(StudyStat s, char *buf, size_t cap)
{
    if (s.n > 1) snprintf(buf, cap, "%.2f ± %.2f (%d)", s.mean, s.std, s.n);
    else snprintf(buf, cap, "%.2f (1 seed)", s.mean);
    return buf;
}

// the stored runs of each (study, tier), read once for the whole check
typedef struct {
    const char   *results;
    StudyResults *r[MAX_STUDIES][N_TIERS];
} Stored;

static StudyResults *stored(Stored *s, int k, TierId t)
{
    if (!s->r[k][t]) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", s->results, study_registry[k]->name);
        s->r[k][t] = study_results_open(study_registry[k], dir, t);
    }
    return s->r[k][t];
}

// the stored runs' value of a published metric: top1 as is, error = 100 - top1, best_error =
// 100 - best_top1 (the Random Erasing code reports its best epoch)
static StudyStat reproduced(const StudyResults *r, const char *label, const char *metric)
{
    StudyStat s = study_stat(r, label, !strcmp(metric, "best_error") ? "best_top1" : "top1");
    if (strcmp(metric, "top1") && s.n) s.mean = 100 - s.mean;
    return s;
}

static int registry_index(const char *name)
{
    for (int k = 0; study_registry[k]; k++)
        if (!strcmp(study_registry[k]->name, name)) return k;
    return -1;
}

int study_check_all(const char *published, const char *results, bool all, FILE *out)
{
    enum { MAX_PAPERS = 256 };
    const char *papers[MAX_PAPERS]; // the rows no study reproduces, counted per paper (all: listed)
    int per_paper[MAX_PAPERS], n_papers = 0, other_papers = 0;
    PubParse p;
    if (read_published(published, &p)) return 2;
    Stored st = {.results = results};
    int n_studies = 0;
    while (study_registry[n_studies]) n_studies++;
    CHECK(n_studies <= MAX_STUDIES, "check: %d studies, room for %d", n_studies, MAX_STUDIES);
    int outside = 0, compared = 0, uncovered = 0, rw = 14; // rw: the run column's width, the longest label's
    for (int i = 0; i < p.n; i++)
        if (all || p.rows[i].f[0][0]) rw = MAX(rw, (int)strlen(p.rows[i].f[1])); // the rows printed
    fprintf(out, "published vs reproduced (%s; runs from %s/<study>/, mean ± std over seeds)\n", published,
            results);
    fprintf(out, "  %-16s %-*s %-6s %-10s %9s %20s %7s %6s  %s\n", "study", rw, "run", "tier", "metric", "published",
            "reproduced", "diff", "tol", "verdict");
    for (int i = 0; i < p.n; i++) {
        PubRow *r = &p.rows[i];
        if (!r->f[0][0]) { // no study reproduces it
            if (all)
                fprintf(out, "  %-16s %-*s %-6s %-10s %9.2f %20s %7s %6s  no study (%s, %s)\n", "-", rw, r->f[1], "-",
                        r->f[3], r->published, "-", "", "", r->f[6], r->f[7]);
            int k = 0;
            while (k < n_papers && strcmp(papers[k], r->f[6])) k++;
            if (k == n_papers && n_papers < MAX_PAPERS) papers[n_papers] = r->f[6], per_paper[n_papers++] = 0;
            if (k < n_papers) per_paper[k]++;
            else other_papers++;
            uncovered++;
            continue;
        }
        int k = registry_index(r->f[0]);
        TierId t = tier_of(r->f[2]);
        if (k < 0 || t == N_TIERS) {
            log_error("%s: row %d names study '%s' tier '%s': no such study or tier", published, i + 2, r->f[0], r->f[2]);
            outside++;
            continue;
        }
        StudyStat s = reproduced(stored(&st, k, t), r->f[1], r->f[3]);
        if (s.n && isnan(r->tolerance)) { // beside the judged rows: another release, a third party
            char sb[48];
            fprintf(out, "  %-16s %-*s %-6s %-10s %9.2f %20s %+7.2f %6s  shown, not judged (%s)\n", r->f[0], rw, r->f[1],
                    r->f[2], r->f[3], r->published, fmt_stat(s, sb, sizeof sb), s.mean - r->published, "-", r->f[8]);
            continue;
        }
        if (s.n) {
            double diff = s.mean - r->published, tol = r->tolerance + (s.n > 1 ? 2 * s.std : 0);
            bool ok = fabs(diff) <= tol;
            compared++;
            outside += !ok;
            char sb[48];
            fprintf(out, "  %-16s %-*s %-6s %-10s %9.2f %20s %+7.2f %6.2f  %s\n", r->f[0], rw, r->f[1], r->f[2],
                    r->f[3], r->published, fmt_stat(s, sb, sizeof sb), diff, tol, ok ? "within" : "OUTSIDE");
            continue;
        }
        // a smaller tier's runs of the same point, for reference
        bool shown = false;
        for (int lt = t - 1; lt >= TIER_CPU && !shown; lt--) {
            StudyStat x = reproduced(stored(&st, k, (TierId)lt), r->f[1], r->f[3]);
            if (!x.n) continue;
            char sb[48];
            fprintf(out, "  %-16s %-*s %-6s %-10s %9.2f %20s %7s %6s  reference only (%s tier, not the "
                         "published setting)\n",
                    r->f[0], rw, r->f[1], r->f[2], r->f[3], r->published, fmt_stat(x, sb, sizeof sb), "", "",
                    tier_name((TierId)lt));
            shown = true;
        }
        if (!shown) {
            char tol[16] = "-"; // shown, not judged
            if (!isnan(r->tolerance)) snprintf(tol, sizeof tol, "%.2f", r->tolerance);
            fprintf(out, "  %-16s %-*s %-6s %-10s %9.2f %20s %7s %6s  not run\n", r->f[0], rw, r->f[1], r->f[2],
                    r->f[3], r->published, "-", "", tol);
        }
    }
    if (uncovered && !all) {
        fprintf(out, "  no study reproduces %d rows (repro check --all lists them):", uncovered);
        for (int k = 0; k < n_papers; k++) fprintf(out, "%s %s (%d)", k ? ";" : "", papers[k], per_paper[k]);
        if (other_papers) fprintf(out, "; other papers (%d)", other_papers);
        fprintf(out, "\n");
    }
    fprintf(out, "%d published numbers, %d reproduced at their tier, %d outside tolerance, %d that no study "
                 "reproduces\n\n", p.n, compared, outside, uncovered);
    free_published(&p);
    for (int k = 0; study_registry[k]; k++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", results, study_registry[k]->name);
        for (int t = 0; t < N_TIERS; t++)
            if (study_results_count(stored(&st, k, (TierId)t)) || t == TIER_CPU)
                study_claims(study_registry[k], stored(&st, k, (TierId)t), (TierId)t, out);
    }
    int bad = 0;
    for (int k = 0; k < MAX_STUDIES; k++) {
        int most = 0; // every tier's load reads each file of the folder
        for (int t = 0; t < N_TIERS; t++)
            if (st.r[k][t]) {
                most = MAX(most, study_results_bad(st.r[k][t]));
                study_results_close(st.r[k][t]);
            }
        bad += most;
    }
    if (bad) {
        log_error("check: %d run file%s under %s cannot be read (named above): the numbers above lack them. "
                  "Restore them (git checkout -- FILE), or run them again (repro train --force; a study: "
                  "--only LABEL --force)", bad, bad == 1 ? "" : "s", results);
        return 1;
    }
    return outside ? 1 : 0;
}

// ---- a rerun against the stored results and the published numbers (`repro verify`) ------------

int study_verify(const StudyDef *d, TierId t, const char *rerun, const char *stored, const char *published,
                 FILE *out)
{
    PubParse p;
    if (read_published(published, &p)) return 2;
    StudyResults *a = study_results_open(d, rerun, t), *b = study_results_open(d, stored, t);
    int bad = study_results_bad(a) + study_results_bad(b);
    if (!study_results_count(a)) { // a mistyped folder, or a rerun that produced nothing, is no comparison
        log_error("verify %s: %s holds no done run of tier %s (make study NAME=%s TIER=%s trains them there)", d->name,
                  rerun, tier_name(t), d->name, tier_name(t));
        study_results_close(a);
        study_results_close(b);
        free_published(&p);
        return 1;
    }
    const StudyTier *tier = &d->tiers[t];
    fprintf(out, "%s, tier %s: rerun (%s) vs stored (%s) vs published (%s); top-1 %%, mean ± std over seeds\n",
            d->name, tier_name(t), rerun, stored, published);
    fprintf(out, "  %-22s %20s %20s %8s %11s  %s\n", "point", "rerun", "stored", "diff", "published", "rerun vs stored");
    int compared = 0, same = 0, missing = 0;
    for (int i = 0; i < tier->n_points; i++) {
        const char *label = tier->points[i].label;
        StudyStat x = study_stat(a, label, "top1"), y = study_stat(b, label, "top1");
        char rs[40] = "-", ss[40] = "-", diff[16] = "", pub[40] = "-", verdict[120] = "";
        if (x.n) fmt_stat(x, rs, sizeof rs);
        if (y.n) fmt_stat(y, ss, sizeof ss);
        for (int j = 0; j < p.n; j++) // this point's published number at this tier, as a top-1
            if (!strcmp(p.rows[j].f[0], d->name) && !strcmp(p.rows[j].f[1], label) && tier_of(p.rows[j].f[2]) == t &&
                !isnan(p.rows[j].tolerance)) {
                bool err = strcmp(p.rows[j].f[3], "top1") != 0;
                snprintf(pub, sizeof pub, "%.2f", err ? 100 - p.rows[j].published : p.rows[j].published);
            }
        if (x.n && y.n) {
            double dd = x.mean - y.mean;
            // the spread a difference is read against: the larger std, else (one seed each) none
            double spread = MAX(x.std, y.std);
            snprintf(diff, sizeof diff, "%+.2f", dd);
            compared++;
            if (fabs(dd) < 0.005) snprintf(verdict, sizeof verdict, "same"), same++;
            else if (spread > 0)
                snprintf(verdict, sizeof verdict, "%s (%.1f std)", fabs(dd) <= 2 * spread ? "within the seeds' spread"
                                                                                      : "OUTSIDE the seeds' spread",
                         fabs(dd) / spread);
            else snprintf(verdict, sizeof verdict, "differs (one seed each: no spread to judge it by)");
        } else {
            snprintf(verdict, sizeof verdict, "%s", !x.n ? "not rerun" : "not stored");
            missing++;
        }
        fprintf(out, "  %-22s %20s %20s %8s %11s  %s\n", label, rs, ss, diff, pub, verdict);
    }
    fprintf(out, "%d points compared, %d the same to 0.01 points, %d not in both; a difference comes from another "
                 "revision or backend (the cpu backend gives the same bits at any thread count; a GPU's sums "
                 "differ from it): each run file names them\n", compared, same, missing);
    study_results_close(a);
    study_results_close(b);
    free_published(&p);
    if (bad) {
        log_error("verify %s: %d run file%s cannot be read (named above)", d->name, bad, bad == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

// ---- stored runs trained again at this build (`repro verify --sample K`) ------------------------

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

// the largest |a - b| over the /epochs columns both runs have, times and speeds left out; NAN
// when the tables differ in rows (*col: the column it was found in)
static double epochs_diff(const RunRecord *a, const RunRecord *b, const char **col)
{
    *col = "-";
    if (a->n_rows != b->n_rows) return NAN;
    double worst = 0;
    for (int j = 0; j < a->n_cols; j++) {
        if (!strcmp(a->cols[j], "img_per_s") || !strcmp(a->cols[j], "seconds")) continue;
        int k = run_col(b, a->cols[j]);
        if (k < 0) continue;
        for (int i = 0; i < a->n_rows; i++) {
            double x = a->rows[i * a->n_cols + j], y = b->rows[i * b->n_cols + k];
            double dd = isnan(x) && isnan(y) ? 0 : fabs(x - y);
            if (!(dd <= worst)) worst = dd, *col = a->cols[j]; // NaN on one side counts as a difference
        }
    }
    return worst;
}

// `exe train --recipe recipe --out scratch --refs refs --force`, its output into log, its per-epoch lines
// echoed to out; 0 when it succeeded, -1 when it could not start, else its exit status
static int rerun_logged(const char *exe, const char *recipe, const char *scratch, const char *refs, const char *log,
                        FILE *out)
{
    FILE *lf = fopen(log, "w");
    int fd[2];
    if (!lf || pipe(fd)) {
        log_error("verify: cannot write %s (%s)", log, strerror(errno));
        if (lf) fclose(lf);
        return -1;
    }
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(exe, exe, "train", "--recipe", recipe, "--out", scratch, "--refs", refs, "--force", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *in = p > 0 ? fdopen(fd[0], "r") : NULL;
    char line[4096];
    while (in && fgets(line, sizeof line, in)) {
        fputs(line, lf);
        if (!strncmp(line, "epoch ", 6) && strstr(line, " eval ")) fprintf(out, "  %s", line), fflush(out);
    }
    if (in) fclose(in);
    else close(fd[0]);
    fclose(lf);
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int study_verify_sample(const StudyDef *d, TierId t, const char *stored, int k, const char *scratch, FILE *out)
{
    struct dirent **names = NULL;
    int n_names = scandir(stored, &names, NULL, by_name);
    if (n_names < 0) {
        log_error("verify %s --sample: cannot read %s (%s)", d->name, stored, strerror(errno));
        return 1;
    }
    char (*paths)[1200] = xcalloc((size_t)n_names + 1, sizeof *paths);
    int n = 0, bad = 0;
    for (int i = 0; i < n_names; i++) {
        size_t len = strlen(names[i]->d_name);
        if (len >= 4 && !strcmp(names[i]->d_name + len - 3, ".h5")) {
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", stored, names[i]->d_name);
            RunRecord rec;
            if (runfile_read(path, &rec)) bad++;
            else {
                if (!strcmp(rec.study, d->name) && !strcmp(rec.tier, tier_name(t)) && !strcmp(rec.status, "done"))
                    snprintf(paths[n++], sizeof paths[0], "%s", path);
                runfile_record_free(&rec);
            }
        }
        free(names[i]);
    }
    free(names);
    if (!n) {
        log_error("verify %s --sample: %s holds no done run of tier %s", d->name, stored, tier_name(t));
        free(paths);
        return 1;
    }
    if (k > n) k = n;
    char head[64], exe[1024];
    run_git_revision(head);
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) {
        log_error("verify: cannot find this program (/proc/self/exe: %s)", strerror(errno));
        free(paths);
        return 1;
    }
    exe[el] = 0;
    if (run_make_dirs(scratch)) { free(paths); return 1; }
    fprintf(out, "%s, tier %s: %d of its %d stored runs (%s) trained again at revision %s into %s\n", d->name,
            tier_name(t), k, n, stored, head, scratch);
    int differ_same_rev = 0, failed = 0;
    char (*lines)[1000] = xcalloc((size_t)k, sizeof *lines);
    for (int s = 0; s < k; s++) {
        const char *path = paths[(long)s * n / k]; // spread over the sorted runs
        RunRecord a;
        if (runfile_read(path, &a)) { failed++; continue; }
        char recipe[1400], rerun[1400];
        snprintf(recipe, sizeof recipe, "%s/%s.recipe", scratch, a.run_id);
        snprintf(rerun, sizeof rerun, "%s/%s.h5", scratch, a.run_id);
        FILE *f = fopen(recipe, "w");
        if (!f || fputs(a.recipe, f) < 0 || fclose(f)) {
            log_error("verify: cannot write %s (%s)", recipe, strerror(errno));
            runfile_record_free(&a);
            free(paths);
            free(lines);
            return 1;
        }
        char log[1400];
        snprintf(log, sizeof log, "%s/%s.log", scratch, a.run_id);
        fprintf(out, "[verify %d/%d] %s (%s, label %s, seed %llu, stored at %s): training again (its output: %s)\n",
                s + 1, k, path, a.run_id, a.label, (unsigned long long)a.seed, a.git_revision, log);
        fflush(out);
        int st = rerun_logged(exe, recipe, scratch, stored, log, out); // its @NAME runs: the stored ones
        if (st) {
            snprintf(lines[s], sizeof lines[s], "  %-28s rerun failed (%s; see %.300s)", a.label,
                     st < 0 ? "cannot start it" : "exit status != 0", log);
            failed++;
            runfile_record_free(&a);
            continue;
        }
        RunRecord b;
        if (runfile_read(rerun, &b)) {
            snprintf(lines[s], sizeof lines[s], "  %-28s the rerun left no readable run file %.400s", a.label, rerun);
            failed++;
            runfile_record_free(&a);
            continue;
        }
        const char *col;
        double de = epochs_diff(&a, &b, &col), dt = run_reported_top1(&b) - run_reported_top1(&a);
        bool same_rev = !strcmp(a.git_revision, head) && !strstr(head, "dirty");
        bool same = de == 0 && !strcmp(a.run_id, b.run_id);
        if (!same && same_rev) differ_same_rev++;
        char what[160];
        if (same) snprintf(what, sizeof what, "the same numbers");
        else if (isnan(de)) snprintf(what, sizeof what, "DIFFERENT: %d epochs stored, %d rerun", a.n_rows, b.n_rows);
        else snprintf(what, sizeof what, "DIFFERENT: up to %.3g in epochs/%s", de, col);
        snprintf(lines[s], sizeof lines[s], "  %-28s %-19s %8.2f %8.2f %+8.2f  %s%s", a.label, a.git_revision,
                 run_reported_top1(&a), run_reported_top1(&b), dt, what,
                 same_rev ? "" : same ? " (another revision, the same results)" : " (another revision)");
        runfile_record_free(&a);
        runfile_record_free(&b);
    }
    fprintf(out, "  %-28s %-19s %8s %8s %8s  %s\n", "run (label)", "stored at", "stored", "rerun", "diff",
            "every epoch's numbers (times and speeds aside)");
    for (int s = 0; s < k; s++)
        if (lines[s][0]) fprintf(out, "%s\n", lines[s]);
    fprintf(out, "%d rerun, %d the same, %d failed; %d differ at the stored revision%s\n", k - failed,
            k - failed - differ_same_rev, failed, differ_same_rev,
            differ_same_rev ? ": the build does not reproduce its own results" : "");
    free(paths);
    free(lines);
    if (bad) log_error("verify %s: %d run file%s under %s cannot be read (named above)", d->name, bad,
                       bad == 1 ? "" : "s", stored);
    return differ_same_rev || failed || bad ? 1 : 0;
}
