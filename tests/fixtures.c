/* tests/fixtures.c — reading the reference fixtures (tests/ref, see fixtures.h). */
#include <math.h>   // fabs, fmax
#include <stdio.h>  // fopen, fread
#include <string.h> // memcmp, strcmp

#include <errno.h>    // errno, EINTR
#include <signal.h>   // kill, SIGKILL
#include <stdlib.h>   // atol
#include <sys/wait.h> // waitpid
#include <time.h>     // clock_gettime, nanosleep
#include <unistd.h>   // fork, pipe, access

#include "core/rng.h"
#include "fixtures.h"
#include "io/safetensors.h" // st_read: fixture_same_checkpoint

void fixtures_free(Fixtures *fx)
{
    for (int i = 0; i < fx->count; i++) free(fx->t[i].data);
    free(fx->t);
    fx->t = NULL;
    fx->count = 0;
}

int fixtures_load(Fixtures *fx, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { log_error("cannot open fixtures %s (regenerate with make fixtures)", path); return ERR_IO; }
    char magic[4];
    uint32_t ver, count;
    int rc = ERR_FORMAT;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "OPFX", 4) || fread(&ver, 4, 1, f) != 1 ||
        ver != 1 || fread(&count, 4, 1, f) != 1 || count > 100000) {
        log_error("%s: not an OPFX version 1 fixture file", path);
        goto out;
    }
    fx->t = xcalloc(count, sizeof *fx->t);
    for (fx->count = 0; fx->count < (int)count; fx->count++) {
        FixTensor *t = &fx->t[fx->count];
        uint32_t len, ndim, dim;
        if (fread(&len, 4, 1, f) != 1 || len >= sizeof t->name || fread(t->name, 1, len, f) != len ||
            fread(&ndim, 4, 1, f) != 1 || ndim > 8) {
            log_error("%s: tensor %d: bad header", path, fx->count);
            goto out;
        }
        t->n = 1;
        for (uint32_t i = 0; i < ndim; i++) {
            if (fread(&dim, 4, 1, f) != 1) { log_error("%s: %s: truncated dims", path, t->name); goto out; }
            t->n *= dim;
        }
        t->data = xmalloc(t->n * sizeof(float));
        if (fread(t->data, sizeof(float), t->n, f) != t->n) {
            log_error("%s: %s: truncated data (%zu floats expected)", path, t->name, t->n);
            goto out;
        }
    }
    rc = 0;
out:
    fclose(f);
    if (rc) {
        if (fx->t && fx->count < (int)count) free(fx->t[fx->count].data); // the half-read one
        fixtures_free(fx);
    }
    return rc;
}

const FixTensor *fixture_find(const Fixtures *fx, const char *cs, const char *tensor)
{
    char key[192];
    snprintf(key, sizeof key, "%s/%s", cs, tensor);
    for (int i = 0; i < fx->count; i++)
        if (strcmp(fx->t[i].name, key) == 0) return &fx->t[i];
    return NULL;
}


double max_rel_err(const float *got, const float *want, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)got[i] - want[i]));
        m = fmax(m, fabs((double)want[i]));
    }
    return m > 0 ? e / m : e;
}

// ---------------------------------------------------------------------------------------------

uint64_t fixture_fnv1a(const char *s)
{
    return fnv1a(s, strlen(s), FNV_SEED);
}

// the four draws of Philox block j>>2 of stream (key, hi) at once: rng_uniform(key, hi, j..j+3)
static void uniform4(uint64_t key, uint64_t hi, size_t j, double u[4])
{
    Philox4 b = rng_block(key, hi, j >> 2);
    for (int k = 0; k < 4; k++) u[k] = rng_u01(b.v[k]);
}

