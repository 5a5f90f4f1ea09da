/* engine/io/export.c — run files as CSV (export.h). */
#include "export.h"

#include <csv.h>     // csv_fwrite: quoted fields
#include <dirent.h>  // opendir
#include <errno.h>   // errno
#include <math.h>    // isnan, NAN, sqrt
#include <stdlib.h>  // qsort
#include <string.h>  // strcmp

#include "atomic.h"

double run_col_mean(const RunRecord *r, const char *name)
{
    int j = run_col(r, name);
    if (j < 0 || !r->n_rows) return NAN;
    double s = 0;
    for (int i = 0; i < r->n_rows; i++) s += r->rows[(size_t)i * r->n_cols + j];
    return s / r->n_rows;
}

static bool put_str(FILE *f, const char *s, bool last)
{
    return csv_fwrite(f, s, strlen(s)) == 0 && fputc(last ? '\n' : ',', f) != EOF;
}

// a number as its shortest exact text ("" for NAN)
static bool put_num(FILE *f, double v, bool last)
{
    if (!isnan(v) && fprintf(f, "%.8g", v) < 0) return false;
    return fputc(last ? '\n' : ',', f) != EOF;
}

int export_run_csv(const char *h5, const char *csv)
{
    RunRecord r;
    int rc = runfile_read(h5, &r);
    if (rc) return rc;
    AtomicFile a;
    if ((rc = atomic_open(&a, csv, "csv file"))) {
        runfile_record_free(&r);
        return rc;
    }
    bool ok = true;
    for (int j = 0; j < r.n_cols; j++) ok = ok && put_str(a.f, r.cols[j], j == r.n_cols - 1);
    for (int i = 0; i < r.n_rows; i++)
        for (int j = 0; j < r.n_cols; j++) ok = ok && put_num(a.f, r.rows[(size_t)i * r.n_cols + j], j == r.n_cols - 1);
    runfile_record_free(&r);
    return atomic_close(&a, ok);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// the value of data.dataset in the run's stored recipe (the resolved text: "[data]" then
// "dataset = NAME"), "" when it has none
static void run_dataset(const RunRecord *r, char *out, size_t cap)
{
    out[0] = 0;
    const char *sec = r->recipe ? strstr(r->recipe, "[data]\n") : NULL;
    for (const char *l = sec; l && *l;) {
        l += strcspn(l, "\n");
        l += *l == '\n';
        if (*l == '[') return; // the next section
        if (!strncmp(l, "dataset", 7)) {
            const char *v = l + 7 + strspn(l + 7, " =");
            size_t n = strcspn(v, " #\n");
            snprintf(out, cap, "%.*s", (int)MIN(n, cap - 1), v);
            return;
        }
    }
}

// one summary row (SUMMARY_COLS) of run file `file` (its name within the folder)
static bool summary_row(FILE *f, const char *file, const RunRecord *r)
{
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    const char *s[] = {file, r->study, r->tier, r->label, seed, r->run_id, r->status, r->git_revision, r->model};
    bool ok = true;
    for (int i = 0; i < LEN(s); i++) ok = ok && put_str(f, s[i], false);
    double v[] = {(double)r->params, (double)r->macs, r->train_res, r->n_rows, run_final(r, "top1"),
                  run_final(r, "top5"), run_final(r, "best_top1"), run_final(r, "best_epoch"),
                  run_final(r, "ema_top1"), run_final(r, "top1_reparam"), run_col_mean(r, "img_per_s"),
                  run_final(r, "wall_s")};
    for (int i = 0; i < LEN(v); i++) ok = ok && put_num(f, v[i], false);
    char threads[16] = "";
    if (r->threads > 0) snprintf(threads, sizeof threads, "%d", r->threads);
    char dataset[64];
    run_dataset(r, dataset, sizeof dataset);
    const char *t[] = {r->device, r->started, r->updated, r->host, threads, dataset};
    for (int i = 0; i < LEN(t); i++) ok = ok && put_str(f, t[i], i == LEN(t) - 1);
    return ok;
}

// DIR/points.csv: the done runs of each (tier, label), over their seeds (POINTS_COLS)
static int by_point(const void *a, const void *b)
{
    const RunRecord *x = a, *y = b;
    int c = strcmp(x->study, y->study);
    if (!c) c = strcmp(x->tier, y->tier);
    return c ? c : strcmp(x->label, y->label);
}

static bool put_stat(FILE *f, const double *v, int n)
{
    double m = 0, sq = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) sq += (v[i] - m) * (v[i] - m);
    return put_num(f, m, false) && put_num(f, n > 1 ? sqrt(sq / (n - 1)) : NAN, false);
}

