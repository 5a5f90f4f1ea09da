/* engine/run/run.c — one run on disk (run.h). */
#include "run.h"

#include <ctype.h>    // isalnum: run reference names
#include <errno.h>    // errno
#include <omp.h>      // omp_get_max_threads: the run file's threads
#include <signal.h>   // sigaction: SIGINT, SIGTERM stop a run after its step
#include <stdio.h>    // snprintf
#include <stdlib.h>   // free
#include <string.h>   // strcmp, strerror
#include <sys/stat.h> // mkdir
#include <time.h>     // clock_gettime: a second signal
#include <unistd.h>   // unlink, access

#include "../io/weights.h" // weights_recipe: a teacher checkpoint's knobs
#include "recipe.h"
#include "revision.h" // REPRO_REVISION: written by the Makefile into build/
#ifdef HAVE_HDF5
#include "../io/runfile.h"
#endif

void run_git_revision(char out[64])
{
    snprintf(out, 64, "%s", REPRO_REVISION);
}

int run_make_dirs(const char *dir)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                log_error("results folder %s: cannot create %s (%s)", dir, buf, strerror(errno));
                return ERR_IO;
            }
            *p = c;
        }
        if (!c) break;
    }
    return 0;
}

// ---- run references (run.h) -------------------------------------------------------------------