void fixture_param(const ParamInfo *pi, float *w)
{
    uint64_t stream = fixture_fnv1a(pi->name);
    size_t fan_in = pi->numel / (size_t)pi->dims[0], len = strlen(pi->name);
#define ENDS(suffix) (len >= strlen(suffix) && strcmp(pi->name + len - strlen(suffix), suffix) == 0)
    enum { CONV, MEAN, GAMMA, OTHER } kind = pi->ndim >= 2 ? CONV // conv, linear
        : ENDS(".running_mean") ? MEAN
        : ENDS(".running_var") || ENDS(".weight") ? GAMMA         // and BN gamma
        : OTHER;                                                  // BN beta, biases
#undef ENDS
    double scale = sqrt(3.0 / (double)fan_in);
    for (size_t j = 0; j < pi->numel; j += 4) {
        double u[4];
        uniform4(FIX_WEIGHT_KEY, stream, j, u);
        for (size_t k = 0; k < 4 && j + k < pi->numel; k++) {
            double v = kind == CONV ? (2 * u[k] - 1) * scale
                     : kind == MEAN ? (2 * u[k] - 1) * 0.2
                     : kind == GAMMA ? 0.5 + u[k]
                     : (2 * u[k] - 1) * 0.3;
            w[j + k] = (float)v;
        }
    }
}

void fixture_uniform(uint64_t key, uint64_t stream, size_t n, float *x)
{
    for (size_t j = 0; j < n; j += 4) {
        double u[4];
        uniform4(key, stream, j, u);
        for (size_t k = 0; k < 4 && j + k < n; k++) x[j + k] = (float)(2 * u[k] - 1);
    }
}

void fixture_signature(const float *g, size_t n, float sig[5])
{
    double acc[5] = {0};
    for (size_t j = 0; j < n; j += 4) {
        double r[4][4];
        for (int k = 0; k < 4; k++) uniform4(FIX_SIG_KEY, (uint64_t)k, j, r[k]);
        for (size_t i = 0; i < 4 && j + i < n; i++) {
            acc[0] += (double)g[j + i] * g[j + i];
            for (int k = 0; k < 4; k++) acc[1 + k] += (double)g[j + i] * (2.0 * r[k][i] - 1);
        }
    }
    sig[0] = (float)sqrt(acc[0]);
    for (int k = 0; k < 4; k++) sig[1 + k] = (float)acc[1 + k];
}

bool fixture_same_checkpoint(const char *a, const char *b)
{
    StFile fa, fb;
    if (st_read(&fa, a)) return false;
    if (st_read(&fb, b)) { st_free(&fa); return false; }
    bool same = fa.n == fb.n;
    for (int i = 0; same && i < fa.n; i++) {
        if (!strcmp(fa.e[i].name, "log.epochs")) continue; // timings differ, of course
        const StEntry *e = st_find(&fb, fa.e[i].name);
        same = e && e->end - e->begin == fa.e[i].end - fa.e[i].begin &&
               memcmp(fa.data + fa.e[i].begin, fb.data + e->begin, e->end - e->begin) == 0;
        if (!same) fprintf(stderr, "checkpoints %s and %s: tensor %s differs\n", a, b, fa.e[i].name);
    }
    st_free(&fa);
    st_free(&fb);
    return same;
}

long fixture_ckpt_meta(const char *path, const char *key)
{
    StFile f;
    if (st_read(&f, path)) return -1;
    const char *v = st_meta(&f, key);
    long x = v ? atol(v) : -1;
    st_free(&f);
    return x;
}

double fixture_now(void) { return time_now(); }

pid_t fixture_fork_held(int *go)
{
    int fds[2];
    if (pipe(fds)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char c;
        ssize_t got;
        while ((got = read(fds[0], &c, 1)) < 0 && errno == EINTR) continue;
        close(fds[0]);
        if (got != 1) _exit(2); // the test ended without releasing it
        return 0;
    }
    close(fds[0]);
    *go = fds[1];
    return pid;
}

void fixture_release(int go)
{
    ssize_t n = write(go, "g", 1);
    (void)n;
    close(go);
}

int fixture_kill_after(pid_t pid, const char *path, double delay_s, double frac, double timeout_s)
{
    struct timespec poll = {0, 2000000};
    int st = 0;
    double t0 = fixture_now();
    while (access(path, F_OK) != 0 && fixture_now() - t0 < timeout_s) {
        if (waitpid(pid, &st, WNOHANG) == pid) return st; // ended on its own
        nanosleep(&poll, NULL);
    }
    delay_s += frac * (fixture_now() - t0);
    struct timespec d = {(time_t)delay_s, (long)((delay_s - (double)(time_t)delay_s) * 1e9)};
    nanosleep(&d, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return st;
}
