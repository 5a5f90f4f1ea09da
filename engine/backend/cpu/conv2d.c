/* engine/backend/cpu/conv2d.c — convolution on oneDNN (and winograd.c): forward, backward data,
 * backward weights.
 *
 * Activations are NHWC as everywhere; weights are stored (OC,KH,KW,C/G) ("ohwi", "gohwi" with
 * groups) but handed to oneDNN as format `any`: its fast AVX-512 kernels want blocked weights, and
 * reordering a few thousand weights per call costs microseconds while a plain-layout kernel costs
 * milliseconds. Each pass is one cache entry per description: the op primitive, the weight
 * reorder, the activation reorders and their memories. Backward results land in scratch and are
 * added (+=) to the caller's gradients. A fused activation (inference) is a oneDNN eltwise
 * post-op; hard-sigmoid, which oneDNN 2.6 lacks, runs in place after the convolution.
 *
 * Versions (Dev.variant selects; the op test runs both as rows cpu and cpu-alt):
 *   0 (default) 1x1, stride 1, no groups: oneDNN's sgemm over the pixels (below: beta = 1 adds
 *     backward's results in place). Depthwise (groups = C = OC): dwconv.c's kernels (its header
 *     gives the times; backward weights stays oneDNN's where that is faster). Else
 *     our own Winograd F(4x4,3x3) (winograd.c) for 3x3, stride 1, no dilation, groups,
 *     bias or fused activation, padding <= 2, C and OC multiples of 16 up to 64 (ResNet-20's
 *     convolutions and the like): each block of tiles goes through all three stages in cache,
 *     and backward data adds into dx in its pass. ResNet-20 at batch 128, 2 threads, forward +
 *     both backward passes (ms, hot caches): 16ch 28x28 5.6 -> 3.1, 32ch 14x14 5.4 -> 3.0,
 *     64ch 7x7 3.8 -> 2.8; a training step's convolutions 107 -> 77 ms.
 *     Otherwise Winograd F(4x4,3x3) (oneDNN's jit_wino_4x3) wherever it applies — 3x3, stride 1,
 *     no dilation, no groups, no bias or fused activation (training's convolutions), C and OC
 *     multiples of 16 — on 16-channel blocked activations (nChw16c); direct NHWC elsewhere.
 *     With 16 channels the blocked layout is NHWC byte for byte, so nothing is copied; above
 *     that x, y, dy and dx are reordered (one cheap pass each, dx's reorder adding into the
 *     caller's gradient through a sum post-op). Measured on ResNet-20's shapes at batch 128,
 *     2 threads (forward + both backward passes, ms): 16ch 28x28 7.3 -> 6.5, 32ch 14x14
 *     5.9 -> 4.2, 64ch 7x7 5.5 -> 3.7, reorders included; 1 thread gains 30% on all three.
 *     Its rounding differs from direct convolution's by ~1e-6 relative (the op test's rows).
 *   1 direct convolution on NHWC everywhere (brgconv / jit kernels): what PyTorch runs.
 * The choice is a fixed rule, never timed at run time: the same description always takes the
 * same kernels, so training stays bitwise reproducible. Every oneDNN convolution primitive runs
 * once per fixed chunk of the batch, made for one thread (cpu.h, batch chunks), and backward
 * weights adds the chunks' gradients in chunk order; the GEMMs are cut into fixed blocks
 * (cpu_sgemm): the same bits at any thread count (test_ops' "cpu threads" rows). Measured against
 * the per-thread version before it (ResNet-50 at 128 px, batch 32, 2 threads, a training step's
 * convolutions): 1109 -> 1224 ms with at least 1024 output pixels a chunk, where 8 chunks of 4
 * images had cost 1396 (oneDNN's Winograd transforms the kernel once per chunk: 4x4x512 maps
 * 8 -> 34 ms forward); ResNet-20 and the compact models' steps did not change beyond the noise.
 */
#include <stdio.h>  // fprintf
#include <string.h> // memset

#include "vmath.h" // the 1x1 GEMM's epilogue: act_v, ldn, stn