bool run_ref_char(char ch) { return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.'; }

// the fields a reference may stand in: the start weights, the teachers' files
typedef struct { const char *key; char *s; size_t cap; } RefField;
static int ref_fields(TrainConfig *c, RefField f[2])
{
    f[0] = (RefField){"model.weights", c->weights, sizeof c->weights};
    f[1] = (RefField){"distill.teachers", c->distill.teachers, sizeof c->distill.teachers};
    return 2;
}

// whether s (inside field value v) starts a reference: an '@' that begins the value or a teacher's
// file (after "name:" and spaces); an '@' elsewhere is part of a path
static bool ref_at(const char *v, const char *s)
{
    if (*s != '@') return false;
    while (s > v && s[-1] == ' ') s--;
    return s == v || s[-1] == ':' || s[-1] == ',';
}

// the reference starting at s[0] = '@': its length with the '@', or 0 (said) when it is not
// "@NAME" ending at the end, a comma or a space
static size_t ref_len(const char *key, const char *value, const char *s)
{
    size_t n = 1;
    while (run_ref_char(s[n])) n++;
    if (n == 1 || n > 127 || (s[n] && s[n] != ',' && s[n] != ' ')) {
        log_error("recipe: %s = '%s': '%.*s' is not a run reference (@NAME: a run's name in the results folder, "
                  "letters, digits, '_', '-', '.', at most 126 of them)", key, value, (int)strcspn(s, ", "), s);
        return 0;
    }
    return n;
}

int run_refs(const TrainConfig *c, char (*names)[128], int max)
{
    RefField f[2];
    int nf = ref_fields((TrainConfig *)c, f), n = 0;
    for (int i = 0; i < nf; i++)
        for (const char *s = f[i].s; *s; s++) {
            if (!ref_at(f[i].s, s)) continue;
            size_t len = ref_len(f[i].key, f[i].s, s);
            if (!len) return ERR_FORMAT;
            if (n < max) snprintf(names[n], 128, "%.*s", (int)len - 1, s + 1);
            n++;
            s += len - 1;
        }
    return n;
}

int run_resolve_refs(TrainConfig *c, const char *refs)
{
    RefField f[2];
    int nf = ref_fields(c, f);
    for (int i = 0; i < nf; i++) {
        char out[2048] = "";
        size_t at = 0; // characters of the rewritten value (written while they fit)
        bool any = false;
        for (const char *s = f[i].s; *s;) {
            if (!ref_at(f[i].s, s)) {
                if (at + 1 < sizeof out) out[at] = *s;
                at++, s++;
                continue;
            }
            size_t len = ref_len(f[i].key, f[i].s, s);
            if (!len) return ERR_FORMAT;
            char name[128], path[1200], status[32] = "";
            snprintf(name, sizeof name, "%.*s", (int)len - 1, s + 1);
            if (snprintf(path, sizeof path, "%s/%s.safetensors", refs, name) >= (int)sizeof path) {
                log_error("recipe: %s: run %s in %s: the path is longer than %zu characters", f[i].key, name, refs,
                          sizeof path - 1);
                return ERR_FORMAT;
            }
#ifdef HAVE_HDF5
            char h5[1200];
            snprintf(h5, sizeof h5, "%s/%s.h5", refs, name);
            int st = runfile_read_status(h5, status, sizeof status);
            if (st == ERR_IO && access(h5, F_OK)) snprintf(status, sizeof status, "no run file");
            else if (st || !status[0]) snprintf(status, sizeof status, "unreadable (above)");
#else
            snprintf(status, sizeof status, "done");
#endif
            if (strcmp(status, "done") || access(path, R_OK)) {
                log_error("recipe: %s = '%s': run %s in %s is %s%s: train it first (a study trains the runs "
                          "its points refer to before them)", f[i].key, f[i].s, name, refs,
                          strcmp(status, "done") ? "not done: " : "done but ", strcmp(status, "done") ? status :
                          "its checkpoint is missing");
                return ERR_IO;
            }
            size_t pl = strlen(path);
            if (at + pl < sizeof out) memcpy(out + at, path, pl + 1);
            at += pl, s += len, any = true;
        }
        if (!any) continue;
        if (at >= f[i].cap || at >= sizeof out) {
            log_error("recipe: %s: the paths its run references stand for make it %zu characters, more than its %zu",
                      f[i].key, at, f[i].cap - 1);
            return ERR_FORMAT;
        }
        out[at] = 0;
        memcpy(f[i].s, out, at + 1);
    }
    return 0;
}

int run_teacher_knobs(TrainConfig *c)
{
    char names[DISTILL_MAX_TEACHERS][64], files[DISTILL_MAX_TEACHERS][512];
    int n = distill_teacher_names(&c->distill, names, files, DISTILL_MAX_TEACHERS);
    if (n < 0) return n;
    for (int i = 0; i < n; i++) {
        char *text = NULL;
        c->distill.has_knobs[i] = false;
        if (access(files[i], R_OK)) continue; // the trainer names a missing file
        int rc = weights_recipe(files[i], &text);
        if (rc) return rc;
        if (!text) continue; // a timm state dict: the model as named
        TrainConfig t;
        FILE *needs = fopen("/dev/null", "w"); // what this build lacks to train it does not matter here
        rc = recipe_parse(&t, files[i], text, 0, NULL, needs);
        if (needs) fclose(needs);
        free(text);
        if (rc) {
            log_error("distill.teachers: teacher %s: the recipe stored in %s does not load (above)", names[i], files[i]);
            return ERR_FORMAT;
        }
        if (strcmp(t.model, names[i])) {
            log_error("distill.teachers: teacher %s: %s is a checkpoint of %s, not of %s (name the model its run "
                      "trained: %s:%s)", names[i], files[i], t.model, names[i], t.model, files[i]);
            return ERR_FORMAT;
        }
        c->distill.knobs[i] = t.net;
        c->distill.has_knobs[i] = true;
    }
    return 0;
}

#ifdef HAVE_HDF5
// what an existing run file means for this run (s->mode); 0 train (*existed: there is a file of
// this run to resume or replace), 1 an error (said), 2 done already (said unless quiet)
static int check_existing(const RunSpec *s, const RunOutcome *o, const char *name, bool *existed)
{
    bool force = s->mode == RUN_FORCE, resume = s->mode == RUN_RESUME || s->mode == RUN_CONTINUE;
    char id[64], status[32];
    *existed = runfile_read_status(o->path, status, sizeof status) != ERR_IO;
    if (*existed && !status[0] && !force) return 1; // unreadable: said why; force replaces it
    if (*existed && !force && runfile_read_attr(o->path, "run_id", id, sizeof id) == 0 && strcmp(id, o->run_id)) {
        log_error("run %s: %s holds run %s, another configuration than this one (%s): move or delete it "
                  "(and its .safetensors) to run this one",
                  name, o->path, id, o->run_id);
        return 1;
    }
    if (*existed && s->mode == RUN_NEW) {
        log_error("train: %s exists (status %s): --resume continues it, --force starts it over", o->path, status);
        return 1;
    }
    if (*existed && resume && !strcmp(status, "done")) {
        if (!s->quiet) printf("train: %s is done already; nothing to resume (--force starts it over)\n", o->path);
        return 2;
    }
    return 0;
}

typedef struct { const char *path; RunMeta meta; int epochs_written; } RunOut;

// the trainer's epoch hook: the whole run file again
static int write_run(const TrainResult *r, void *user)
{
    RunOut *o = user;
    o->epochs_written = r->n_epochs;
    o->meta.status = r->status;
    o->meta.started = r->started;
    o->meta.segments = r->segments ? r->segments : "";
    o->meta.params = r->params;
    o->meta.macs = r->macs;
    if (r->device[0]) o->meta.device = r->device;
    return runfile_write(o->path, &o->meta, r->epochs, r->n_epochs, &r->final);
}
#endif

// SIGINT / SIGTERM during a run: the first stops it after its current step (train_interrupt: status
// interrupted, resumable); one more, a second or more later, is not waited for (copies of the
// first that arrive together, as Slurm signals every process of a step and a runner forwards, are
// the same request)
static struct timespec first_signal;
static void on_signal(int sig)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (train_interrupt && (now.tv_sec - first_signal.tv_sec) * 1000000000L + (now.tv_nsec - first_signal.tv_nsec) >
                               1000000000L) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    if (!train_interrupt) first_signal = now;
    train_interrupt = 1;
}

