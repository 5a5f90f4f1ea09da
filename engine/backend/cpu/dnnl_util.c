/* engine/backend/cpu/dnnl_util.c — oneDNN engine, stream, the per-description primitive cache,
 * scratch buffers and memory descriptors of our layouts (cpu.h).
 */
#include <omp.h>    // omp_get_max_threads, omp_set_num_threads
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

// ---------------------------------------------------------------------------------------------
// batch chunks (cpu.h)

enum { S_PAD = 8 }; // scratch slot of the chunks' scratchpads (conv2d.c uses 0..7)

int cpu_n_chunks(int n, long pix)
{
    long k = (long)n * pix / CPU_CHUNK_PIX;
    k = k < 2 ? 2 : k > CPU_CHUNKS ? CPU_CHUNKS : k;
    return k < n ? (int)k : n;
}

void cpu_chunk(int n, int k, int i, int *lo, int *cnt)
{
    *lo = (int)((long)n * i / k);
    *cnt = (int)((long)n * (i + 1) / k) - *lo;
}

int cpu_wave_slots(int k)
{
    int t = omp_get_max_threads();
    return t < k ? t : k;
}

dnnl_status_t cpu_prim_create_serial(Dev *d, CpuPrim *p, int i, const void *op_desc,
                                     const_dnnl_primitive_attr_t attr, const void *hint_desc)
{
    int was = omp_get_max_threads();
    omp_set_num_threads(1); // oneDNN sizes its kernels' work split by this
    dnnl_primitive_attr_t a = NULL;
    dnnl_primitive_desc_t hint = NULL;
    dnnl_status_t s = attr ? dnnl_primitive_attr_clone(&a, attr) : dnnl_primitive_attr_create(&a);
    if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
    if (s == dnnl_success && hint_desc)
        s = dnnl_primitive_desc_create(&hint, hint_desc, NULL, cpu_ctx(d)->eng, NULL);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&p->pd[i], op_desc, a, cpu_ctx(d)->eng, hint);
    if (s == dnnl_success) s = dnnl_primitive_create(&p->prim[i], p->pd[i]);
    if (s != dnnl_success && p->pd[i]) { dnnl_primitive_desc_destroy(p->pd[i]); p->pd[i] = NULL; }
    if (hint) dnnl_primitive_desc_destroy(hint);
    if (a) dnnl_primitive_attr_destroy(a);
    omp_set_num_threads(was);
    if (s == dnnl_success) log_impl(d, p, i);
    return s;
}

static size_t pad_bytes(const_dnnl_primitive_desc_t pd)
{
    return pd ? dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)) : 0;
}

void cpu_exec_chunks(Dev *d, CpuPrim *p, int n, const ChunkArg *a, int na,
                     void (*wave)(void *ctx, int first, int count), void *ctx)
{
    CHECK(na <= 8, "cpu_exec_chunks: %d arguments", na);
    int k = p->chunks, slots = cpu_wave_slots(k), big = (n + k - 1) / k;
    size_t pad = pad_bytes(p->pd[0]), ps = pad_bytes(p->pd[CPU_P_SMALL]);
    pad = ((pad > ps ? pad : ps) + 63) / 64 * 64;
    char *pads = (char *)cpu_scratch(d, S_PAD, (pad * slots + 3) / 4 + 1);
    dnnl_engine_t eng = cpu_ctx(d)->eng;
    for (int w0 = 0; w0 < k; w0 += slots) {
        int nw = k - w0 < slots ? k - w0 : slots;
#pragma omp parallel for num_threads(nw) schedule(static, 1)
        for (int j = 0; j < nw; j++) {
            int lo, cnt;
            cpu_chunk(n, k, w0 + j, &lo, &cnt);
            int pi = cnt == big ? 0 : CPU_P_SMALL;
            CHECK(p->prim[pi], "cpu_exec_chunks: no primitive for chunks of %d images", cnt);
            dnnl_stream_t st;
            dnnl_memory_t m[9];
            dnnl_exec_arg_t ea[9];
            DNNL_CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
            int nm = 0;
            for (int i = 0; i <= na; i++) {
                const dnnl_memory_desc_t *md;
                char *ptr;
                if (i < na) {
                    md = dnnl_primitive_desc_query_md(p->pd[pi], dnnl_query_exec_arg_md, a[i].arg);
                    ptr = (char *)a[i].ptr + (size_t)lo * a[i].image + (size_t)j * a[i].slot;
                    ea[nm].arg = a[i].arg;
                } else {
                    md = dnnl_primitive_desc_query_md(p->pd[pi], dnnl_query_scratchpad_md, 0);
                    if (!dnnl_memory_desc_get_size(md)) break;
                    ptr = pads + (size_t)j * pad;
                    ea[nm].arg = DNNL_ARG_SCRATCHPAD;
                }
                DNNL_CHECK(dnnl_memory_create(&m[nm], md, eng, ptr));
                ea[nm].memory = m[nm];
                nm++;
            }
            DNNL_CHECK(dnnl_primitive_execute(p->prim[pi], st, nm, ea));
            DNNL_CHECK(dnnl_stream_wait(st));
            for (int i = 0; i < nm; i++) dnnl_memory_destroy(m[i]);
            dnnl_stream_destroy(st);
        }
        if (wave) wave(ctx, w0, nw);
    }
}

