/* engine/cli/cmd_results.c — stored results: `repro check` (published vs reproduced, the studies'
 * claims: studies/lib/check.c) and `repro export RUN.h5 | DIR` (run files as CSV: io/export.h).
 * Both read HDF5 run files: a build without HDF5 says so.
 */
#include <stdio.h>    // printf
#include <string.h>   // strcmp, strlen
#include <sys/stat.h> // stat: export RUN.h5 | DIR

#include "cli.h"
#ifdef HAVE_HDF5
#include "io/export.h"         // export_dir, export_run_csv
#include "studies/lib/study.h" // study_check_all
#endif

// export's first argument when it names run files (RUN.h5, or a folder): their CSV, and the exit
// status; -1 when it names none (then it is a model's name: cmd_model.c)
int cli_export_runs(const char *what)
{
    size_t len = strlen(what);
    struct stat st;
    bool dir = stat(what, &st) == 0 && S_ISDIR(st.st_mode), h5 = len > 3 && !strcmp(what + len - 3, ".h5");
    if (!dir && !h5) return -1;
#ifdef HAVE_HDF5
    if (dir) {
        int n = export_dir(what);
        if (n < 0) return 1;
        printf("export: %d runs of %s -> %s/summary.csv and one <run>.csv each\n", n, what, what);
        return 0;
    }
    char csv[1100];
    snprintf(csv, sizeof csv, "%.*s.csv", (int)len - 3, what);
    if (export_run_csv(what, csv)) return 1;
    printf("export: %s -> %s\n", what, csv);
    return 0;
#else
    log_error("export %s: run files are HDF5, and this build has no HDF5 (run make deps)", what);
    return 1;
#endif
}

static int usage_check(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s check [--published FILE] [--results DIR] [--all]\n"
               "  published vs reproduced: for each row of FILE (default results/published.csv) with\n"
               "  stored runs of its tier in DIR/<study>/ (default DIR results): published, reproduced\n"
               "  (mean +- std over seeds), difference, tolerance (the row's plus twice the seeds' std),\n"
               "  verdict (rows with tolerance - are shown beside, not judged); the rows no study\n"
               "  reproduces, counted per paper (--all: listed); then every study's claims on\n"
               "  its stored runs: supported / CONTRADICTED (Welch's t-test of the seeds, 5%%) /\n"
               "  inconclusive / not run, with the numbers. Exit status 1 when a reproduction is outside\n"
               "  its tolerance or a run file cannot be read (claims are reported, not enforced); 2 on a\n"
               "  bad published table.\n", prog);
    return f == stdout ? 0 : 2;
}

int cmd_check(int argc, char **argv, const char *prog)
{
    const char *published = "results/published.csv", *results = "results";
    bool all = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--all")) all = true;
        else if (!strcmp(argv[i], "--published") && i + 1 < argc) published = argv[++i];
        else if (!strcmp(argv[i], "--results") && i + 1 < argc) results = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_check(stdout, prog);
        else {
            log_error("check: unknown or incomplete argument '%s'", argv[i]);
            return usage_check(stderr, prog);
        }
    }
#ifdef HAVE_HDF5
    return study_check_all(published, results, all, stdout);
#else
    log_error("check: the results are HDF5 run files, and this build has no HDF5 (run make deps)");
    return 1;
#endif
}

// ---------------------------------------------------------------------------------------------
// verify: a study's rerun vs its stored results vs the published numbers