static int write_points(const char *dir, RunRecord *recs, int n)
{
    RunRecord *r = xcalloc((size_t)(n ? n : 1), sizeof *r);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(recs[i].status, "done") && recs[i].label[0]) r[m++] = recs[i]; // a study's points; shallow copies
    qsort(r, (size_t)m, sizeof *r, by_point);
    char path[1200];
    snprintf(path, sizeof path, "%s/points.csv", dir);
    AtomicFile a;
    int rc = atomic_open(&a, path, "csv file");
    if (rc) {
        free(r);
        return rc;
    }
    bool ok = fputs(POINTS_COLS "\n", a.f) >= 0;
    double *t1 = xcalloc((size_t)(m ? m : 1), sizeof *t1), *bt = xcalloc((size_t)(m ? m : 1), sizeof *bt);
    double *wall = xcalloc((size_t)(m ? m : 1), sizeof *wall);
    for (int i = 0; i < m;) {
        int j = i, k = 0;
        for (; j < m && !by_point(&r[i], &r[j]); j++, k++) {
            t1[k] = run_reported_top1(&r[j]);
            bt[k] = run_final(&r[j], "best_top1");
            wall[k] = run_final(&r[j], "wall_s");
        }
        char count[16];
        snprintf(count, sizeof count, "%d", k);
        ok = ok && put_str(a.f, r[i].tier, false) && put_str(a.f, r[i].label, false) && put_str(a.f, r[i].model, false);
        ok = ok && put_str(a.f, count, false) && put_stat(a.f, t1, k) && put_stat(a.f, bt, k) && put_stat(a.f, wall, k);
        ok = ok && put_num(a.f, (double)r[i].macs, false) && put_num(a.f, (double)r[i].params, false);
        ok = ok && put_num(a.f, r[i].train_res, false) && put_num(a.f, r[i].n_rows, false);
        char dataset[64];
        run_dataset(&r[i], dataset, sizeof dataset);
        ok = ok && put_str(a.f, r[i].study, false) && put_str(a.f, dataset, true);
        i = j;
    }
    free(t1);
    free(bt);
    free(wall);
    free(r);
    return atomic_close(&a, ok);
}

int export_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("export: cannot open folder %s (%s)", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 3 && !strcmp(e->d_name + len - 3, ".h5")) {
            names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
            names[n] = xcalloc(len + 1, 1);
            memcpy(names[n++], e->d_name, len);
        }
    }
    closedir(d);
    if (!n) {
        log_error("export: %s holds no run files (*.h5)", dir);
        free(names);
        return -1;
    }
    qsort(names, (size_t)n, sizeof *names, by_name);
    // every file read first: one that cannot be read (damaged, truncated, not a run file) leaves
    // summary.csv as it was, so a figure never silently loses a run
    RunRecord *recs = xcalloc((size_t)n, sizeof *recs);
    char path[1200], csv[1200];
    int bad = 0, written = -1;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (runfile_read(path, &recs[i])) bad++; // named
    }
    if (bad) {
        log_error("export: %d of the %d run files in %s cannot be read (above); %s/summary.csv is left as it "
                  "was. Restore them (git checkout -- FILE for committed results), or delete them and run them "
                  "again (repro train --force; a study: --only LABEL --force)", bad, n, dir, dir);
    } else {
        snprintf(path, sizeof path, "%s/summary.csv", dir);
        AtomicFile a;
        if (atomic_open(&a, path, "csv file") == 0) {
            bool ok = fputs(SUMMARY_COLS "\n", a.f) >= 0;
            written = 0;
            for (int i = 0; i < n; i++) {
                ok = ok && summary_row(a.f, names[i], &recs[i]);
                snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                snprintf(csv, sizeof csv, "%s/%.*s.csv", dir, (int)strlen(names[i]) - 3, names[i]);
                if (export_run_csv(path, csv) == 0) written++;
                else ok = false;
            }
            if (atomic_close(&a, ok)) written = -1;
        }
        if (written >= 0 && write_points(dir, recs, n)) written = -1;
    }
    for (int i = 0; i < n; i++) runfile_record_free(&recs[i]);
    free(recs);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return written;
}
