/* engine/backend/cuda/conv2d.cu — convolution on cuDNN: forward, backward data, backward filter.
 *
 * NHWC tensors; our weights (OC,KH,KW,C/G) are cuDNN's NHWC filter layout (K, C/G, KH, KW) as
 * logical dims. One cache entry per (description, precision) holds the descriptors and the
 * algorithms chosen once by cudnnGet*_v7 (the fastest one that fits 512 MB of workspace). In
 * float32 mode only CUDNN_FMA_MATH algorithms are taken (no TF32: the op test compares against
 * float32 references); in bf16 mode tensor-op math on bf16 copies of the inputs, float32
 * accumulation, results converted back. Gradients accumulate through cuDNN's beta = 1 in float32
 * mode, through a bf16 result added by a kernel in bf16 mode. Bias and the fused activation are
 * our kernels (cuDNN's fused ConvolutionBiasActivationForward covers ReLU only).
 * Versions: one (cuDNN). Own direct kernels were not written: cuDNN covers every configuration
 * of the contract (groups, dilation, rectangular kernels) in NHWC.
 */
#include <string.h> // memcmp

#include "cuda.h"

static const size_t WS_LIMIT = (size_t)512 << 20;

struct ConvEntry {
    OpKey key;
    Conv2d op;
    Precision prec;
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    size_t ws_fwd, ws_data, ws_filter;
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

// the first algorithm of a sorted perf list that succeeded and fits; the math type that runs is
// the descriptor's (FMA in float32 mode: no TF32), whatever the list reports
#define PICK(perf, count, out_algo, out_ws, what, o)                                             \
    do {                                                                                        \
        int k_ = 0;                                                                             \
        while (k_ < (count) && ((perf)[k_].status != CUDNN_STATUS_SUCCESS ||                    \
                                (perf)[k_].memory > WS_LIMIT))                                  \
            k_++;                                                                               \
        CHECK(k_ < (count), "conv2d on cuda: cuDNN offers no %s algorithm for oc %d k %dx%d g %d " \
              "within %zu MB", what, (o).oc, (o).kh, (o).kw, (o).g, WS_LIMIT >> 20);            \
        out_algo = (perf)[k_].algo;                                                             \
        out_ws = (perf)[k_].memory;                                                             \
    } while (0)

static ConvEntry *conv_entry(Dev *d, Conv2d o)
{
    CudaCtx *c = cuda_ctx(d);
    o.act = ACT_NONE; // the activation is applied after cuDNN: same entry
    OpKey key = conv2d_key(o);
    for (int i = 0; i < c->n_conv; i++)
        if (c->conv[i]->prec == d->prec && memcmp(&c->conv[i]->key, &key, sizeof key) == 0) return c->conv[i];
    ConvEntry *e = (ConvEntry *)xcalloc(1, sizeof *e);
    e->key = key;
    e->op = o;
    e->prec = d->prec;
    bool bf = d->prec == PREC_BF16;
    cudnnDataType_t t = bf ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    cudnnMathType_t math = bf ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
    Shape4 ys = conv2d_out(o);
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&e->x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&e->y));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&e->w));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&e->conv));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(e->x, CUDNN_TENSOR_NHWC, t, o.x.n, o.x.c, o.x.h, o.x.w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(e->y, CUDNN_TENSOR_NHWC, t, ys.n, ys.c, ys.h, ys.w));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(e->w, t, CUDNN_TENSOR_NHWC, o.oc, o.x.c / o.g, o.kh, o.kw));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(e->conv, o.ph, o.pw, o.sh, o.sw, o.dh, o.dw,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(e->conv, o.g));
    CUDNN_CHECK(cudnnSetConvolutionMathType(e->conv, math));
    int n, h, w, ch;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(e->conv, e->x, e->w, &n, &ch, &h, &w));
    CHECK(n == ys.n && ch == ys.c && h == ys.h && w == ys.w,
          "conv2d on cuda: cuDNN's output (%d,%d,%d,%d) differs from ours (%d,%d,%d,%d)", n, h, w,
          ch, ys.n, ys.h, ys.w, ys.c);
    int got;
    cudnnConvolutionFwdAlgoPerf_t pf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT * 2];
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->dnn, e->x, e->w, e->conv, e->y, LEN(pf), &got, pf));
    PICK(pf, got, e->fwd, e->ws_fwd, "forward", o);
    cudnnConvolutionBwdDataAlgoPerf_t pd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT * 2];
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->dnn, e->w, e->y, e->conv, e->x, LEN(pd), &got, pd));
    PICK(pd, got, e->bwd_data, e->ws_data, "backward-data", o);
    cudnnConvolutionBwdFilterAlgoPerf_t pw[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT * 2];
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->dnn, e->x, e->y, e->conv, e->w, LEN(pw), &got, pw));
    PICK(pw, got, e->bwd_filter, e->ws_filter, "backward-filter", o);
    CUDNN_CHECK(cudnnSetConvolutionMathType(e->conv, math)); // the getters may not change it; make sure
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