// scratch slots of this file (cpu.h): results to add, and blocked copies of activations
enum { S_DX = 0, S_DW = 1, S_DB = 2, S_XB = 4, S_YB = 5, S_DXB = 6, S_PART = 7 };

// oneDNN's view of our weights: (OC, C/G, KH, KW) logical dims in memory order (OC, KH, KW, C/G)
static dnnl_memory_desc_t weights_md(Conv2d o, bool any)
{
    dnnl_memory_desc_t md;
    int cg = o.x.c / o.g;
    if (o.g == 1) {
        dnnl_dims_t dims = {o.oc, cg, o.kh, o.kw};
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_ohwi));
    } else {
        dnnl_dims_t dims = {o.g, o.oc / o.g, cg, o.kh, o.kw};
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 5, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_gohwi));
    }
    return md;
}

typedef struct { dnnl_dims_t strides, dil, pad_l, pad_r; } Geometry;

// oneDNN counts dilation from 0; the right padding is what makes the output size exact
static Geometry geometry(Conv2d o)
{
    Shape4 y = conv2d_out(o);
    Geometry g = {{o.sh, o.sw}, {o.dh - 1, o.dw - 1}, {o.ph, o.pw},
                  {(y.h - 1) * o.sh + (o.kh - 1) * o.dh + 1 - o.x.h - o.ph,
                   (y.w - 1) * o.sw + (o.kw - 1) * o.dw + 1 - o.x.w - o.pw}};
    return g;
}

// does the Winograd version apply to this description on this device?
static bool winograd(const Dev *d, Conv2d o)
{
    return d->variant == 0 && cpu_wino_shape(o);
}

// an activation's descriptor: NHWC, or 16-channel blocks for the Winograd kernels
static dnnl_memory_desc_t act_md(Shape4 s, bool blocked)
{
    if (!blocked) return cpu_md_nhwc(s);
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {s.n, s.c, s.h, s.w};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nChw16c));
    return md;
}

enum { PASS_FWD, PASS_BWD_D, PASS_BWD_W };

// the pass's descriptor for chunks of cnt images (cpu.h: batch chunks); wm: the weights' layout
// (NULL: any, the kernel's choice)
static dnnl_convolution_desc_t pass_desc(Conv2d o, int pass, dnnl_alg_kind_t alg, int cnt,
                                         const dnnl_memory_desc_t *wm)
{
    o.x.n = cnt;
    dnnl_convolution_desc_t cd;
    Geometry g = geometry(o);
    bool blk = alg == dnnl_convolution_winograd;
    dnnl_memory_desc_t x = act_md(o.x, blk), y = act_md(conv2d_out(o), blk), w = wm ? *wm : weights_md(o, true);
    dnnl_memory_desc_t b = cpu_md_1d(o.oc);
    if (pass == PASS_FWD)
        DNNL_CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_training, alg, &x, &w,
            o.bias ? &b : NULL, &y, g.strides, g.dil, g.pad_l, g.pad_r));
    else if (pass == PASS_BWD_D)
        DNNL_CHECK(dnnl_dilated_convolution_backward_data_desc_init(&cd, alg, &x, &w, &y, g.strides,
            g.dil, g.pad_l, g.pad_r));
    else
        DNNL_CHECK(dnnl_dilated_convolution_backward_weights_desc_init(&cd, alg, &x, &w,
            o.bias ? &b : NULL, &y, g.strides, g.dil, g.pad_l, g.pad_r));
    return cd;
}

