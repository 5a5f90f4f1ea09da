/* engine/backend/cpu/resize.c — bilinear resize on oneDNN's linear resampling, whose
 * half-pixel rule with clamped edges is PyTorch's align_corners=False. Backward writes scratch,
 * then accumulates.
 */
#include "cpu.h"

static CpuPrim *resize_prim(Dev *d, Resize op)
{
    bool fresh;
    CpuPrim *p = cpu_prim(d, CPU_K_RESIZE, resize_key(op), &fresh);
    if (!fresh) return p;
    Shape4 ys = {op.x.n, op.oh, op.ow, op.x.c};
    dnnl_memory_desc_t xm = cpu_md_nhwc(op.x), ym = cpu_md_nhwc(ys);
    dnnl_resampling_desc_t fd, bd;
    DNNL_CHECK(dnnl_resampling_forward_desc_init(&fd, dnnl_forward_training, dnnl_resampling_linear,
                                                 NULL, &xm, &ym));
    cpu_prim_create(d, p, 0, &fd, NULL);
    DNNL_CHECK(dnnl_resampling_backward_desc_init(&bd, dnnl_resampling_linear, NULL, &xm, &ym));
    cpu_prim_create(d, p, 1, &bd, p->pd[0]);
    cpu_mem(d, p, 0, &xm, false);
    cpu_mem(d, p, 1, &ym, false);
    return p;
}

void cpu_resize_forward(Dev *d, Resize op, float *y, const float *x)
{
    CpuPrim *p = resize_prim(d, op);
    cpu_bind(p, 0, x);
    cpu_bind(p, 1, y);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[0]}, {DNNL_ARG_DST, p->mem[1]}};
    cpu_exec(d, p, 0, 2, a);
}

void cpu_resize_backward(Dev *d, Resize op, float *dx, const float *dy, GradSet set)
{
    CpuPrim *p = resize_prim(d, op);
    float *tmp = cpu_scratch(d, 0, shape_numel(op.x));
    cpu_bind(p, 0, tmp);
    cpu_bind(p, 1, dy);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_SRC, p->mem[0]}, {DNNL_ARG_DIFF_DST, p->mem[1]}};
    cpu_exec(d, p, 1, 2, a);
    cpu_accumulate(dx, tmp, shape_numel(op.x));
}