static int usage_verify(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s verify STUDY [--tier smoke|cpu|paper] [--rerun DIR] [--stored DIR] [--published FILE]\n"
               "       %s verify STUDY --sample K [--tier T] [--stored DIR] [--scratch DIR]\n"
               "  compares a rerun of STUDY (run files in DIR, default runs/STUDY: where make study trains)\n"
               "  with its stored results (default results/STUDY, the committed ones) and the published\n"
               "  numbers (default results/published.csv) at tier T (default cpu): per grid point, the\n"
               "  top-1 of both (mean +- std over seeds), their difference and whether it is within the\n"
               "  seeds' spread, and the published number where the paper has one at this tier. Exit\n"
               "  status 0; 1 when DIR holds no done run of the tier or a run file cannot be read; 2 on\n"
               "  usage (an unknown study or tier).\n"
               "  --sample K: trains K of the stored runs again with this build (spread over them in name\n"
               "  order; each from the resolved recipe its run file holds, into DIR, default\n"
               "  runs/verify/STUDY) and prints, per run, the stored and rerun top-1, their difference and\n"
               "  whether every epoch's numbers are the same (0 for a deterministic rerun), with the\n"
               "  revision that stored it. Exit status 1 when a run stored at this very revision does not\n"
               "  come out the same, a rerun fails or a run file cannot be read.\n", prog, prog);
    return f == stdout ? 0 : 2;
}

int cmd_verify(int argc, char **argv, const char *prog)
{
    const char *study = NULL, *tier = "cpu", *rerun = NULL, *stored = NULL, *published = "results/published.csv";
    const char *scratch = NULL;
    int sample = 0;
    for (int i = 0; i < argc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--tier") && has) tier = argv[++i];
        else if (!strcmp(argv[i], "--scratch") && has) scratch = argv[++i];
        else if (!strcmp(argv[i], "--sample") && has) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 100000) {
                log_error("verify: --sample '%s': expected a number of runs, 1 or more", argv[i]);
                return 2;
            }
            sample = (int)v;
        }
        else if (!strcmp(argv[i], "--rerun") && has) rerun = argv[++i];
        else if (!strcmp(argv[i], "--stored") && has) stored = argv[++i];
        else if (!strcmp(argv[i], "--published") && has) published = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_verify(stdout, prog);
        else if (argv[i][0] != '-' && !study) study = argv[i];
        else {
            log_error("verify: unknown or incomplete argument '%s'", argv[i]);
            return usage_verify(stderr, prog);
        }
    }
    if (!study) {
        log_error("verify: which study? (STUDY)");
        return usage_verify(stderr, prog);
    }
#ifdef HAVE_HDF5
    const StudyDef *d = NULL;
    char names[512] = "";
    for (int k = 0; study_registry[k]; k++) {
        if (!strcmp(study_registry[k]->name, study)) d = study_registry[k];
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", study_registry[k]->name);
    }
    if (!d) {
        log_error("verify: unknown study '%s' (valid: %s)", study, names);
        return 2;
    }
    int t = 0;
    while (t < N_TIERS && strcmp(tier, tier_name((TierId)t))) t++;
    if (t == N_TIERS) {
        log_error("verify: --tier '%s': expected smoke, cpu or paper", tier);
        return 2;
    }
    char rerun_dir[600], stored_dir[600], scratch_dir[600];
    snprintf(rerun_dir, sizeof rerun_dir, "%s", rerun ? rerun : "runs/");
    if (!rerun) snprintf(rerun_dir, sizeof rerun_dir, "runs/%s", study);
    snprintf(stored_dir, sizeof stored_dir, "%s", stored ? stored : "results/");
    if (!stored) snprintf(stored_dir, sizeof stored_dir, "results/%s", study);
    snprintf(scratch_dir, sizeof scratch_dir, "%s", scratch ? scratch : "runs/verify/");
    if (!scratch) snprintf(scratch_dir, sizeof scratch_dir, "runs/verify/%s", study);
    if (sample) return study_verify_sample(d, (TierId)t, stored_dir, sample, scratch_dir, stdout);
    if (scratch) {
        log_error("verify: --scratch goes with --sample");
        return 2;
    }
    return study_verify(d, (TierId)t, rerun_dir, stored_dir, published, stdout);
#else
    log_error("verify: the results are HDF5 run files, and this build has no HDF5 (run make deps)");
    return 1;
#endif
}