// the pass's primitives for the batch chunks of o.x.n images: 0 (ceil(n/k) images) and, when
// the chunks differ, CPU_P_SMALL (floor(n/k)) on the weights layout 0 chose; false (nothing
// left) when oneDNN has no such kernel
static bool chunked_create(Dev *d, CpuPrim *p, Conv2d o, int pass, dnnl_alg_kind_t alg,
                           const_dnnl_primitive_attr_t attr)
{
    Shape4 ys = conv2d_out(o);
    int n = o.x.n, k = p->chunks = cpu_n_chunks(n, (long)ys.h * ys.w), big = (n + k - 1) / k, small = n / k;
    for (int i = 0; i < 2; i++) {
        int cnt = i ? small : big, slot = i ? CPU_P_SMALL : 0;
        if (i && small == big) break;
        dnnl_memory_desc_t w;
        if (i) w = *dnnl_primitive_desc_query_md(p->pd[0], pass == PASS_BWD_W ? dnnl_query_diff_weights_md
                                                                             : dnnl_query_weights_md, 0);
        dnnl_convolution_desc_t cd = pass_desc(o, pass, alg, cnt, i ? &w : NULL);
        dnnl_convolution_desc_t hd = pass_desc(o, PASS_FWD, alg, cnt, i ? &w : NULL);
        if (cpu_prim_create_serial(d, p, slot, &cd, attr, pass == PASS_FWD ? NULL : &hd) != dnnl_success) {
            CHECK(!i, "conv2d on cpu: oneDNN took chunks of %d images but not of %d", big, small);
            return false;
        }
    }
    return true;
}

// bytes of one image of an activation in the kernels' layout (NHWC, or 16-channel blocks of
// channels that are a multiple of 16: the same count)
static size_t image_bytes(Shape4 s) { return (size_t)s.h * s.w * s.c * sizeof(float); }

// memories: 0 user weights (ours), 1 op weights (blocked, private) or the same as 0
static void weights_reorder(Dev *d, CpuPrim *p, int prim, Conv2d o, dnnl_query_t which, bool to_op)
{
    const dnnl_memory_desc_t *op_md = dnnl_primitive_desc_query_md(p->pd[prim], which, 0);
    dnnl_memory_desc_t user = weights_md(o, false);
    cpu_mem(d, p, 0, &user, false);
    if (dnnl_memory_desc_equal(op_md, &user)) return;
    cpu_mem(d, p, 1, op_md, true);
    if (to_op) cpu_reorder_create(d, p, 1, &user, op_md);
    else cpu_reorder_create(d, p, 1, op_md, &user);
}

// ---------------------------------------------------------------------------------------------
// activation reorders of the Winograd version (entries 2.. of a CpuPrim, memories 5..)

// a reorder of activations with shape s, NHWC <-> blocked, in prim slot i with memories m, m+1
// (from, to); sum: the destination accumulates (+=). Nothing when the two layouts are one
// (16 channels): the caller then binds its buffer directly.
static bool layouts_differ(Shape4 s) { return s.c != 16; }

static void act_reorder_create(Dev *d, CpuPrim *p, int i, int m, Shape4 s, bool to_blocked, bool sum)
{
    dnnl_memory_desc_t nhwc = act_md(s, false), blk = act_md(s, true);
    const dnnl_memory_desc_t *from = to_blocked ? &nhwc : &blk, *to = to_blocked ? &blk : &nhwc;
    cpu_mem(d, p, m, from, false);
    cpu_mem(d, p, m + 1, to, false);
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    DNNL_CHECK(dnnl_primitive_attr_create(&attr));
    DNNL_CHECK(dnnl_post_ops_create(&po));
    if (sum) DNNL_CHECK(dnnl_post_ops_append_sum(po, 1.0f));
    DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
    dnnl_engine_t e = cpu_ctx(d)->eng;
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&p->pd[i], from, e, to, e, attr));
    DNNL_CHECK(dnnl_primitive_create(&p->prim[i], p->pd[i]));
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
}

static void act_reorder(Dev *d, CpuPrim *p, int i, int m, const float *from, float *to)
{
    cpu_bind(p, m, from);
    cpu_bind(p, m + 1, to);
    dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[m]}, {DNNL_ARG_TO, p->mem[m + 1]}};
    cpu_exec(d, p, i, 2, r);
}

// x in the layout the entry's kernel reads: x itself, or its blocked copy in scratch slot S_XB
// (prim slot i, memories m, m+1)
static const float *blocked_in(Dev *d, CpuPrim *p, int i, int m, Shape4 s, const float *x, int slot)
{
    if (!p->prim[i]) return x;
    float *xb = cpu_scratch(d, slot, shape_numel(s));
    act_reorder(d, p, i, m, x, xb);
    return xb;
}

// ---------------------------------------------------------------------------------------------

