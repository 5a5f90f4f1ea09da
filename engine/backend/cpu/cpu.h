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

enum { CPU_MAX_PRIMS = 5, CPU_MAX_MEMS = 12, CPU_SCRATCH = 11 };

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
    int                   chunks;    // conv: the batch chunks its primitives take
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

// Batch chunks: the same bits at any OpenMP thread count. oneDNN's convolution kernels split
// their work (and so their sums: backward weights over images and pixels, Winograd's transformed
// products) by the thread count they were created for, so the default version runs each
// convolution primitive once per fixed chunk of the batch, created for one thread: chunk i of n
// images is [n*i/k, n*(i+1)/k), with k (cpu_n_chunks) a function of the shape alone; primitive 0
// of an entry takes chunks of ceil(n/k) images, primitive CPU_P_SMALL those of floor(n/k) (when
// it differs). The chunks run as many at once as there are threads (a wave), each on its own
// stream with its own scratchpad; results that are sums over the batch land per chunk in slots
// and are added in chunk order by the caller's wave callback.
enum { CPU_CHUNKS = 8, CPU_CHUNK_PIX = 1024, CPU_P_SMALL = 4 };
// k for n images of pix output pixels each: about CPU_CHUNK_PIX pixels a chunk or more (what a
// chunk repeats, Winograd's kernel transform or a weight gradient to add, stays small beside its
// work), at least 2 (both cores of this machine) and at most CPU_CHUNKS, at most n
int  cpu_n_chunks(int n, long pix);
void cpu_chunk(int n, int k, int i, int *lo, int *cnt);
// creates primitive i of p for one thread with a user scratchpad (attr may be NULL; hint: the
// forward pd of a backward pass); returns oneDNN's status (nothing is left on failure)
dnnl_status_t cpu_prim_create_serial(Dev *d, CpuPrim *p, int i, const void *op_desc,
                                     const_dnnl_primitive_attr_t attr, const void *hint_desc);
// one argument of a chunked execution: chunk i (in slot j of its wave) gets ptr + lo*image +
// j*slot bytes (image 0: the same buffer for every chunk; slot: per-wave-slot results)
typedef struct { int arg; const void *ptr; size_t image, slot; } ChunkArg;
// runs p's op over the p->chunks chunks of n images; wave(ctx, first, count) (may be NULL)
// after each wave
void cpu_exec_chunks(Dev *d, CpuPrim *p, int n, const ChunkArg *a, int na,
                     void (*wave)(void *ctx, int first, int count), void *ctx);
// how many of k chunks run at once (the slots a wave uses)
int cpu_wave_slots(int k);

// C (M x N, row-major, ldc) = alpha op(A) op(B) + beta C with dnnl_sgemm's arguments, the same
// bits at any thread count: oneDNN's GEMM splits K by thread where the output is small, so the
// work is cut by shape alone into fixed blocks of output rows or columns, each one
// single-threaded GEMM over all of K; or, for a small output over a long K (a 1x1 convolution's
// weight gradient over every pixel), into fixed K chunks whose products are added in order
void cpu_sgemm(Dev *d, char ta, char tb, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc);
// one dnnl_sgemm on the calling thread alone (inside a caller's own parallel blocks)
void cpu_sgemm_1t(char ta, char tb, long m, long n, long k, float alpha, const float *a, long lda,
                  const float *b, long ldb, float beta, float *c, long ldc);

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
// m rows of a 1x1 stride-1 convolution on the calling thread alone: y = act(x w^T + b) (conv2d.c)
void cpu_gemm_rows(Conv2d o, float *y, const float *x, const float *w, const float *b, long m);

OPS_DECLARE(cpu) // every op of ops.h as cpu_<op>
OpFn_conv2d_chain_forward cpu_conv2d_chain_forward; // dwconv.c

#endif