extern "C" void cuda_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w,
                                    const float *b)
{
    ConvEntry *e = conv_entry(d, op);
    size_t yn = shape_numel(conv2d_out(op));
    void *ws = e->ws_fwd ? cuda_scratch(d, SCR_WS, e->ws_fwd) : NULL;
    const float one = 1.0f, zero = 0.0f;
    if (e->prec == PREC_BF16) {
        const __nv_bfloat16 *x16 = bf16_copy(d, SCR_X16, x, shape_numel(op.x));
        const __nv_bfloat16 *w16 = bf16_copy(d, SCR_W16, w, weights_numel(op));
        __nv_bfloat16 *y16 = (__nv_bfloat16 *)cuda_scratch(d, SCR_OUT, yn * sizeof(__nv_bfloat16));
        CUDNN_CHECK(cudnnConvolutionForward(cuda_ctx(d)->dnn, &one, e->x, x16, e->w, w16, e->conv,
                                            e->fwd, ws, e->ws_fwd, &zero, e->y, y16));
        cuda_from_bf16(y, y16, yn, 0.0f);
    } else {
        CUDNN_CHECK(cudnnConvolutionForward(cuda_ctx(d)->dnn, &one, e->x, x, e->w, w, e->conv,
                                            e->fwd, ws, e->ws_fwd, &zero, e->y, y));
    }
    if (b) cuda_bias_add(y, b, yn / op.oc, op.oc);
    if (op.act) cuda_act_forward(d, (Act){yn, op.act}, y, y);
}

extern "C" void cuda_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db,
                                     const float *dy, const float *x, const float *w)
{
    ConvEntry *e = conv_entry(d, op);
    size_t yn = shape_numel(conv2d_out(op)), xn = shape_numel(op.x), wn = weights_numel(op);
    cudnnHandle_t h = cuda_ctx(d)->dnn;
    const float one = 1.0f, zero = 0.0f;
    bool bf = e->prec == PREC_BF16;
    const void *dy_in = bf ? (const void *)bf16_copy(d, SCR_DY16, dy, yn) : (const void *)dy;
    if (dx) {
        void *ws = e->ws_data ? cuda_scratch(d, SCR_WS, e->ws_data) : NULL;
        if (bf) {
            const __nv_bfloat16 *w16 = bf16_copy(d, SCR_W16, w, wn);
            __nv_bfloat16 *dx16 = (__nv_bfloat16 *)cuda_scratch(d, SCR_OUT, xn * sizeof(__nv_bfloat16));
            CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, e->w, w16, e->y, dy_in, e->conv,
                                                     e->bwd_data, ws, e->ws_data, &zero, e->x, dx16));
            cuda_from_bf16(dx, dx16, xn, 1.0f);
        } else {
            CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, e->w, w, e->y, dy_in, e->conv,
                                                     e->bwd_data, ws, e->ws_data, &one, e->x, dx));
        }
    }
    if (dw) {
        void *ws = e->ws_filter ? cuda_scratch(d, SCR_WS, e->ws_filter) : NULL;
        if (bf) {
            const __nv_bfloat16 *x16 = bf16_copy(d, SCR_X16, x, xn);
            __nv_bfloat16 *dw16 = (__nv_bfloat16 *)cuda_scratch(d, SCR_OUT, wn * sizeof(__nv_bfloat16));
            CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, e->x, x16, e->y, dy_in, e->conv,
                                                       e->bwd_filter, ws, e->ws_filter, &zero, e->w, dw16));
            cuda_from_bf16(dw, dw16, wn, 1.0f);
        } else {
            CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, e->x, x, e->y, dy_in, e->conv,
                                                       e->bwd_filter, ws, e->ws_filter, &one, e->w, dw));
        }
    }
    if (db) cuda_bias_grad(db, dy, yn / op.oc, op.oc);
}
