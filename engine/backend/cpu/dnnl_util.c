/* engine/backend/cpu/dnnl_util.c — oneDNN engine, stream, the per-description primitive cache,
 * scratch buffers and memory descriptors of our layouts (cpu.h).
 */
#include <stdio.h>  // fprintf
#include <string.h> // memcmp, memcpy

#include "../backends.h"
#include "cpu.h"

int cpu_dev_init(Dev *d)
{
    CpuCtx *c = xcalloc(1, sizeof *c);
    if (dnnl_engine_create(&c->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&c->stream, c->eng, dnnl_stream_default_flags) != dnnl_success) {
        log_error("backend cpu: cannot create a oneDNN CPU engine and stream");
        free(c);
        return ERR_DEVICE;
    }
    const char *v = getenv("REPRO_DNNL_VERBOSE");
    c->verbose = v && *v && *v != '0';
    d->ctx = c;
    return 0;
}

void cpu_dev_fini(Dev *d)
{
    CpuCtx *c = cpu_ctx(d);
    if (!c) return;
    for (int i = 0; i < c->n_cache; i++) {
        CpuPrim *p = c->cache[i];
        for (int k = 0; k < CPU_MAX_PRIMS; k++) {
            if (p->prim[k]) dnnl_primitive_destroy(p->prim[k]);
            if (p->pd[k]) dnnl_primitive_desc_destroy(p->pd[k]);
        }
        for (int k = 0; k < CPU_MAX_MEMS; k++) {
            if (p->mem[k]) dnnl_memory_destroy(p->mem[k]);
            free(p->own[k]);
        }
        free(p);
    }
    free(c->cache);
    for (int i = 0; i < CPU_SCRATCH; i++) free(c->scratch[i]);
    dnnl_stream_destroy(c->stream);
    dnnl_engine_destroy(c->eng);
    free(c);
    d->ctx = NULL;
}

CpuPrim *cpu_prim(Dev *d, int kind, OpKey key, bool *fresh)
{
    CpuCtx *c = cpu_ctx(d);
    for (int i = 0; i < c->n_cache; i++)
        if (c->cache[i]->kind == kind && memcmp(&c->cache[i]->key, &key, sizeof key) == 0) {
            *fresh = false;
            return c->cache[i];
        }
    if (c->n_cache == c->cap_cache) {
        c->cap_cache = c->cap_cache ? 2 * c->cap_cache : 64;
        CpuPrim **grown = realloc(c->cache, (size_t)c->cap_cache * sizeof *grown);
        CHECK(grown, "cpu_prim: out of host memory");
        c->cache = grown;
    }
    CpuPrim *p = xcalloc(1, sizeof *p);
    c->cache[c->n_cache++] = p;
    p->kind = kind;
    p->key = key;
    *fresh = true;
    return p;
}

static void log_impl(Dev *d, CpuPrim *p, int i)
{
    if (!cpu_ctx(d)->verbose) return;
    const char *impl = NULL;
    dnnl_primitive_desc_query(p->pd[i], dnnl_query_impl_info_str, 0, &impl);
    fprintf(stderr, "cpu: primitive kind %d/%d: %s\n", p->kind, i, impl ? impl : "?");
}

void cpu_prim_create(Dev *d, CpuPrim *p, int i, const void *op_desc, const dnnl_primitive_desc_t hint)
{
    DNNL_CHECK(dnnl_primitive_desc_create(&p->pd[i], op_desc, NULL, cpu_ctx(d)->eng, hint));
    DNNL_CHECK(dnnl_primitive_create(&p->prim[i], p->pd[i]));
    log_impl(d, p, i);
}

void cpu_prim_create_attr(Dev *d, CpuPrim *p, int i, const void *op_desc,
                          const_dnnl_primitive_attr_t attr)
{
    DNNL_CHECK(dnnl_primitive_desc_create(&p->pd[i], op_desc, attr, cpu_ctx(d)->eng, NULL));
    DNNL_CHECK(dnnl_primitive_create(&p->prim[i], p->pd[i]));
    log_impl(d, p, i);
}

void cpu_reorder_create(Dev *d, CpuPrim *p, int i, const dnnl_memory_desc_t *from,
                        const dnnl_memory_desc_t *to)
{
    dnnl_engine_t e = cpu_ctx(d)->eng;
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&p->pd[i], from, e, to, e, NULL));
    DNNL_CHECK(dnnl_primitive_create(&p->prim[i], p->pd[i]));
}

void cpu_mem(Dev *d, CpuPrim *p, int j, const dnnl_memory_desc_t *md, bool own)
{
    CHECK(j < CPU_MAX_MEMS && !p->mem[j], "cpu_mem: slot %d taken", j);
    void *h = DNNL_MEMORY_NONE;
    if (own) {
        p->bytes[j] = dnnl_memory_desc_get_size(md);
        p->own[j] = aligned_alloc(64, (p->bytes[j] + 63) / 64 * 64 + 64);
        CHECK(p->own[j], "cpu_mem: out of host memory (%zu bytes)", p->bytes[j]);
        h = p->own[j];
    }
    DNNL_CHECK(dnnl_memory_create(&p->mem[j], md, cpu_ctx(d)->eng, h));
}

void cpu_bind(CpuPrim *p, int j, const void *ptr)
{
    DNNL_CHECK(dnnl_memory_set_data_handle(p->mem[j], (void *)ptr));
}

void cpu_exec(Dev *d, CpuPrim *p, int i, int nargs, const dnnl_exec_arg_t *args)
{
    DNNL_CHECK(dnnl_primitive_execute(p->prim[i], cpu_ctx(d)->stream, nargs, args));
    DNNL_CHECK(dnnl_stream_wait(cpu_ctx(d)->stream));
}

float *cpu_scratch(Dev *d, int slot, size_t n)
{
    CpuCtx *c = cpu_ctx(d);
    CHECK(slot >= 0 && slot < CPU_SCRATCH, "cpu_scratch: slot %d", slot);
    if (c->scratch_n[slot] < n) {
        free(c->scratch[slot]);
        c->scratch_n[slot] = n;
        c->scratch[slot] = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        CHECK(c->scratch[slot], "cpu_scratch: out of host memory (%zu floats)", n);
    }
    return c->scratch[slot];
}

dnnl_memory_desc_t cpu_md_nhwc(Shape4 s)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {s.n, s.c, s.h, s.w}; // oneDNN's logical order is always N, C, H, W
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nhwc));
    return md;
}

dnnl_memory_desc_t cpu_md_2d(int rows, int cols)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {rows, cols};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
    return md;
}

dnnl_memory_desc_t cpu_md_1d(int n)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {n};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
    return md;
}

void cpu_accumulate(float *dst, const float *src, size_t n)
{
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}