// the Winograd version refused (a CPU without AVX-512, a shape its kernels do not take): said
// once per context, and the entry runs direct convolution instead
static void refused(Dev *d, CpuPrim *p, Conv2d o)
{
    p->plain = true;
    if (cpu_ctx(d)->wino_refused++) return;
    fprintf(stderr, "cpu: oneDNN has no Winograd convolution here (first: %dx%dx%d -> %d); using "
                    "direct convolution\n", o.x.h, o.x.w, o.x.c, o.oc);
}

// ---------------------------------------------------------------------------------------------
// 1x1, stride 1, no groups: a GEMM over the pixels (M = N*H*W rows of C), oneDNN's sgemm. Its beta
// adds into the caller's dx and dw in the same pass (the convolution primitives write scratch
// that another pass adds), and its small-M kernels beat brgconv_1x1 on the late, small maps of
// compact networks (MobileNetV2 at 56 px, batch 64: 2x2x960 -> 160 backward weights 1.09 -> 0.38
// ms; see the commit that added it)

static bool gemm_applies(Conv2d o) { return conv2d_pointwise(o) && o.dh == 1 && o.dw == 1; }

// rows of y (m, oc) = act(y + b) in vectors (a partial one at each row's end)
static inline __attribute__((always_inline)) void gemm_epilogue(float *y, const float *b, long m, int oc,
                                                               const ActKind act)
{
    for (long i = 0; i < m; i++)
        for (int k0 = 0; k0 < oc; k0 += 16) {
            int nl = MIN(16, oc - k0);
            float *p = y + i * oc + k0;
            stn(p, act_v(act, ldn(p, nl) + (b ? ldn(b + k0, nl) : V16(0.0f))), nl);
        }
}

// rows of y per block of the forward with a bias or activation: about 256 KB of y (cache-resident
// when its epilogue runs), at least 256 rows (each block packs the weights again); from the
// shape alone, so the bits never depend on the thread count
static long gemm_block_rows(int oc) { return MAX(256, 65536 / oc / 16 * 16); }

static void gemm_epilogue_act(float *y, const float *b, long m, int oc, ActKind act)
{
    switch (act) { // the activation a constant in each copy
    case ACT_NONE: gemm_epilogue(y, b, m, oc, ACT_NONE); break;
    case ACT_RELU: gemm_epilogue(y, b, m, oc, ACT_RELU); break;
    case ACT_RELU6: gemm_epilogue(y, b, m, oc, ACT_RELU6); break;
    case ACT_SILU: gemm_epilogue(y, b, m, oc, ACT_SILU); break;
    case ACT_HSWISH: gemm_epilogue(y, b, m, oc, ACT_HSWISH); break;
    default: gemm_epilogue(y, b, m, oc, act);
    }
}

void cpu_gemm_rows(Conv2d o, float *y, const float *x, const float *w, const float *b, long m)
{
    cpu_sgemm_1t('N', 'T', m, o.oc, o.x.c, 1.0f, x, o.x.c, w, o.x.c, 0.0f, y, o.oc);
    gemm_epilogue_act(y, b, m, o.oc, o.act);
}

// y = act(x w^T + b): without bias and activation (training's convolutions before a batch norm),
// or on fewer rows than two blocks, cpu_sgemm's blocks; else blocks of gemm_block_rows rows, each
// GEMM followed by its epilogue while its rows are in cache (a separate pass over y had cost as
// much as the GEMM at large maps: MobileNetV2's 64x64x16 -> 96 at batch 128 took 21.4 ms)
static void gemm_forward(Dev *d, Conv2d o, float *y, const float *x, const float *w, const float *b)
{
    long m = (long)o.x.n * o.x.h * o.x.w, rows = gemm_block_rows(o.oc), nb = (m + rows - 1) / rows;
    if ((!b && !o.act) || nb < 2) { // one block would leave a core idle: cpu_sgemm's, then the rows
        cpu_sgemm(d, 'N', 'T', m, o.oc, o.x.c, 1.0f, x, o.x.c, w, o.x.c, 0.0f, y, o.oc); // x w^T
        if (b || o.act) gemm_epilogue_act(y, b, m, o.oc, o.act);
        return;
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < nb; i++) {
        long lo = i * rows, n = MIN(m, lo + rows) - lo;
        cpu_gemm_rows(o, y + lo * o.oc, x + lo * o.x.c, w, b, n);
    }
}

