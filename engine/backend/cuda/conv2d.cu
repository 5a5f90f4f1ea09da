/* engine/backend/cuda/conv2d.cu — convolution on cuDNN: forward, backward data, backward filter.
 *
 * NHWC tensors; our weights (OC,KH,KW,C/G) are cuDNN's NHWC filter layout with logical dims
 * (K=OC, C/G, KH, KW); groups through cudnnSetConvolutionGroupCount. One cache entry per
 * (description, precision) holds the descriptors and the algorithms chosen once by the
 * cudnnGet*_v7 heuristics (the first that succeeded and fits 512 MB of workspace). Float32 mode
 * pins the descriptor to CUDNN_FMA_MATH (no TF32: the op test compares against float32
 * references); bf16 mode runs tensor-op math on bf16 copies of x, w and dy with float32
 * accumulation (compute type CUDNN_DATA_FLOAT), the bf16 result converted back by a kernel.
 * Gradients accumulate through cuDNN's beta = 1 in float32 mode, through the conversion kernel
 * (dst = dst + float(result)) in bf16 mode. Bias and the fused activation are our kernels
 * (cuDNN's fused ConvolutionBiasActivationForward covers ReLU only).
 * Versions: 0 cuDNN (default); 1 the direct kernels of conv_direct.cu (Dev.variant = 1), which
 * are also the fallback, per pass and logged once, when cuDNN refuses a configuration.
 */
#include <stdio.h>  // snprintf
#include <string.h> // memcmp

#include "cuda.h"

static const size_t WS_LIMIT = (size_t)512 << 20;

enum { PASS_FWD, PASS_DATA, PASS_FILTER };

struct ConvEntry {
    OpKey key;
    Precision prec;
    bool direct[3]; // per pass: cuDNN refused it, our kernel runs
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    size_t ws[3];
};

void cuda_conv_cache_free(CudaCtx *c)
{
    for (int i = 0; i < c->n_conv; i++) {
        ConvEntry *e = c->conv[i];
        cudnnDestroyTensorDescriptor(e->x);
        cudnnDestroyTensorDescriptor(e->y);
        cudnnDestroyFilterDescriptor(e->w);
        cudnnDestroyConvolutionDescriptor(e->conv);
        free(e);
    }
    free(c->conv);
}

static bool refused(cudnnStatus_t s)
{
    return CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_NOT_SUPPORTED ||
           CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_BAD_PARAM;
}

// a pass of e falls back to our kernel: remembered in the entry, said once per context
static void fall_back(Dev *d, ConvEntry *e, int pass, cudnnStatus_t s)
{
    static const char *what[3] = {"conv2d forward", "conv2d backward-data", "conv2d backward-filter"};
    CHECK(refused(s), "%s on cuda: cuDNN failed: %s", what[pass], cudnnGetErrorString(s));
    e->direct[pass] = true;
    char msg[160];
    snprintf(msg, sizeof msg, "%s: cuDNN refused a configuration (%s)", what[pass],
             cudnnGetErrorString(s));
    cuda_log_fallback(d, FALLBACK_CONV_FWD + pass, msg);
}

// index of the algorithm to take from a heuristic list: the first that succeeded, fits the
// workspace and, in float32 mode, does not ask for tensor-op (TF32) math; -1 when none
template <typename Perf> static int pick(const Perf *p, int count, bool bf)
{
    for (int k = 0; k < count; k++)
        if (p[k].status == CUDNN_STATUS_SUCCESS && p[k].memory <= WS_LIMIT &&
            (bf || (p[k].mathType != CUDNN_TENSOR_OP_MATH &&
                    p[k].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)))
            return k;
    return -1;
}

