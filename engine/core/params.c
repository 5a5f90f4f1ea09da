/* engine/core/params.c — the parameter table of params.h. */
#include "params.h"

#include <stdio.h>  // snprintf
#include <string.h> // strcmp, strlen

static int declare(Params *p, const char *name, int ndim, const int *dims, bool decay, bool buffer)
{
    CHECK(!p->dev, "params_add '%s': the table is already allocated; declare every parameter "
          "before params_alloc", name);
    CHECK(name && strlen(name) < sizeof p->info[0].name,
          "params_add: name '%s' is longer than %zu characters", name ? name : "(null)",
          sizeof p->info[0].name - 1);
    CHECK(ndim >= 1 && ndim <= 4, "params_add '%s': ndim %d outside 1..4", name, ndim);
    CHECK(params_find(p, name) < 0, "params_add: parameter '%s' declared twice", name);
    if (p->count == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        ParamInfo *grown = realloc(p->info, (size_t)p->cap * sizeof *grown);
        CHECK(grown, "params_add: out of host memory growing the table to %d", p->cap);
        p->info = grown;
    }
    ParamInfo *pi = &p->info[p->count];
    memset(pi, 0, sizeof *pi);
    snprintf(pi->name, sizeof pi->name, "%s", name);
    pi->ndim = ndim;
    pi->numel = 1;
    for (int i = 0; i < ndim; i++) {
        CHECK(dims[i] > 0, "params_add '%s': dimension %d is %d, must be positive", name, i, dims[i]);
        pi->dims[i] = dims[i];
        pi->numel *= (size_t)dims[i];
    }
    pi->decay = decay;
    pi->buffer = buffer;
    pi->offset = p->total;
    p->total += (pi->numel + PARAMS_ALIGN - 1) / PARAMS_ALIGN * PARAMS_ALIGN;
    return p->count++;
}

int params_add(Params *p, const char *name, int ndim, const int *dims, bool decay)
{
    return declare(p, name, ndim, dims, decay, false);
}

int params_add_buffer(Params *p, const char *name, int ndim, const int *dims)
{
    return declare(p, name, ndim, dims, false, true);
}

int params_find(const Params *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->info[i].name, name) == 0) return i;
    return -1;
}

// roles ROLE_W .. ROLE_SLOT0 + n_slots - 1, less EMA without ema and gradients without grads
static int alloc_roles(Params *p, Dev *d, int n_slots, bool ema, bool grads)
{
    CHECK(!p->dev, "params_alloc: called twice");
    CHECK(n_slots >= 0 && n_slots <= 4, "params_alloc: %d optimizer slots (at most 4)", n_slots);
    p->dev = d;
    p->n_slots = n_slots;
    p->has_ema = ema;
    size_t bytes = (p->total ? p->total : PARAMS_ALIGN) * sizeof(float);
    for (int r = 0; r < ROLE_SLOT0 + n_slots; r++) {
        if ((r == ROLE_EMA && !ema) || (r == ROLE_GRAD && !grads)) continue;
        p->buf[r] = dev_alloc(d, bytes);
        dev_memset0(d, p->buf[r], bytes);
    }
    return 0;
}

int params_alloc(Params *p, Dev *d, int n_slots, bool ema) { return alloc_roles(p, d, n_slots, ema, true); }

int params_alloc_weights(Params *p, Dev *d) { return alloc_roles(p, d, 0, false, false); }

float *params_at(const Params *p, ParamRole role, int i)
{
    CHECK(i >= 0 && i < p->count, "params_at: index %d outside 0..%d", i, p->count - 1);
    CHECK((int)role < ROLE_SLOT0 + 4 && p->buf[role],
          "params_at '%s': role %d not allocated (slots %d, ema %d)", p->info[i].name, (int)role,
          p->n_slots, (int)p->has_ema);
    return p->buf[role] + p->info[i].offset;
}

// the role's host side: the buffer itself on host memory, else its host copy (NULL before a pull)
static float *host_side(const Params *p, ParamRole role)
{
    CHECK((int)role < ROLE_SLOT0 + 4 && p->buf[role], "params: role %d not allocated (slots %d, ema %d)",
          (int)role, p->n_slots, (int)p->has_ema);
    return p->dev->host ? p->buf[role] : p->host[role];
}

float *params_pull(Params *p, ParamRole role)
{
    float *h = host_side(p, role);
    if (p->dev->host) return h;
    if (!h) h = p->host[role] = xmalloc((p->total ? p->total : PARAMS_ALIGN) * sizeof(float));
    dev_download(p->dev, h, p->buf[role], p->total * sizeof(float));
    return h;
}

float *params_host(const Params *p, ParamRole role, int i)
{
    CHECK(i >= 0 && i < p->count, "params_host: index %d outside 0..%d", i, p->count - 1);
    float *h = host_side(p, role);
    CHECK(h, "params_host '%s': role %d has no host copy yet (params_pull first)", p->info[i].name, (int)role);
    return h + p->info[i].offset;
}

void params_push(Params *p, ParamRole role)
{
    if (p->dev->host) return;
    CHECK(p->host[role], "params_push: role %d was never pulled", (int)role);
    dev_upload(p->dev, p->buf[role], p->host[role], p->total * sizeof(float));
}

void params_zero(Params *p, ParamRole role)
{
    CHECK(p->buf[role], "params_zero: role %d not allocated", (int)role);
    dev_memset0(p->dev, p->buf[role], p->total * sizeof(float));
}

size_t params_count(const Params *p, bool trainable_only)
{
    size_t n = 0;
    for (int i = 0; i < p->count; i++)
        if (!trainable_only || !p->info[i].buffer) n += p->info[i].numel;
    return n;
}

void params_free(Params *p)
{
    for (int r = 0; r < ROLE_SLOT0 + 4; r++) {
        if (p->buf[r]) dev_free(p->dev, p->buf[r]);
        free(p->host[r]);
    }
    free(p->info);
    memset(p, 0, sizeof *p);
}