// db += the sum of dy (m rows of oc) over its rows, row by row (a fixed order)
static void bias_grad(float *db, const float *dy, long m, int oc)
{
    for (long i = 0; i < m; i++)
#pragma omp simd
        for (int k = 0; k < oc; k++) db[k] += dy[i * oc + k];
}

static void gemm_backward(Dev *d, Conv2d o, float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, bool set)
{
    long m = (long)o.x.n * o.x.h * o.x.w;
    if (dx) cpu_sgemm(d, 'N', 'N', m, o.x.c, o.oc, 1.0f, dy, o.oc, w, o.x.c, set ? 0.0f : 1.0f, dx, o.x.c);
    if (dw) cpu_sgemm(d, 'T', 'N', o.oc, o.x.c, m, 1.0f, dy, o.oc, x, o.x.c, 1.0f, dw, o.x.c); // dy^T x
    if (db) bias_grad(db, dy, m, o.oc);
}

void cpu_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w, const float *b)
{
    if (d->variant == 0 && gemm_applies(op)) {
        gemm_forward(d, op, y, x, w, op.bias ? b : NULL);
        return;
    }
    if (d->variant == 0 && cpu_wino_applies(op)) {
        cpu_wino_forward(d, op, y, x, w, b);
        return;
    }
    if (d->variant == 0 && cpu_dw_applies(op)) {
        cpu_dw_forward(d, op, y, x, w, op.bias ? b : NULL);
        return;
    }
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_CONV_FWD, conv2d_key(op), &fresh);
    dnnl_alg_kind_t alg;
    float alpha, beta;
    bool post_op = op.act && cpu_act_alg(op.act, &alg, &alpha, &beta);
    Shape4 ys = conv2d_out(op);
    if (fresh) {
        dnnl_primitive_attr_t attr;
        dnnl_post_ops_t po;
        DNNL_CHECK(dnnl_primitive_attr_create(&attr));
        DNNL_CHECK(dnnl_post_ops_create(&po));
        if (post_op) DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, beta));
        DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
        bool wino = winograd(d, op);
        if (wino && !chunked_create(d, p, op, PASS_FWD, dnnl_convolution_winograd, attr)) refused(d, p, op), wino = false;
        if (!wino) CHECK(chunked_create(d, p, op, PASS_FWD, dnnl_convolution_direct, attr),
                         "conv2d on cpu: oneDNN has no direct convolution for %dx%dx%dx%d -> %d", op.x.n,
                         op.x.h, op.x.w, op.x.c, op.oc);
        else {
            if (layouts_differ(op.x)) act_reorder_create(d, p, 2, 5, op.x, true, false);
            if (layouts_differ(ys)) act_reorder_create(d, p, 3, 7, ys, false, false);
        }
        dnnl_post_ops_destroy(po);
        dnnl_primitive_attr_destroy(attr);
        weights_reorder(d, p, 0, op, dnnl_query_weights_md, true);
    }
    cpu_bind(p, 0, w);
    if (p->prim[1]) {
        dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[0]}, {DNNL_ARG_TO, p->mem[1]}};
        cpu_exec(d, p, 1, 2, r);
    }
    float *yb = p->prim[3] ? cpu_scratch(d, S_YB, shape_numel(ys)) : y;
    ChunkArg a[] = {{DNNL_ARG_SRC, blocked_in(d, p, 2, 5, op.x, x, S_XB), image_bytes(op.x), 0},
                    {DNNL_ARG_WEIGHTS, p->mem[1] ? p->own[1] : w, 0, 0},
                    {DNNL_ARG_DST, yb, image_bytes(ys), 0},
                    {DNNL_ARG_BIAS, b, 0, 0}};
    cpu_exec_chunks(d, p, op.x.n, a, b ? 4 : 3, NULL, NULL);
    if (p->prim[3]) act_reorder(d, p, 3, 7, yb, y);
    if (op.act && !post_op) {
        Act act = {shape_numel(ys), op.act};
        cpu_act_forward(d, act, y, y);
    }
}

