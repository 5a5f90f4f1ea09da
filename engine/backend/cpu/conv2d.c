/* engine/backend/cpu/conv2d.c — convolution on oneDNN: forward, backward data, backward weights.
 *
 * Activations are NHWC as everywhere; weights are stored (OC,KH,KW,C/G) ("ohwi", "gohwi" with
 * groups) but handed to oneDNN as format `any`: its fast AVX-512 kernels want blocked weights, and
 * reordering a few thousand weights per call costs microseconds while a plain-layout kernel costs
 * milliseconds. Each pass is one cache entry per description: the op primitive, the weight
 * reorder, and their memories. Backward results land in scratch and are added (+=) to the
 * caller's gradients. A fused activation (inference) is a oneDNN eltwise post-op; hard-sigmoid,
 * which oneDNN 2.6 lacks, runs in place after the convolution.
 */
#include "cpu.h"

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

static dnnl_convolution_desc_t fwd_desc(Conv2d o)
{
    dnnl_convolution_desc_t cd;
    Geometry g = geometry(o);
    dnnl_memory_desc_t x = cpu_md_nhwc(o.x), y = cpu_md_nhwc(conv2d_out(o)), w = weights_md(o, true);
    dnnl_memory_desc_t b = cpu_md_1d(o.oc);
    DNNL_CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_training,
        dnnl_convolution_direct, &x, &w, o.bias ? &b : NULL, &y, g.strides, g.dil, g.pad_l, g.pad_r));
    return cd;
}

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

void cpu_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w, const float *b)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_CONV_FWD, conv2d_key(op), &fresh);
    dnnl_alg_kind_t alg;
    float alpha, beta;
    bool post_op = op.act && cpu_act_alg(op.act, &alg, &alpha, &beta);
    if (fresh) {
        dnnl_convolution_desc_t cd = fwd_desc(op);
        dnnl_primitive_attr_t attr;
        dnnl_post_ops_t po;
        DNNL_CHECK(dnnl_primitive_attr_create(&attr));
        DNNL_CHECK(dnnl_post_ops_create(&po));
        if (post_op) DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, beta));
        DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
        cpu_prim_create_attr(d, p, 0, &cd, attr);
        dnnl_post_ops_destroy(po);
        dnnl_primitive_attr_destroy(attr);
        weights_reorder(d, p, 0, op, dnnl_query_weights_md, true);
        dnnl_memory_desc_t xm = cpu_md_nhwc(op.x), ym = cpu_md_nhwc(conv2d_out(op)), bm = cpu_md_1d(op.oc);
        cpu_mem(d, p, 2, &xm, false);
        cpu_mem(d, p, 3, &ym, false);
        cpu_mem(d, p, 4, &bm, false);
    }
    cpu_bind(p, 0, w);
    cpu_bind(p, 2, x);
    cpu_bind(p, 3, y);
    dnnl_memory_t wop = p->mem[1] ? p->mem[1] : p->mem[0];
    if (p->prim[1]) {
        dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[0]}, {DNNL_ARG_TO, p->mem[1]}};
        cpu_exec(d, p, 1, 2, r);
    }
    if (b) cpu_bind(p, 4, b);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[2]}, {DNNL_ARG_WEIGHTS, wop},
                           {DNNL_ARG_DST, p->mem[3]}, {DNNL_ARG_BIAS, p->mem[4]}};
    cpu_exec(d, p, 0, b ? 4 : 3, a);
    if (op.act && !post_op) {
        Act act = {shape_numel(conv2d_out(op)), op.act};
        cpu_act_forward(d, act, y, y);
    }
}