// ---------------------------------------------------------------------------------------------
// GEMM in fixed blocks (cpu.h)

enum { S_GEMM = 9 }; // scratch slot of the K chunks' products

// one single-threaded dnnl_sgemm (oneDNN asks OpenMP how many threads it may use)
void cpu_sgemm_1t(char ta, char tb, long m, long n, long k, float alpha, const float *a, long lda,
                     const float *b, long ldb, float beta, float *c, long ldc)
{
    int was = omp_get_max_threads();
    omp_set_num_threads(1);
    DNNL_CHECK(dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    omp_set_num_threads(was);
}

void cpu_sgemm(Dev *d, char ta, char tb, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc)
{
    bool ra = ta == 'N' || ta == 'n', rb = tb == 'N' || tb == 'n'; // A (m,k) / B (k,n) stored as is
    if (k >= 2048 && m * n <= 65536) { // K chunks: products into scratch, added in chunk order
        int kc = k / 1024 < CPU_CHUNKS ? (int)(k / 1024) : CPU_CHUNKS;
        size_t mn = (size_t)m * n;
        float *part = cpu_scratch(d, S_GEMM, mn * kc);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < kc; i++) {
            long k0 = k * i / kc, k1 = k * (i + 1) / kc;
            cpu_sgemm_1t(ta, tb, m, n, k1 - k0, alpha, ra ? a + k0 : a + k0 * lda, lda, rb ? b + k0 * ldb : b + k0,
                     ldb, 0.0f, part + mn * i, n);
        }
#pragma omp parallel for schedule(static) if (mn > 32768)
        for (long r = 0; r < m; r++)
            for (long j = 0; j < n; j++) {
                float s = 0.0f;
                for (int i = 0; i < kc; i++) s += part[mn * i + r * n + j];
                c[r * ldc + j] = (beta == 0.0f ? 0.0f : beta * c[r * ldc + j]) + s;
            }
        return;
    }
    // output blocks: rows when m >= n, else columns
    bool rows = m >= n;
    long dim = rows ? m : n;
    int nb = dim / 32 < CPU_CHUNKS ? (int)(dim / 32) : CPU_CHUNKS;
    if (nb < 2) {
        cpu_sgemm_1t(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < nb; i++) {
        long lo = dim * i / nb, hi = dim * (i + 1) / nb;
        if (rows)
            cpu_sgemm_1t(ta, tb, hi - lo, n, k, alpha, ra ? a + lo * lda : a + lo, lda, b, ldb, beta, c + lo * ldc, ldc);
        else
            cpu_sgemm_1t(ta, tb, m, hi - lo, k, alpha, a, lda, rb ? b + lo : b + lo * ldb, ldb, beta, c + lo, ldc);
    }
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