// dy: in the kernels' layout already (cpu_conv2d_backward reorders it once for both passes);
// set: dx is written (oneDNN's result lands in it, or is reordered into it), not added into
static void backward_data(Dev *d, Conv2d op, float *dx, const float *dy, const float *w, bool wino,
                          bool set)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_CONV_BWD_D, conv2d_key(op), &fresh);
    if (fresh) {
        CHECK(chunked_create(d, p, op, PASS_BWD_D, wino ? dnnl_convolution_winograd : dnnl_convolution_direct, NULL),
              "conv2d backward data on cpu: oneDNN has no kernel for %dx%dx%dx%d -> %d", op.x.n, op.x.h,
              op.x.w, op.x.c, op.oc);
        weights_reorder(d, p, 0, op, dnnl_query_weights_md, true);
        // the blocked result goes back to NHWC adding into dx (2) or writing it (3); 16 channels:
        // through S_DX below, or straight into dx
        if (wino && layouts_differ(op.x)) {
            act_reorder_create(d, p, 2, 5, op.x, false, true);
            act_reorder_create(d, p, 3, 7, op.x, false, false);
        }
    }
    size_t xn = shape_numel(op.x);
    float *tmp = p->prim[2] ? cpu_scratch(d, S_DXB, xn) : set ? dx : cpu_scratch(d, S_DX, xn);
    cpu_bind(p, 0, w);
    if (p->prim[1]) {
        dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[0]}, {DNNL_ARG_TO, p->mem[1]}};
        cpu_exec(d, p, 1, 2, r);
    }
    ChunkArg a[] = {{DNNL_ARG_DIFF_SRC, tmp, image_bytes(op.x), 0},
                    {DNNL_ARG_WEIGHTS, p->mem[1] ? p->own[1] : w, 0, 0},
                    {DNNL_ARG_DIFF_DST, dy, image_bytes(conv2d_out(op)), 0}};
    cpu_exec_chunks(d, p, op.x.n, a, 3, NULL, NULL);
    if (p->prim[2]) act_reorder(d, p, set ? 3 : 2, set ? 7 : 5, tmp, dx); // dx (+)= the result, NHWC
    else if (!set) cpu_accumulate(dx, tmp, xn);
}

// the chunks' weight (and bias) gradients, a slot per chunk of a wave, added into the sums in
// chunk order: sum = ((0 + g0) + g1) + ... at any thread count
typedef struct { const float *part; size_t stride, wn, bias_at; float *sw, *sb; int oc; } WaveSums;

static void add_wave(void *ctx, int first, int count)
{
    const WaveSums *ws = ctx;
#pragma omp parallel for schedule(static) if (ws->wn > 32768)
    for (size_t e = 0; e < ws->wn; e++) {
        float s = ws->sw[e];
        for (int j = 0; j < count; j++) s += ws->part[j * ws->stride + e];
        ws->sw[e] = s;
    }
    if (ws->sb)
        for (int k = 0; k < ws->oc; k++)
            for (int j = 0; j < count; j++) ws->sb[k] += ws->part[j * ws->stride + ws->bias_at + k];
}