// run_train with c's resolved recipe text
static int train_text(TrainConfig *c, const char *text, const char *source, const RunSpec *s, RunOutcome *o)
{
    memset(o, 0, sizeof *o);
    // data-parallel ranks (c->comm): rank 0 alone checks and writes the run file, and tells the
    // others whether to train (verdict: 0 train, 1 failed, 2 done already)
    Comm one = {COMM_SINGLE, 0, 1, 0, 1, "1 process", 0}, *comm = c->comm ? c->comm : &one;
    bool lead = comm->rank == 0;
    int verdict = 0;
    if (!s->quiet && lead) printf("# resolved recipe (%s)\n%s\n", source, text);
    char rev[64];
    recipe_run_id(c, o->run_id);
    run_git_revision(rev);
    if (lead && run_make_dirs(s->dir)) verdict = 1;
    const char *name = s->name ? s->name : o->run_id;
    snprintf(o->path, sizeof o->path, "%s/%s.h5", s->dir, name);
    snprintf(c->run_id, sizeof c->run_id, "%s", o->run_id);
    c->recipe = text; // into the checkpoint: eval scores its weights as this run did
    snprintf(c->checkpoint, sizeof c->checkpoint, "%s/%s.safetensors", s->dir, name);
    bool resume = s->mode == RUN_RESUME || s->mode == RUN_CONTINUE;
    c->resume = resume;
#ifdef HAVE_HDF5
    bool force = s->mode == RUN_FORCE, existed = false;
    char host[128] = "?";
    if (gethostname(host, sizeof host)) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = 0;
    if (lead && !verdict) verdict = check_existing(s, o, name, &existed);
    // run references: the recipe text and run id above keep "@NAME"; training reads the paths (a run
    // done already needs none of them)
    if (lead && !verdict && (run_resolve_refs(c, s->refs ? s->refs : s->dir) || run_teacher_knobs(c))) verdict = 1;
    RunOut out = {o->path,
                  {.study = s->study, .run_id = o->run_id, .tier = s->tier, .label = s->label ? s->label : "",
                   .git_revision = rev, .backend = c->backend, .device = c->backend, .recipe = text,
                   .seed = c->seed, .model = c->model, .train_res = prog_train_res(&c->prog, c->res),
                   .eval_res = c->res, .started = "", .host = host, .segments = "",
                   .threads = omp_get_max_threads()},
                  0};
    // a first file (status running, no epochs) proves the folder is writable before any work; a
    // resumed run keeps its file until its first new epoch rewrites it
    TrainResult empty = {.status = "running"};
    if (lead && !verdict) {
        if (force) unlink(c->checkpoint);
        if (!(existed && resume) && write_run(&empty, &out)) verdict = 1;
        else if (!s->quiet) printf("run file: %s (run id %s, revision %s)\n", o->path, o->run_id, rev);
    }
    TrainHook hook = lead ? write_run : NULL;
    void *hook_user = &out;
#else
    if (!s->quiet && lead) printf("run file: none (built without HDF5: run make deps)\n");
    if (lead && (run_resolve_refs(c, s->refs ? s->refs : s->dir) || run_teacher_knobs(c))) verdict = 1;
    TrainHook hook = NULL;
    void *hook_user = NULL;
#endif
    if (comm_broadcast(comm, &verdict, sizeof verdict, 0)) verdict = 1;
    if (verdict == 2) {
        snprintf(o->status, sizeof o->status, "skipped");
        return 0;
    }
    if (verdict) return 1;
    if (!lead && (run_resolve_refs(c, s->refs ? s->refs : s->dir) || run_teacher_knobs(c))) {
        snprintf(o->status, sizeof o->status, "failed"); // run_train_ranks ends every rank
        return 1;
    }
    TrainResult r;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    train_interrupt = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int trc = train_run(c, &r, hook, hook_user);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (trc) {
#ifdef HAVE_HDF5
        // no file that looks valid stays behind: none before the first epoch, "failed" after
        if (lead && (out.epochs_written || (existed && resume))) runfile_set_status(o->path, "failed");
        else if (lead) unlink(o->path);
#endif
        snprintf(o->status, sizeof o->status, "failed");
        return 1;
    }
    snprintf(o->status, sizeof o->status, "%s", r.status);
    o->top1 = r.n_epochs ? r.epochs[r.n_epochs - 1].eval_top1 : 0;
    o->best_top1 = r.final.best_top1;
    o->wall_s = r.final.wall_s;
    o->epochs = r.n_epochs;
    printf("train: %s after %d epochs in %.0f s: final top-1 %.2f%%, best %.2f%% (epoch %d)%s\n", r.status,
           r.n_epochs, r.final.wall_s, o->top1, r.final.best_top1, r.final.best_epoch,
           !strcmp(r.status, "interrupted") && r.n_epochs ? "; --resume continues it" : "");
    int rc = strcmp(r.status, "done") ? 1 : 0;
    train_result_free(&r);
    return rc;
}

