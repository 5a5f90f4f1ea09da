/* engine/backend/cuda/eltwise.cu — elementwise kernels: activations, add, the elementwise
 * product, the SE channel gate, channel zero-padding (the option-A ResNet shortcut), dropout and
 * drop-path with the shared Philox draws, and the small helpers (bf16 conversion, accumulate,
 * bias add) the other files use. One thread per element, grid-stride loops.
 * Activation versions: 0 (default) our kernel running op_math.h's act_f, the formula the CPU op
 * test checks, so GPU and CPU agree to the last bit where the math library does; 1 cuDNN's
 * cudnnActivationForward for the four functions it has (relu, relu6, sigmoid, silu), kept for
 * comparison: it is no faster on a memory-bound map and rounds differently. Backward is always
 * ours: cuDNN's activation backward wants y, which the contract does not keep.
 */
#include "../../core/rng.h"
#include "../op_math.h"
#include "cuda.h"

#define FOR_N(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                         i += (size_t)gridDim.x * blockDim.x)

static unsigned grid(size_t n) { return (unsigned)MIN(cuda_blocks(n), (size_t)65535 * 8); }

__global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, size_t n)
{
    FOR_N(i, n) dst[i] = __float2bfloat16(src[i]);
}

__global__ void from_bf16_kernel(float *dst, const __nv_bfloat16 *src, size_t n, float beta)
{
    FOR_N(i, n) dst[i] = (beta != 0.0f ? beta * dst[i] : 0.0f) + __bfloat162float(src[i]);
}

__global__ void accumulate_kernel(float *dst, const float *src, size_t n)
{
    FOR_N(i, n) dst[i] += src[i];
}

__global__ void bias_add_kernel(float *y, const float *b, size_t rows, int cols)
{
    FOR_N(i, rows * cols) y[i] += b[i % cols];
}

void cuda_to_bf16(__nv_bfloat16 *dst, const float *src, size_t n)
{
    to_bf16_kernel<<<grid(n), CUDA_THREADS>>>(dst, src, n);
    LAUNCH_CHECK();
}

void cuda_from_bf16(float *dst, const __nv_bfloat16 *src, size_t n, float beta)
{
    from_bf16_kernel<<<grid(n), CUDA_THREADS>>>(dst, src, n, beta);
    LAUNCH_CHECK();
}

void cuda_accumulate(float *dst, const float *src, size_t n)
{
    accumulate_kernel<<<grid(n), CUDA_THREADS>>>(dst, src, n);
    LAUNCH_CHECK();
}

void cuda_bias_add(float *y, const float *b, size_t rows, int cols)
{
    bias_add_kernel<<<grid(rows * cols), CUDA_THREADS>>>(y, b, rows, cols);
    LAUNCH_CHECK();
}

// ---------------------------------------------------------------------------------------------
// activations

__global__ void act_forward_kernel(ActKind k, float *y, const float *x, size_t n)
{
    FOR_N(i, n) y[i] = act_f(k, x[i]);
}

__global__ void act_backward_kernel(ActKind k, float *dx, const float *dy, const float *x, size_t n)
{
    FOR_N(i, n) dx[i] += dy[i] * act_df(k, x[i]);
}

// cuDNN's activation for ours, when it computes exactly the same function
static bool cudnn_act(ActKind k, cudnnActivationMode_t *mode, double *coef)
{
    *coef = 0;
    switch (k) {
    case ACT_RELU: *mode = CUDNN_ACTIVATION_RELU; return true;
    case ACT_RELU6: *mode = CUDNN_ACTIVATION_CLIPPED_RELU; *coef = 6.0; return true;
    case ACT_SIGMOID: *mode = CUDNN_ACTIVATION_SIGMOID; return true;
    case ACT_SILU: *mode = CUDNN_ACTIVATION_SWISH; *coef = 1.0; return true;
    default: return false;
    }
}

// variant 1: cuDNN, when it has the function; false when it cannot run it (then ours runs)
static bool act_forward_cudnn(Dev *d, Act op, float *y, const float *x)
{
    cudnnActivationMode_t mode;
    double coef;
    if (!cudnn_act(op.act, &mode, &coef) || op.n > (size_t)INT32_MAX) return false;
    cudnnActivationDescriptor_t ad;
    cudnnTensorDescriptor_t td;
    CUDNN_CHECK(cudnnCreateActivationDescriptor(&ad));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&td));
    cudnnStatus_t st = cudnnSetActivationDescriptor(ad, mode, CUDNN_NOT_PROPAGATE_NAN, coef);
    if (st == CUDNN_STATUS_SUCCESS && mode == CUDNN_ACTIVATION_SWISH)
        st = cudnnSetActivationDescriptorSwishBeta(ad, 1.0);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetTensor4dDescriptor(td, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, (int)op.n);
    const float one = 1.0f, zero = 0.0f;
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnActivationForward(cuda_ctx(d)->dnn, ad, &one, td, x, &zero, td, y);
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(td));
    CUDNN_CHECK(cudnnDestroyActivationDescriptor(ad));
    if (st == CUDNN_STATUS_SUCCESS) return true;
    CHECK(CUDNN_STATUS_CATEGORY(st) == CUDNN_STATUS_NOT_SUPPORTED ||
              CUDNN_STATUS_CATEGORY(st) == CUDNN_STATUS_BAD_PARAM,
          "act_forward on cuda: cuDNN failed: %s", cudnnGetErrorString(st));
    cuda_log_fallback(d, FALLBACK_ACT, "act_forward: cuDNN refused the activation");
    return false;
}

