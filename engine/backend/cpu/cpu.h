/* engine/backend/cpu/cpu.h — the fast CPU backend's private header: oneDNN + OpenMP.
 *
 * oneDNN primitives are created once per op description and cached on the Dev (CpuCtx), with
 * their memory objects; each call only swaps data pointers and executes. oneDNN writes its
 * results (forward overwrite semantics); our gradients accumulate, so backward primitives write
 * into ctx scratch and cpu_accumulate adds — except where an own OpenMP loop fuses the
 * accumulation into a single pass (activation backward, batch-norm backward, pooling backward
 * of simple windows), which is why those exist beside the library.
 * Set REPRO_DNNL_VERBOSE=1 to print which oneDNN implementation each new primitive uses.
 */
#ifndef CPU_H
#define CPU_H

#include <oneapi/dnnl/dnnl.h>

#include "../ops.h"

#define DNNL_CHECK(stmt)                                                                     \
    do {                                                                                     \
        dnnl_status_t s_ = (stmt);                                                           \
        if (s_ != dnnl_success) die_at(__FILE__, __LINE__, #stmt, "oneDNN call failed: status %d", (int)s_); \
    } while (0)

enum { CPU_MAX_PRIMS = 4, CPU_MAX_MEMS = 12, CPU_SCRATCH = 7 };

// one cached entry: up to 4 primitives (e.g. a reorder, then the op) and their memory objects
typedef struct {
    int                   kind;      // CPU_K_*: which op and pass
    OpKey                 key;       // the op description (ops.h)
    dnnl_primitive_desc_t pd[CPU_MAX_PRIMS];
    dnnl_primitive_t      prim[CPU_MAX_PRIMS];
    dnnl_memory_t         mem[CPU_MAX_MEMS];
    size_t                bytes[CPU_MAX_MEMS]; // sizes of memories living in private buffers
    float                *own[CPU_MAX_MEMS];   // private buffers (blocked weights, workspaces)
    bool                  plain;     // pooling: an own loop serves this description; conv: the
                                     // Winograd version was refused, direct runs
} CpuPrim;

typedef struct {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CpuPrim     **cache;    // entries never move: callers may hold one while creating another
    int           n_cache, cap_cache;
    float        *scratch[CPU_SCRATCH];   // grown on demand, owned here
    size_t        scratch_n[CPU_SCRATCH];
    bool          verbose;
    int           wino_refused; // convolutions that asked for Winograd and got direct (said once)
} CpuCtx;

enum { CPU_K_CONV_FWD = 1, CPU_K_CONV_BWD_D, CPU_K_CONV_BWD_W, CPU_K_CONV_DY, CPU_K_BN_FWD, CPU_K_BN_BWD,
       CPU_K_POOL_MAX, CPU_K_POOL_AVG, CPU_K_ACT_FWD, CPU_K_LINEAR, CPU_K_RESIZE };

static inline CpuCtx *cpu_ctx(Dev *d) { return (CpuCtx *)d->ctx; }

// the cache entry for (kind, description); *fresh is set when it was just created (zeroed)
CpuPrim *cpu_prim(Dev *d, int kind, OpKey key, bool *fresh);
// creates primitive i of p from its descriptor (op desc or reorder), logging the implementation
void     cpu_prim_create(Dev *d, CpuPrim *p, int i, const void *op_desc, const dnnl_primitive_desc_t hint);
void     cpu_prim_create_attr(Dev *d, CpuPrim *p, int i, const void *op_desc,
                              const_dnnl_primitive_attr_t attr);
void     cpu_reorder_create(Dev *d, CpuPrim *p, int i, const dnnl_memory_desc_t *from,
                            const dnnl_memory_desc_t *to);
// memory object j of p for md, with a private buffer (own = true) or a pointer set per call
void     cpu_mem(Dev *d, CpuPrim *p, int j, const dnnl_memory_desc_t *md, bool own);
void     cpu_bind(CpuPrim *p, int j, const void *ptr);          // set memory j's data pointer
void     cpu_exec(Dev *d, CpuPrim *p, int i, int nargs, const dnnl_exec_arg_t *args);
float   *cpu_scratch(Dev *d, int slot, size_t n);               // floats, 64-byte aligned

// memory descriptors of our layouts
dnnl_memory_desc_t cpu_md_nhwc(Shape4 s);
dnnl_memory_desc_t cpu_md_2d(int rows, int cols);
dnnl_memory_desc_t cpu_md_1d(int n);

// oneDNN's eltwise algorithm for an activation; false when oneDNN has none (hard-sigmoid)
bool cpu_act_alg(ActKind k, dnnl_alg_kind_t *alg, float *alpha, float *beta);

// dst[i] += src[i], OpenMP + SIMD
void cpu_accumulate(float *dst, const float *src, size_t n);

// 16 floats, one pixel's 16 channels (one zmm with AVX-512), for the own kernels' vector code;
// unaligned access, and it may alias the float buffers it is loaded from
typedef float v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int   v16i __attribute__((vector_size(64)));

// Winograd F(4x4,3x3) (winograd.c): cpu_wino_shape, the convolutions oneDNN's can serve (3x3,
// stride 1, no dilation, groups, bias or fused activation, C and OC multiples of 16; conv2d.c gives
// those above our limits to oneDNN's); cpu_wino_applies, those our kernels take (forward: with a
// bias and a fused activation too)
bool cpu_wino_shape(Conv2d o);
bool cpu_wino_applies(Conv2d o);
void cpu_wino_forward(Dev *d, Conv2d o, float *y, const float *x, const float *w, const float *b);
void cpu_wino_backward_data(Dev *d, Conv2d o, float *dx, const float *dy, const float *w, bool set);
void cpu_wino_backward_weights(Dev *d, Conv2d o, float *dw, const float *dy, const float *x);

// depthwise convolution (dwconv.c): groups = C = OC, no dilation, up to 7x7; any stride, padding,
// bias, fused activation (forward)
bool cpu_dw_applies(Conv2d o);
void cpu_dw_forward(Dev *d, Conv2d o, float *y, const float *x, const float *w, const float *b);
void cpu_dw_backward_data(Dev *d, Conv2d o, float *dx, const float *dy, const float *w, bool set);
void cpu_dw_backward_weights(Dev *d, Conv2d o, float *dw, float *db, const float *dy, const float *x);
bool cpu_dw_weights_own(Conv2d o); // backward weights: ours (else oneDNN's) for this description

OPS_DECLARE(cpu) // every op of ops.h as cpu_<op>

#endif