static cudnnStatus_t describe(ConvEntry *e, Conv2d o, bool bf)
{
    cudnnDataType_t t = bf ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    Shape4 ys = conv2d_out(o);
    cudnnStatus_t s = cudnnSetTensor4dDescriptor(e->x, CUDNN_TENSOR_NHWC, t, o.x.n, o.x.c, o.x.h, o.x.w);
    if (!s) s = cudnnSetTensor4dDescriptor(e->y, CUDNN_TENSOR_NHWC, t, ys.n, ys.c, ys.h, ys.w);
    if (!s) s = cudnnSetFilter4dDescriptor(e->w, t, CUDNN_TENSOR_NHWC, o.oc, o.x.c / o.g, o.kh, o.kw);
    if (!s) s = cudnnSetConvolution2dDescriptor(e->conv, o.ph, o.pw, o.sh, o.sw, o.dh, o.dw,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
    if (!s) s = cudnnSetConvolutionGroupCount(e->conv, o.g);
    if (!s) s = cudnnSetConvolutionMathType(e->conv, bf ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
    int n, h, w, ch;
    if (!s) s = cudnnGetConvolution2dForwardOutputDim(e->conv, e->x, e->w, &n, &ch, &h, &w);
    if (!s)
        CHECK(n == ys.n && ch == ys.c && h == ys.h && w == ys.w,
              "conv2d on cuda: cuDNN's output (%d,%d,%d,%d) differs from ours (%d,%d,%d,%d)", n, h,
              w, ch, ys.n, ys.h, ys.w, ys.c);
    return s;
}

static ConvEntry *conv_entry(Dev *d, Conv2d o)
{
    CudaCtx *c = cuda_ctx(d);
    o.act = ACT_NONE; // the activation is applied after the convolution: same entry
    OpKey key = conv2d_key(o);
    for (int i = 0; i < c->n_conv; i++)
        if (c->conv[i]->prec == d->prec && memcmp(&c->conv[i]->key, &key, sizeof key) == 0)
            return c->conv[i];
    ConvEntry *e = (ConvEntry *)xcalloc(1, sizeof *e);
    e->key = key;
    e->prec = d->prec;
    bool bf = d->prec == PREC_BF16;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&e->x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&e->y));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&e->w));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&e->conv));
    cudnnStatus_t s = describe(e, o, bf);
    if (s) {
        for (int p = PASS_FWD; p <= PASS_FILTER; p++) fall_back(d, e, p, s);
    } else {
        int got = 0, k;
        cudnnConvolutionFwdAlgoPerf_t pf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT * 2];
        s = cudnnGetConvolutionForwardAlgorithm_v7(c->dnn, e->x, e->w, e->conv, e->y, LEN(pf), &got, pf);
        if (!s && (k = pick(pf, got, bf)) >= 0) e->fwd = pf[k].algo, e->ws[PASS_FWD] = pf[k].memory;
        else fall_back(d, e, PASS_FWD, s ? s : CUDNN_STATUS_NOT_SUPPORTED);
        cudnnConvolutionBwdDataAlgoPerf_t pd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT * 2];
        s = cudnnGetConvolutionBackwardDataAlgorithm_v7(c->dnn, e->w, e->y, e->conv, e->x, LEN(pd), &got, pd);
        if (!s && (k = pick(pd, got, bf)) >= 0) e->bwd_data = pd[k].algo, e->ws[PASS_DATA] = pd[k].memory;
        else fall_back(d, e, PASS_DATA, s ? s : CUDNN_STATUS_NOT_SUPPORTED);
        cudnnConvolutionBwdFilterAlgoPerf_t pw[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT * 2];
        s = cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->dnn, e->x, e->y, e->conv, e->w, LEN(pw), &got, pw);
        if (!s && (k = pick(pw, got, bf)) >= 0) e->bwd_filter = pw[k].algo, e->ws[PASS_FILTER] = pw[k].memory;
        else fall_back(d, e, PASS_FILTER, s ? s : CUDNN_STATUS_NOT_SUPPORTED);
        // the getters leave the descriptor's math type alone; set it again all the same
        CUDNN_CHECK(cudnnSetConvolutionMathType(e->conv, bf ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
    }
    if (c->n_conv == c->cap_conv) {
        c->cap_conv = c->cap_conv ? 2 * c->cap_conv : 32;
        ConvEntry **grown = (ConvEntry **)realloc(c->conv, (size_t)c->cap_conv * sizeof *grown);
        CHECK(grown, "conv2d on cuda: out of host memory");
        c->conv = grown;
    }
    c->conv[c->n_conv++] = e;
    return e;
}

static size_t weights_numel(Conv2d o) { return (size_t)o.oc * o.kh * o.kw * (o.x.c / o.g); }

// bf16 copy of a float32 tensor in scratch slot `slot`
static const __nv_bfloat16 *bf16_copy(Dev *d, int slot, const float *src, size_t n)
{
    __nv_bfloat16 *dst = (__nv_bfloat16 *)cuda_scratch(d, slot, n * sizeof(__nv_bfloat16));
    cuda_to_bf16(dst, src, n);
    return dst;
}

static void *workspace(Dev *d, size_t bytes) { return bytes ? cuda_scratch(d, SCR_WS, bytes) : NULL; }

// ---------------------------------------------------------------------------------------------
// the three passes: cuDNN, or the direct kernel when this pass fell back or variant 1 asks

static void forward_pass(Dev *d, ConvEntry *e, Conv2d op, float *y, const float *x, const float *w)
{
    if (!e->direct[PASS_FWD] && d->variant != 1) {
        size_t yn = shape_numel(conv2d_out(op));
        void *ws = workspace(d, e->ws[PASS_FWD]);
        cudnnHandle_t h = cuda_ctx(d)->dnn;
        const float one = 1.0f, zero = 0.0f;
        cudnnStatus_t s;
        if (e->prec == PREC_BF16) {
            const __nv_bfloat16 *x16 = bf16_copy(d, SCR_X16, x, shape_numel(op.x));
            const __nv_bfloat16 *w16 = bf16_copy(d, SCR_W16, w, weights_numel(op));
            __nv_bfloat16 *y16 = (__nv_bfloat16 *)cuda_scratch(d, SCR_OUT, yn * sizeof(__nv_bfloat16));
            s = cudnnConvolutionForward(h, &one, e->x, x16, e->w, w16, e->conv, e->fwd, ws,
                                        e->ws[PASS_FWD], &zero, e->y, y16);
            if (!s) cuda_from_bf16(y, y16, yn, 0.0f);
        } else {
            s = cudnnConvolutionForward(h, &one, e->x, x, e->w, w, e->conv, e->fwd, ws,
                                        e->ws[PASS_FWD], &zero, e->y, y);
        }
        if (!s) return;
        fall_back(d, e, PASS_FWD, s);
    }
    cuda_conv_direct_forward(op, y, x, w);
}