extern "C" void cuda_act_forward(Dev *d, Act op, float *y, const float *x)
{
    if (d->variant == 1 && act_forward_cudnn(d, op, y, x)) return;
    act_forward_kernel<<<grid(op.n), CUDA_THREADS>>>(op.act, y, x, op.n);
    LAUNCH_CHECK();
}

extern "C" void cuda_act_backward(Dev *d, Act op, float *dx, const float *dy, const float *x, GradSet set)
{
    act_backward_kernel<<<grid(op.n), CUDA_THREADS>>>(op.act, dx, dy, x, op.n);
    LAUNCH_CHECK();
}

// ---------------------------------------------------------------------------------------------
// add, elementwise product, channel gate

__global__ void add_kernel(float *y, const float *a, const float *b, size_t n, ActKind act)
{
    FOR_N(i, n) y[i] = act_f(act, a[i] + b[i]);
}

// g = dy * act'(a+b), read off y (relu, relu6: ops.h); da += g, db += g
__global__ void add_backward_kernel(float *da, float *db, const float *dy, const float *y, size_t n,
                                    ActKind act)
{
    FOR_N(i, n) {
        float g = act == ACT_NONE ? dy[i] : dy[i] * act_df(act, y[i]);
        if (da) da[i] += g;
        if (db) db[i] += g;
    }
}

extern "C" void cuda_add_forward(Dev *d, Add op, float *y, const float *a, const float *b)
{
    add_kernel<<<grid(op.n), CUDA_THREADS>>>(y, a, b, op.n, op.act);
    LAUNCH_CHECK();
}

extern "C" void cuda_add_backward(Dev *d, Add op, float *da, float *db, const float *dy, const float *y, GradSet set)
{
    add_backward_kernel<<<grid(op.n), CUDA_THREADS>>>(da, db, dy, y, op.n, op.act);
    LAUNCH_CHECK();
}

// elementwise product: y = a * b; backward da += dy * b, db += dy * a (ops.c zero-fills for set
// bits: the table has no write path)
__global__ void mul_kernel(float *y, const float *a, const float *b, size_t n)
{
    FOR_N(i, n) y[i] = a[i] * b[i];
}

__global__ void mul_backward_kernel(float *da, float *db, const float *dy, const float *a,
                                    const float *b, size_t n)
{
    FOR_N(i, n) {
        if (da) da[i] += dy[i] * b[i];
        if (db) db[i] += dy[i] * a[i];
    }
}

extern "C" void cuda_mul_forward(Dev *d, Mul op, float *y, const float *a, const float *b)
{
    mul_kernel<<<grid(op.n), CUDA_THREADS>>>(y, a, b, op.n);
    LAUNCH_CHECK();
}

extern "C" void cuda_mul_backward(Dev *d, Mul op, float *da, float *db, const float *dy,
                                  const float *a, const float *b, GradSet set)
{
    mul_backward_kernel<<<grid(op.n), CUDA_THREADS>>>(da, db, dy, a, b, op.n);
    LAUNCH_CHECK();
}

__global__ void chanmul_kernel(float *y, const float *x, const float *s, size_t n, size_t hwc, int c)
{
    FOR_N(i, n) y[i] = x[i] * s[(i / hwc) * c + i % c];
}

__global__ void chanmul_dx_kernel(float *dx, const float *dy, const float *s, size_t n, size_t hwc, int c)
{
    FOR_N(i, n) dx[i] += dy[i] * s[(i / hwc) * c + i % c];
}

// one thread per (n, c): the sum over H*W of dy*x, strided by C
__global__ void chanmul_ds_kernel(float *ds, const float *dy, const float *x, int nc, size_t hw, int c)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= nc) return;
    size_t base = (size_t)(t / c) * hw * c + t % c;
    double acc = 0; // as ref: the SE gate sums a whole feature map
    for (size_t i = 0; i < hw; i++) acc += (double)dy[base + i * c] * x[base + i * c];
    ds[t] += (float)acc;
}

extern "C" void cuda_chanmul_forward(Dev *d, ChanMul op, float *y, const float *x, const float *s)
{
    size_t n = shape_numel(op.x), hwc = (size_t)op.x.h * op.x.w * op.x.c;
    chanmul_kernel<<<grid(n), CUDA_THREADS>>>(y, x, s, n, hwc, op.x.c);
    LAUNCH_CHECK();
}

