/* engine/backend/cpu/resize.c — resize: bilinear on oneDNN's linear resampling, whose half-pixel
 * rule with clamped edges is PyTorch's align_corners=False (backward writes scratch, then
 * accumulates); nearest in own OpenMP loops, since oneDNN's nearest rounds (dst + 0.5) * H/OH -
 * 0.5 where PyTorch floors dst * H/OH (op_math.h's nearest_src; 3 -> 7 rows differ at row 2).
 */
#include <string.h> // memcpy

#include "../op_math.h"
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

// nearest, y (N,OH,OW,C): each output pixel copies the C values of its source pixel
static void nearest_forward(Resize op, float *y, const float *x)
{
    int c = op.x.c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < op.x.n; n++)
        for (int oh = 0; oh < op.oh; oh++) {
            const float *xr = x + ((size_t)n * op.x.h + nearest_src(oh, op.x.h, op.oh)) * op.x.w * c;
            float *yr = y + ((size_t)n * op.oh + oh) * op.ow * c;
            for (int ow = 0; ow < op.ow; ow++)
                memcpy(yr + (size_t)ow * c, xr + (size_t)nearest_src(ow, op.x.w, op.ow) * c,
                       (size_t)c * sizeof(float));
        }
}

// nearest backward, dx (N,H,W,C) += the dy of every output pixel that copied it; threads own
// (image, source row) pairs, so no two add into the same dx
static void nearest_backward(Resize op, float *dx, const float *dy)
{
    int c = op.x.c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < op.x.n; n++)
        for (int ih = 0; ih < op.x.h; ih++) {
            float *dxr = dx + ((size_t)n * op.x.h + ih) * op.x.w * c;
            for (int oh = 0; oh < op.oh; oh++) {
                if (nearest_src(oh, op.x.h, op.oh) != ih) continue;
                const float *dyr = dy + ((size_t)n * op.oh + oh) * op.ow * c;
                for (int ow = 0; ow < op.ow; ow++) {
                    float *to = dxr + (size_t)nearest_src(ow, op.x.w, op.ow) * c;
                    const float *from = dyr + (size_t)ow * c;
#pragma omp simd
                    for (int k = 0; k < c; k++) to[k] += from[k];
                }
            }
        }
}

void cpu_resize_forward(Dev *d, Resize op, float *y, const float *x)
{
    if (op.mode == RESIZE_NEAREST) {
        nearest_forward(op, y, x);
        return;
    }
    CpuPrim *p = resize_prim(d, op);
    cpu_bind(p, 0, x);
    cpu_bind(p, 1, y);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->mem[0]}, {DNNL_ARG_DST, p->mem[1]}};
    cpu_exec(d, p, 0, 2, a);
}

void cpu_resize_backward(Dev *d, Resize op, float *dx, const float *dy, GradSet set)
{
    if (op.mode == RESIZE_NEAREST) {
        nearest_backward(op, dx, dy);
        return;
    }
    CpuPrim *p = resize_prim(d, op);
    float *tmp = cpu_scratch(d, 0, shape_numel(op.x));
    cpu_bind(p, 0, tmp);
    cpu_bind(p, 1, dy);
    dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_SRC, p->mem[0]}, {DNNL_ARG_DIFF_DST, p->mem[1]}};
    cpu_exec(d, p, 1, 2, a);
    cpu_accumulate(dx, tmp, shape_numel(op.x));
}
