/* engine/backend/cpu/pool.c — max and average pooling on oneDNN, global average pooling and
 * the one case oneDNN cannot express in OpenMP loops.
 *
 * PyTorch's ceil mode adds right padding that oneDNN expresses as padding_r. For max pooling and
 * for average pooling that excludes padding the results agree; average pooling that includes
 * padding divides by the window clipped to H + P in PyTorch but by KH*KW in oneDNN, so when ceil
 * mode reaches past the padding that case runs `plain_avg_*` here, on op_math.h's pool_window. Max-pool backward needs oneDNN's workspace; the table's backward gets x,
 * not the workspace, so it re-runs the forward into private buffers first (a pooling forward is
 * a small fraction of a step, and the workspace can never be stale).
 */
#include <stdio.h>  // fprintf

#include "../op_math.h"
#include "cpu.h"

typedef struct { dnnl_dims_t strides, kernel, dil, pad_l, pad_r; } PoolGeometry;

static PoolGeometry pool_geometry(Pool2d o)
{
    Shape4 y = pool2d_out(o);
    PoolGeometry g = {{o.sh, o.sw}, {o.kh, o.kw}, {0, 0}, {o.ph, o.pw},
                      {(y.h - 1) * o.sh + o.kh - o.x.h - o.ph, (y.w - 1) * o.sw + o.kw - o.x.w - o.pw}};
    return g;
}

static bool plain_avg(Pool2d o)
{
    PoolGeometry g = pool_geometry(o);
    return o.count_include_pad && (g.pad_r[0] > o.ph || g.pad_r[1] > o.pw);
}

// the entry of a pooling description: 0 forward, 1 backward; memories 0 x, 1 y, 2 dx, 3 dy, 4 ws
static CpuPrim *pool_prim(Dev *d, Pool2d o, bool max)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, max ? CPU_K_POOL_MAX : CPU_K_POOL_AVG, pool2d_key(o), &fresh);
    if (!fresh) return p;
    dnnl_alg_kind_t alg = max ? dnnl_pooling_max
                              : (o.count_include_pad ? dnnl_pooling_avg_include_padding
                                                     : dnnl_pooling_avg_exclude_padding);
    PoolGeometry g = pool_geometry(o);
    dnnl_memory_desc_t xm = cpu_md_nhwc(o.x), ym = cpu_md_nhwc(pool2d_out(o));
    dnnl_pooling_v2_desc_t fd, bd;
    DNNL_CHECK(dnnl_pooling_v2_forward_desc_init(&fd, dnnl_forward_training, alg, &xm, &ym,
                                                 g.strides, g.kernel, g.dil, g.pad_l, g.pad_r));
    cpu_prim_create(d, p, 0, &fd, NULL);
    DNNL_CHECK(dnnl_pooling_v2_backward_desc_init(&bd, alg, &xm, &ym, g.strides, g.kernel, g.dil,
                                                  g.pad_l, g.pad_r));
    cpu_prim_create(d, p, 1, &bd, p->pd[0]);
    cpu_mem(d, p, 0, &xm, false);
    cpu_mem(d, p, 1, &ym, max); // max: a private y for the forward re-run in backward
    cpu_mem(d, p, 2, &xm, false);
    cpu_mem(d, p, 3, &ym, false);
    if (max) cpu_mem(d, p, 4, dnnl_primitive_desc_query_md(p->pd[0], dnnl_query_workspace_md, 0), true);
    return p;
}

static void pool_forward(Dev *d, CpuPrim *p, float *y, const float *x, bool max)
{
    cpu_bind(p, 0, x);
    if (y) cpu_bind(p, 1, y);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[0]}, {DNNL_ARG_DST, p->mem[1]},
                           {DNNL_ARG_WORKSPACE, p->mem[4]}};
    cpu_exec(d, p, 0, max ? 3 : 2, a);
}

static void pool_backward(Dev *d, CpuPrim *p, Pool2d o, float *dx, const float *dy, bool max)
{
    float *tmp = cpu_scratch(d, 0, shape_numel(o.x));
    cpu_bind(p, 2, tmp);
    cpu_bind(p, 3, dy);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_SRC, p->mem[2]}, {DNNL_ARG_DIFF_DST, p->mem[3]},
                           {DNNL_ARG_WORKSPACE, p->mem[4]}};
    cpu_exec(d, p, 1, max ? 3 : 2, a);
    cpu_accumulate(dx, tmp, shape_numel(o.x));
}