static void data_pass(Dev *d, ConvEntry *e, Conv2d op, float *dx, const void *dy_in,
                      const float *dy, const float *w)
{
    if (!e->direct[PASS_DATA] && d->variant != 1) {
        size_t xn = shape_numel(op.x);
        void *ws = workspace(d, e->ws[PASS_DATA]);
        cudnnHandle_t h = cuda_ctx(d)->dnn;
        const float one = 1.0f, zero = 0.0f;
        cudnnStatus_t s;
        if (e->prec == PREC_BF16) {
            const __nv_bfloat16 *w16 = bf16_copy(d, SCR_W16, w, weights_numel(op));
            __nv_bfloat16 *dx16 = (__nv_bfloat16 *)cuda_scratch(d, SCR_OUT, xn * sizeof(__nv_bfloat16));
            s = cudnnConvolutionBackwardData(h, &one, e->w, w16, e->y, dy_in, e->conv, e->bwd_data,
                                             ws, e->ws[PASS_DATA], &zero, e->x, dx16);
            if (!s) cuda_from_bf16(dx, dx16, xn, 1.0f);
        } else {
            s = cudnnConvolutionBackwardData(h, &one, e->w, w, e->y, dy_in, e->conv, e->bwd_data,
                                             ws, e->ws[PASS_DATA], &one, e->x, dx);
        }
        if (!s) return;
        fall_back(d, e, PASS_DATA, s);
    }
    cuda_conv_direct_data(op, dx, dy, w);
}

static void filter_pass(Dev *d, ConvEntry *e, Conv2d op, float *dw, const void *dy_in,
                        const float *dy, const float *x)
{
    if (!e->direct[PASS_FILTER] && d->variant != 1) {
        size_t wn = weights_numel(op);
        void *ws = workspace(d, e->ws[PASS_FILTER]);
        cudnnHandle_t h = cuda_ctx(d)->dnn;
        const float one = 1.0f, zero = 0.0f;
        cudnnStatus_t s;
        if (e->prec == PREC_BF16) {
            const __nv_bfloat16 *x16 = bf16_copy(d, SCR_X16, x, shape_numel(op.x));
            __nv_bfloat16 *dw16 = (__nv_bfloat16 *)cuda_scratch(d, SCR_OUT, wn * sizeof(__nv_bfloat16));
            s = cudnnConvolutionBackwardFilter(h, &one, e->x, x16, e->y, dy_in, e->conv,
                                               e->bwd_filter, ws, e->ws[PASS_FILTER], &zero, e->w, dw16);
            if (!s) cuda_from_bf16(dw, dw16, wn, 1.0f);
        } else {
            s = cudnnConvolutionBackwardFilter(h, &one, e->x, x, e->y, dy_in, e->conv,
                                               e->bwd_filter, ws, e->ws[PASS_FILTER], &one, e->w, dw);
        }
        if (!s) return;
        fall_back(d, e, PASS_FILTER, s);
    }
    cuda_conv_direct_filter(op, dw, dy, x);
}

// ---------------------------------------------------------------------------------------------

extern "C" void cuda_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w,
                                    const float *b)
{
    ConvEntry *e = conv_entry(d, op);
    size_t yn = shape_numel(conv2d_out(op));
    forward_pass(d, e, op, y, x, w);
    if (b) cuda_bias_add(y, b, yn / op.oc, op.oc);
    if (op.act) cuda_act_forward(d, (Act){yn, op.act}, y, y);
}

extern "C" void cuda_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db,
                                     const float *dy, const float *x, const float *w, GradSet set)
{
    ConvEntry *e = conv_entry(d, op);
    size_t yn = shape_numel(conv2d_out(op));
    bool cudnn_bf16 = e->prec == PREC_BF16 && d->variant != 1 &&
                      ((dx && !e->direct[PASS_DATA]) || (dw && !e->direct[PASS_FILTER]));
    const void *dy_in = cudnn_bf16 ? (const void *)bf16_copy(d, SCR_DY16, dy, yn) : (const void *)dy;
    if (dx) data_pass(d, e, op, dx, dy_in, dy, w);
    if (dw) filter_pass(d, e, op, dw, dy_in, dy, x);
    if (db) cuda_bias_grad(d, db, dy, yn / op.oc, op.oc);
}
