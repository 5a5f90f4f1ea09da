/* tests/fixtures.c — reading the reference fixtures (tests/ref, see fixtures.h), and drawing the
 * weights that the larger model fixtures leave to both sides. */
#include <math.h>   // fabs, fmax, sqrt
#include <stdio.h>  // fopen, fread
#include <string.h> // memcmp, strcmp, strlen

#include "core/rng.h"
#include "fixtures.h"

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

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

void fixture_generate_param(const ParamInfo *pi, float *w)
{
    uint64_t stream = fnv1a(pi->name);
    size_t fan_in = pi->numel / (size_t)pi->dims[0];
    size_t len = strlen(pi->name);
#define ENDS(suffix) (len >= strlen(suffix) && strcmp(pi->name + len - strlen(suffix), suffix) == 0)
    for (size_t j = 0; j < pi->numel; j++) {
        double u = rng_uniform(FIXTURE_WEIGHT_KEY, stream, j), v;
        if (pi->ndim >= 2) v = (2 * u - 1) * sqrt(3.0 / (double)fan_in); // conv, linear
        else if (ENDS(".running_mean")) v = (2 * u - 1) * 0.2;
        else if (ENDS(".running_var") || ENDS(".weight")) v = 0.5 + u;   // and BN gamma
        else v = (2 * u - 1) * 0.3;                                       // BN beta, biases
        w[j] = (float)v;
    }
#undef ENDS
}

void fixture_gradient_signature(const float *g, size_t n, float sig[5])
{
    double acc[5] = {0};
    for (size_t j = 0; j < n; j++) {
        acc[0] += (double)g[j] * g[j];
        for (int k = 0; k < 4; k++)
            acc[1 + k] += (double)g[j] * (2.0 * rng_uniform(FIXTURE_SIG_KEY, k, j) - 1);
    }
    sig[0] = (float)sqrt(acc[0]);
    for (int k = 0; k < 4; k++) sig[1 + k] = (float)acc[1 + k];
}