void cpu_maxpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    CpuPrim *p = pool_prim(d, op, true);
    pool_forward(d, p, y, x, true);
    cpu_bind(p, 1, p->own[1]); // y of the caller is not ours to keep
}

void cpu_maxpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, const float *x, GradSet set)
{
    CpuPrim *p = pool_prim(d, op, true);
    pool_forward(d, p, NULL, x, true); // refill the workspace for this x
    pool_backward(d, p, op, dx, dy, true);
}

// ---------------------------------------------------------------------------------------------
// average pooling that counts padding up to H + P only (PyTorch), in plain loops

static void plain_avg_forward(Pool2d o, float *y, const float *x)
{
    Shape4 ys = pool2d_out(o);
    int c = o.x.c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++) {
                PoolWindow win = pool_window(o, oh, ow);
                float inv = 1.0f / (float)win.div;
                float *yo = y + (((size_t)n * ys.h + oh) * ys.w + ow) * c;
                for (int k = 0; k < c; k++) yo[k] = 0;
                for (int h = win.h0; h < win.h1; h++)
                    for (int w = win.w0; w < win.w1; w++) {
                        const float *xi = x + (((size_t)n * o.x.h + h) * o.x.w + w) * c;
                        for (int k = 0; k < c; k++) yo[k] += xi[k];
                    }
                for (int k = 0; k < c; k++) yo[k] *= inv;
            }
}

static void plain_avg_backward(Pool2d o, float *dx, const float *dy)
{
    Shape4 ys = pool2d_out(o);
    int c = o.x.c;
#pragma omp parallel for schedule(static) // one sample per thread: windows of a sample overlap
    for (int n = 0; n < ys.n; n++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++) {
                PoolWindow win = pool_window(o, oh, ow);
                float inv = 1.0f / (float)win.div;
                const float *g = dy + (((size_t)n * ys.h + oh) * ys.w + ow) * c;
                for (int h = win.h0; h < win.h1; h++)
                    for (int w = win.w0; w < win.w1; w++) {
                        float *xi = dx + (((size_t)n * o.x.h + h) * o.x.w + w) * c;
                        for (int k = 0; k < c; k++) xi[k] += g[k] * inv;
                    }
            }
}

void cpu_avgpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    if (plain_avg(op)) { plain_avg_forward(op, y, x); return; }
    pool_forward(d, pool_prim(d, op, false), y, x, false);
}

void cpu_avgpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, GradSet set)
{
    if (plain_avg(op)) { plain_avg_backward(op, dx, dy); return; }
    pool_backward(d, pool_prim(d, op, false), op, dx, dy, false);
}

// ---------------------------------------------------------------------------------------------
// global average pooling: a mean over H*W per (n, c); channels are contiguous in NHWC

void cpu_gap_forward(Dev *d, GlobalAvgPool op, float *y, const float *x)
{
    int c = op.x.c;
    size_t hw = (size_t)op.x.h * op.x.w;
    float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < op.x.n; n++) {
        float *yn = y + (size_t)n * c;
        for (int k = 0; k < c; k++) yn[k] = 0;
        for (size_t i = 0; i < hw; i++) {
            const float *xi = x + ((size_t)n * hw + i) * c;
#pragma omp simd
            for (int k = 0; k < c; k++) yn[k] += xi[k];
        }
        for (int k = 0; k < c; k++) yn[k] *= inv;
    }
}

void cpu_gap_backward(Dev *d, GlobalAvgPool op, float *dx, const float *dy, GradSet set)
{
    int c = op.x.c;
    size_t hw = (size_t)op.x.h * op.x.w;
    float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < op.x.n; n++)
        for (size_t i = 0; i < hw; i++) {
            float *xi = dx + ((size_t)n * hw + i) * c;
            const float *g = dy + (size_t)n * c;
#pragma omp simd
            for (int k = 0; k < c; k++) xi[k] += g[k] * inv;
        }
}