static void backward_data(Dev *d, Conv2d op, float *dx, const float *dy, const float *w)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_CONV_BWD_D, conv2d_key(op), &fresh);
    if (fresh) {
        dnnl_convolution_desc_t fd = fwd_desc(op), cd;
        DNNL_CHECK(dnnl_primitive_desc_create(&p->pd[2], &fd, NULL, cpu_ctx(d)->eng, NULL)); // hint
        Geometry g = geometry(op);
        dnnl_memory_desc_t xm = cpu_md_nhwc(op.x), ym = cpu_md_nhwc(conv2d_out(op)), wm = weights_md(op, true);
        DNNL_CHECK(dnnl_dilated_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct,
            &xm, &wm, &ym, g.strides, g.dil, g.pad_l, g.pad_r));
        cpu_prim_create(d, p, 0, &cd, p->pd[2]);
        weights_reorder(d, p, 0, op, dnnl_query_weights_md, true);
        cpu_mem(d, p, 2, &xm, false);
        cpu_mem(d, p, 3, &ym, false);
    }
    float *tmp = cpu_scratch(d, 0, shape_numel(op.x));
    cpu_bind(p, 0, w);
    cpu_bind(p, 2, tmp);
    cpu_bind(p, 3, dy);
    if (p->prim[1]) {
        dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[0]}, {DNNL_ARG_TO, p->mem[1]}};
        cpu_exec(d, p, 1, 2, r);
    }
    dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_SRC, p->mem[2]},
                           {DNNL_ARG_WEIGHTS, p->mem[1] ? p->mem[1] : p->mem[0]},
                           {DNNL_ARG_DIFF_DST, p->mem[3]}};
    cpu_exec(d, p, 0, 3, a);
    cpu_accumulate(dx, tmp, shape_numel(op.x));
}

static void backward_weights(Dev *d, Conv2d op, float *dw, float *db, const float *dy, const float *x)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_CONV_BWD_W, conv2d_key(op), &fresh);
    size_t wn = (size_t)op.oc * op.kh * op.kw * (op.x.c / op.g);
    if (fresh) {
        dnnl_convolution_desc_t fd = fwd_desc(op), cd;
        DNNL_CHECK(dnnl_primitive_desc_create(&p->pd[2], &fd, NULL, cpu_ctx(d)->eng, NULL));
        Geometry g = geometry(op);
        dnnl_memory_desc_t xm = cpu_md_nhwc(op.x), ym = cpu_md_nhwc(conv2d_out(op)), wm = weights_md(op, true);
        dnnl_memory_desc_t bm = cpu_md_1d(op.oc);
        DNNL_CHECK(dnnl_dilated_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct,
            &xm, &wm, op.bias ? &bm : NULL, &ym, g.strides, g.dil, g.pad_l, g.pad_r));
        cpu_prim_create(d, p, 0, &cd, p->pd[2]);
        weights_reorder(d, p, 0, op, dnnl_query_diff_weights_md, false);
        cpu_mem(d, p, 2, &xm, false);
        cpu_mem(d, p, 3, &ym, false);
        cpu_mem(d, p, 4, &bm, false);
    }
    float *tw = cpu_scratch(d, 1, wn), *tb = cpu_scratch(d, 2, (size_t)op.oc);
    cpu_bind(p, 0, tw); // our layout: the result, or the reorder's destination
    cpu_bind(p, 2, x);
    cpu_bind(p, 3, dy);
    cpu_bind(p, 4, tb);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[2]}, {DNNL_ARG_DIFF_DST, p->mem[3]},
                           {DNNL_ARG_DIFF_WEIGHTS, p->mem[1] ? p->mem[1] : p->mem[0]},
                           {DNNL_ARG_DIFF_BIAS, p->mem[4]}};
    cpu_exec(d, p, 0, op.bias ? 4 : 3, a);
    if (p->prim[1]) {
        dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, p->mem[1]}, {DNNL_ARG_TO, p->mem[0]}};
        cpu_exec(d, p, 1, 2, r);
    }
    if (dw) cpu_accumulate(dw, tw, wn);
    if (db) cpu_accumulate(db, tb, (size_t)op.oc);
}

void cpu_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w)
{
    if (dx) backward_data(d, op, dx, dy, w);
    if (dw || db) backward_weights(d, op, dw, db, dy, x);
}