static void backward_weights(Dev *d, Conv2d op, float *dw, float *db, const float *dy, const float *x,
                             bool wino)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_CONV_BWD_W, conv2d_key(op), &fresh);
    size_t wn = (size_t)op.oc * op.kh * op.kw * (op.x.c / op.g);
    if (fresh) {
        CHECK(chunked_create(d, p, op, PASS_BWD_W, wino ? dnnl_convolution_winograd : dnnl_convolution_direct, NULL),
              "conv2d backward weights on cpu: oneDNN has no kernel for %dx%dx%dx%d -> %d", op.x.n, op.x.h,
              op.x.w, op.x.c, op.oc);
        weights_reorder(d, p, 0, op, dnnl_query_diff_weights_md, false);
        if (wino && layouts_differ(op.x)) act_reorder_create(d, p, 2, 5, op.x, true, false);
    }
    // the sums: in the kernel's weights layout (then reordered into ours) or straight in ours
    float *tw = cpu_scratch(d, S_DW, wn), *tb = cpu_scratch(d, S_DB, (size_t)op.oc);
    size_t kn = p->mem[1] ? p->bytes[1] / sizeof(float) : wn, bias_at = (kn + 15) / 16 * 16;
    WaveSums ws = {cpu_scratch(d, S_PART, (bias_at + (size_t)op.oc + 15) / 16 * 16 * cpu_wave_slots(p->chunks)),
                   (bias_at + (size_t)op.oc + 15) / 16 * 16, kn, bias_at, p->mem[1] ? p->own[1] : tw,
                   op.bias ? tb : NULL, op.oc};
    memset(ws.sw, 0, kn * sizeof(float));
    memset(tb, 0, (size_t)op.oc * sizeof(float));
    ChunkArg a[] = {{DNNL_ARG_SRC, blocked_in(d, p, 2, 5, op.x, x, S_XB), image_bytes(op.x), 0},
                    {DNNL_ARG_DIFF_DST, dy, image_bytes(conv2d_out(op)), 0},
                    {DNNL_ARG_DIFF_WEIGHTS, ws.part, 0, ws.stride * sizeof(float)},
                    {DNNL_ARG_DIFF_BIAS, ws.part + bias_at, 0, ws.stride * sizeof(float)}};
    cpu_exec_chunks(d, p, op.x.n, a, op.bias ? 4 : 3, add_wave, &ws);
    if (p->prim[1]) {
        cpu_bind(p, 0, tw);
        dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[1]}, {DNNL_ARG_TO, p->mem[0]}};
        cpu_exec(d, p, 1, 2, r);
    }
    if (dw) cpu_accumulate(dw, tw, wn);
    if (db) cpu_accumulate(db, tb, (size_t)op.oc);
}

void cpu_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, GradSet set)
{
    if (d->variant == 0 && cpu_wino_applies(op)) {
        if (dx) cpu_wino_backward_data(d, op, dx, dy, w, set & SET_0);
        if (dw) cpu_wino_backward_weights(d, op, dw, dy, x);
        if (db && op.bias) bias_grad(db, dy, (long)op.x.n * conv2d_out(op).h * conv2d_out(op).w, op.oc);
        return;
    }
    if (d->variant == 0 && gemm_applies(op)) {
        gemm_backward(d, op, dx, dw, op.bias ? db : NULL, dy, x, w, set & SET_0);
        return;
    }
    if (d->variant == 0 && cpu_dw_applies(op)) {
        if (dx) cpu_dw_backward_data(d, op, dx, dy, w, set & SET_0);
        if ((dw || db) && cpu_dw_weights_own(op)) cpu_dw_backward_weights(d, op, dw, op.bias ? db : NULL, dy, x);
        else if (dw || db) backward_weights(d, op, dw, db, dy, x, false);
        return;
    }
    // the forward entry knows whether Winograd was taken (or refused) for this description
    bool fresh;
    CpuPrim *f = cpu_prim(d, CPU_K_CONV_FWD, conv2d_key(op), &fresh);
    CHECK(!fresh, "conv2d_backward on cpu: no forward pass of this convolution ran before");
    bool wino = winograd(d, op) && !f->plain;
    // dy in the kernels' layout, once for both passes: blocked when Winograd has OC > 16
    Shape4 ys = conv2d_out(op);
    const float *dyb = dy;
    if (f->prim[3]) { // the forward entry's output reorder exists exactly when dy needs one
        CpuPrim *r = cpu_prim(d, CPU_K_CONV_DY, conv2d_key(op), &fresh);
        if (fresh) act_reorder_create(d, r, 0, 0, ys, true, false);
        float *b = cpu_scratch(d, S_YB, shape_numel(ys));
        act_reorder(d, r, 0, 0, dy, b);
        dyb = b;
    }
    if (dx) backward_data(d, op, dx, dyb, w, wino, set & SET_0);
    if (dw || db) backward_weights(d, op, dw, db, dyb, x, wino);
}