extern "C" void cuda_chanmul_backward(Dev *d, ChanMul op, float *dx, float *ds, const float *dy,
                                      const float *x, const float *s, GradSet set)
{
    size_t n = shape_numel(op.x), hw = (size_t)op.x.h * op.x.w;
    if (dx) {
        chanmul_dx_kernel<<<grid(n), CUDA_THREADS>>>(dx, dy, s, n, hw * op.x.c, op.x.c);
        LAUNCH_CHECK();
    }
    if (ds) {
        int nc = op.x.n * op.x.c;
        chanmul_ds_kernel<<<cuda_blocks((size_t)nc), CUDA_THREADS>>>(ds, dy, x, nc, hw, op.x.c);
        LAUNCH_CHECK();
    }
}

// ---------------------------------------------------------------------------------------------
// channel zero-padding: forward one thread per output element (zero or a copy), backward one per
// input element (each reads its one dy), so neither needs atomics

__global__ void chanpad_forward_kernel(float *y, const float *x, size_t n, int c, int before, int oc)
{
    FOR_N(i, n) {
        int k = (int)(i % oc) - before;
        y[i] = k >= 0 && k < c ? x[(i / oc) * c + k] : 0.0f;
    }
}

// a slice: one thread per element of x, into its place in y
__global__ void chanpad_slice_kernel(float *y, const float *x, size_t n, int c, int before, int oc)
{
    FOR_N(i, n) y[(i / c) * oc + before + i % c] = x[i];
}

__global__ void chanpad_backward_kernel(float *dx, const float *dy, size_t n, int c, int before, int oc)
{
    FOR_N(i, n) dx[i] += dy[(i / c) * oc + before + i % c];
}

extern "C" void cuda_chanpad_forward(Dev *d, ChanPad op, float *y, const float *x)
{
    int oc = op.x.c + op.before + op.after;
    if (op.slice) {
        size_t n = shape_numel(op.x);
        chanpad_slice_kernel<<<grid(n), CUDA_THREADS>>>(y, x, n, op.x.c, op.before, oc);
        LAUNCH_CHECK();
        return;
    }
    size_t n = shape_numel(op.x) / op.x.c * oc;
    chanpad_forward_kernel<<<grid(n), CUDA_THREADS>>>(y, x, n, op.x.c, op.before, oc);
    LAUNCH_CHECK();
}

extern "C" void cuda_chanpad_backward(Dev *d, ChanPad op, float *dx, const float *dy, GradSet set)
{
    if (!dx) return;
    int oc = op.x.c + op.before + op.after;
    size_t n = shape_numel(op.x);
    chanpad_backward_kernel<<<grid(n), CUDA_THREADS>>>(dx, dy, n, op.x.c, op.before, oc);
    LAUNCH_CHECK();
}

// ---------------------------------------------------------------------------------------------
// dropout and drop-path: the draws of rng.h, as ref and cpu make them

__global__ void dropout_kernel(Drop op, float *out, const float *in, bool accumulate)
{
    size_t n = (size_t)op.n * op.per_sample;
    float scale = 1.0f / (1.0f - op.p);
    FOR_N(k, n) {
        size_t i = k / op.per_sample, j = k % op.per_sample;
        bool keep = rng_uniform(op.key, op.sample0 + i, j) >= op.p;
        if (accumulate) { if (keep) out[k] += in[k] * scale; }
        else out[k] = keep ? in[k] * scale : 0.0f;
    }
}

__global__ void droppath_kernel(Drop op, float *out, const float *in, bool accumulate)
{
    size_t n = (size_t)op.n * op.per_sample;
    float scale = 1.0f / (1.0f - op.p);
    FOR_N(k, n) {
        bool keep = rng_uniform(op.key, 0, op.sample0 + k / op.per_sample) >= op.p;
        if (accumulate) { if (keep) out[k] += in[k] * scale; }
        else out[k] = keep ? in[k] * scale : 0.0f;
    }
}

extern "C" void cuda_dropout_forward(Dev *d, Drop op, float *y, const float *x)
{
    dropout_kernel<<<grid((size_t)op.n * op.per_sample), CUDA_THREADS>>>(op, y, x, false);
    LAUNCH_CHECK();
}

extern "C" void cuda_dropout_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    dropout_kernel<<<grid((size_t)op.n * op.per_sample), CUDA_THREADS>>>(op, dx, dy, true);
    LAUNCH_CHECK();
}

extern "C" void cuda_droppath_forward(Dev *d, Drop op, float *y, const float *x)
{
    droppath_kernel<<<grid((size_t)op.n * op.per_sample), CUDA_THREADS>>>(op, y, x, false);
    LAUNCH_CHECK();
}

extern "C" void cuda_droppath_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    droppath_kernel<<<grid((size_t)op.n * op.per_sample), CUDA_THREADS>>>(op, dx, dy, true);
    LAUNCH_CHECK();
}