int run_train(TrainConfig *c, const char *source, const RunSpec *s, RunOutcome *o)
{
    char *text = recipe_text(c);
    int rc = train_text(c, text, source, s, o);
    free(text);
    return rc;
}

int run_train_ranks(TrainConfig *c, const char *source, const RunSpec *s, RunOutcome *o)
{
    Comm comm;
    if (comm_init(&comm)) {
        memset(o, 0, sizeof *o);
        snprintf(o->status, sizeof o->status, "failed");
        return 1;
    }
    if (comm.world > 1) {
        if (comm.rank == 0)
            printf("train: data-parallel over %d ranks (%s), %d threads each; train.batch %d = %d per rank\n",
                   comm.world, comm.desc, omp_get_max_threads(), c->batch, c->batch / comm.world);
        else if (!freopen("/dev/null", "w", stdout))
            log_error("train: rank %d: cannot silence its output (%s)", comm.rank, strerror(errno));
        c->comm = &comm;
    }
    int rc = run_train(c, source, s, o);
    fflush(stdout);
    if (comm.world > 1 && !strcmp(o->status, "failed")) { // maybe on this rank alone: end them all
        log_error("train: rank %d of %d failed (above): ending every rank", comm.rank, comm.world);
        comm_abort(&comm, 1);
    }
    c->comm = NULL;
    comm_free(&comm);
    return rc;
}
