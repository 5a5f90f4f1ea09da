/* engine/backend/ops.h — the op table: every op's contract, and opening a backend by name.
 *
 * Dimension legend (STYLE §9): N batch, H W height width, C channels, OC output channels,
 * K kernel, S stride, P padding, D dilation, G groups, OH OW output height width.
 * Layout: activations NHWC float32. Conv weights (OC, KH, KW, C/G) ("ohwi"); linear weights
 * (OUT, IN) as PyTorch stores them. Pointers are device pointers of the op's Dev.
 *
 * Contract for every op:
 *   - forward overwrites its outputs; backward ACCUMULATES (+=) into every gradient it writes, so a
 *     tensor with two consumers needs no special case and grads are zeroed once per step.
 *   - a gradient pointer may be NULL when that gradient is not wanted (dx of the first layer).
 *   - ops never allocate caller-visible memory; a backend may keep private scratch and cached
 *     primitives on its Dev.
 *   - each op is described by a small struct passed by value; ops.c validates it once (shapes,
 *     groups, NULL table entries) and stops with one message naming op, backend and shapes.
 * Randomness (dropout, drop-path) is a pure function of (key, sample index, element): see rng.h.
 */
#ifndef OPS_H
#define OPS_H

#include "../core/dev.h" // Dev, its memory

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// backends: a Dev (core/dev.h) opened by name

// opens a backend by name (dev_names); returns 0, or ERR_DEVICE with one line printed when the
// backend is not built or no device answers (cuda on a machine without a GPU), ERR_ARG for an
// unknown name (the line lists the valid ones)
int   dev_open(Dev *d, const char *name);
bool  dev_available(const char *name);  // quiet probe: built, and a device answers (tests, --help)
bool  dev_known(const char *name);      // a backend's name, built here or not (recipes check it)
const char *dev_names(void);            // "ref, cpu, cuda": every backend's name, for messages

// ---------------------------------------------------------------------------------------------
// op descriptions (static: shapes and hyper-parameters, never data)

typedef enum { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SILU, ACT_HSWISH, ACT_HSIGMOID, ACT_SIGMOID,
               ACT_GELU, ACT_COUNT } ActKind;
const char *act_name(ActKind k);


// conv2d: x (N,H,W,C) * w (OC,KH,KW,C/G) [+ b (OC)] -> y (N,OH,OW,OC)
//   OH = (H + 2PH - DH(KH-1) - 1)/SH + 1; cross-correlation, as PyTorch
// act: an activation fused into the forward pass, y = act(conv + b): inference with batch norm
//   folded into w and b (a conv-BN-act block in one pass). Forward only: backward needs ACT_NONE.
typedef struct { Shape4 x; int oc, kh, kw, sh, sw, ph, pw, dh, dw, g; bool bias; ActKind act; } Conv2d;
// square kernel, stride, padding, dilation: the common case
static inline Conv2d conv2d_sq(Shape4 x, int oc, int k, int s, int p, int d, int g, bool bias)
{
    Conv2d c = {x, oc, k, k, s, s, p, p, d, d, g, bias, ACT_NONE};
    return c;
}
Shape4 conv2d_out(Conv2d op);
// a chain of two convolutions, forward only: y = dw(pw(x)), pw a 1x1 stride-1 ungrouped
// convolution and dw a depthwise one (groups = channels = OC > 1) over pw's output, each with its
// bias and fused activation (an inverted residual's expansion and depthwise convolution as
// evaluated, batch norm folded): the backend need not store the expanded tensor between them.
// Optional: a backend may leave it out (dev_has_conv2d_chain), and conv2d_chain_forward then runs
// the two convolutions through a temporary buffer
typedef struct { Conv2d pw, dw; } Conv2dChain;
// the chain's two kinds: 1x1, stride 1, unpadded, ungrouped (a GEMM over the pixels); depthwise
// (groups = channels = OC > 1)
bool conv2d_pointwise(Conv2d o);
bool conv2d_depthwise(Conv2d o);

// batch norm over N,H,W per channel C. train: batch statistics (biased variance to normalize),
// running stats updated running = (1-momentum)*running + momentum*batch with the unbiased batch
// variance (PyTorch convention); eval: running statistics. Forward saves mean and rstd =
// 1/sqrt(var+eps) of what it normalized with (C each) for backward.
// act: an activation on the output, y = act(z), z = gamma*(x-mean)*rstd + beta (training's
//   BN-ReLU in one pass each way); backward recomputes z from x, the saved statistics, gamma and
//   beta, and propagates dy*act'(z). ACT_NONE: y = z (beta may then be NULL in backward).
typedef struct { Shape4 x; float eps, momentum; bool train; ActKind act; } BatchNorm;

// elementwise activation y = f(x) over n values; backward: dx += f'(x) dy
typedef struct { size_t n; ActKind act; } Act;

// y = act(a + b) over n values; backward: g = dy * act'(a+b), da += g, db += g. The derivative is
// read off the output y (backward's argument; NULL with ACT_NONE), so act is ACT_NONE, ACT_RELU
// or ACT_RELU6, whose derivative the output determines (the residual add-ReLU of a ResNet block)
typedef struct { size_t n; ActKind act; } Add;

// channel-broadcast multiply (SE gate): y (N,H,W,C) = x (N,H,W,C) * s (N,C)
// backward: dx += dy * s, ds (N,C) += sum over H,W of dy * x
typedef struct { Shape4 x; } ChanMul;

// channel zero-padding, the parameter-free "option A" ResNet shortcut (He et al. 2016 §4.2):
// x (N,H,W,C) -> y (N,H,W,before+C+after); y[..., before + k] = x[..., k] for k < C, 0 in the
// `before` channels ahead of them and the `after` channels behind (PyTorch's
// F.pad(x, (0, 0, 0, 0, before, after)) on NCHW). backward: dx += dy[..., before .. before+C).
// Option A's spatial subsampling x[:, ::2, ::2] is avgpool 1x1/2, a one-element window (exact).
// slice: forward writes x's channels only and leaves the others of y as they are — one half of a
// channel concatenation, whose other node writes the rest (g_concat)
typedef struct { Shape4 x; int before, after; bool slice; } ChanPad;
Shape4 chanpad_out(ChanPad op);

// max / average pooling, PyTorch semantics: padding counts as -inf for max; for average,
// count_include_pad divides by the window clipped to the padded input, else by the part inside
// the input; ceil_mode rounds OH up (a window must start inside input or left padding)
typedef struct { Shape4 x; int kh, kw, sh, sw, ph, pw; bool ceil_mode, count_include_pad; } Pool2d;
Shape4 pool2d_out(Pool2d op);

// global average pooling: x (N,H,W,C) -> y (N,C)
typedef struct { Shape4 x; } GlobalAvgPool;

// linear: y (N,OUT) = x (N,IN) w^T (w: (OUT,IN)) [+ b (OUT)]
typedef struct { int n, in, out; bool bias; } Linear;

// dropout and drop-path over x viewed as (N, per_sample), kept values scaled by 1/(1-p);
// backward: dx += mask * dy / (1-p). One description for both, they differ in what one draw keeps:
//   dropout    element j of sample i is kept when rng_uniform(key, sample0 + i, j) >= p
//   drop-path  (stochastic depth) sample i is kept whole when rng_uniform(key, 0, sample0 + i) >= p
typedef struct { int n; size_t per_sample; float p; uint64_t key, sample0; } Drop;

// softmax cross-entropy, per-sample loss (N). Targets: integer labels (N) smoothed as
// (1-smoothing)*onehot + smoothing/K, or probability rows (N,K) used as given (mixup, soft labels).
// Forward saves prob = softmax(logits) (N,K). backward: dlogits += dloss[i] * (prob - target)
typedef struct { int n, k; float smoothing; } Xent;

// softmax at temperature t, forward only (teacher targets): y (N,K) = softmax(x / t)
typedef struct { int n, k; float t; } Softmax;

// distillation: loss[i] = t^2 * KL(q_i || softmax(s_i / t)) with q (N,K) target probabilities
// (already at temperature t; an ensemble's averaged softmax). Saves p = softmax(s/t) (N,K).
// backward: ds += dloss[i] * t * (p - q)   (the t^2 scaling keeps gradients comparable, Hinton)
typedef struct { int n, k; float t; } KlDiv;

// resize (N,H,W,C) -> (N,OH,OW,C), PyTorch's F.interpolate(x, size=(OH, OW)) in two modes:
//   RESIZE_BILINEAR  mode="bilinear", align_corners=False, antialias=False: src = (dst + 0.5) *
//                    H/OH - 0.5, clamped at 0; the four neighbours, weighted
//   RESIZE_NEAREST   mode="nearest": y[oh, ow] = x[src(oh), src(ow)], src(o) = min(floor(o *
//                    (float)H/OH), H - 1) (o when OH = H, o/2 when OH = 2H; op_math.h's
//                    nearest_src): GhostNetV3's DFC attention upsamples its gate this way
// backward: dx += dy scattered back with the forward's taps (nearest: each source pixel sums the
// dy of the outputs that copied it)
typedef enum { RESIZE_BILINEAR = 0, RESIZE_NEAREST = 1 } ResizeMode;
typedef struct { Shape4 x; int oh, ow; ResizeMode mode; } Resize;

// elementwise product y = a * b over n values; backward: da += dy * b, db += dy * a (a gate of
// the same shape as what it scales: GhostNetV3's DFC attention on a Ghost module's output)
typedef struct { size_t n; } Mul;

// the optimizer's update of one parameter entry of n values, on the device that holds it
// (train/optim.h's formulas; op_math.h's optim_elem holds them once for every backend): kind
// OPU_SGD .. OPU_LAMB (optim.h's OptimKind, same values; LAMB: its moments and the update u), or
// OPU_LAMB_APPLY: w -= lr * (u * ratio). s0, s1: the entry's optimizer slots (NULL where the kind
// has none; rmsprop_tf: s1 is the momentum buffer, when momentum > 0)
enum { OPU_SGD, OPU_ADAMW, OPU_RMSPROP_TF, OPU_LAMB, OPU_LAMB_APPLY };
typedef struct {
    int    kind;
    size_t n;
    float  lr, momentum, beta1, beta2, eps;
    float  wd;        // coupled decay: added to the gradient (LAMB: to u); 0 when decoupled
    float  keep;      // decoupled decay: w *= keep = 1 - lr*wd first; 1 when coupled
    float  step;      // adamw: lr / (1 - beta1^t)
    float  bc1, bc2s; // lamb: 1 - beta1^t; adamw, lamb: sqrt(1 - beta2^t)
    float  clip;      // lamb: the gradient is divided by it (>= 1)
    float  ratio;     // OPTIM_LAMB_APPLY: the trust ratio
    bool   nesterov;
} OptimUpd;

// n values and a scalar a: axpy y += a*x (L2 in the loss), scale x *= a (clipping), lerp
// e += a*(w - e) (the EMA), sumsq *acc += sum of x^2 in float64 (norms; acc is host memory, and
// the sum runs in order on host backends, so a norm over many entries is the same every run)
typedef struct { size_t n; float a; } Vec;

// ---------------------------------------------------------------------------------------------
// cache keys: a description's values as padding-free integers. Backends that cache per-shape
// state compare these, never struct bytes (padding in a struct passed by value is unspecified).

typedef struct { int32_t v[20]; } OpKey;
OpKey conv2d_key(Conv2d o);
OpKey batchnorm_key(BatchNorm o);
OpKey pool2d_key(Pool2d o);
OpKey act_key(Act o);
OpKey resize_key(Resize o);

// ---------------------------------------------------------------------------------------------
// gradient outputs: every backward call ADDS its gradients into the buffers it is given (+=),
// except the activation gradients that its `set` bits name: bit k set means the call WRITES its
// k-th activation gradient (dx; add, mul: da = SET_0, db = SET_1; chanmul: dx = SET_0, ds = SET_1)
// instead of adding into it, as the first writer of a gradient does (the graph knows which node
// that is): no zero fill beforehand and no read of it. Parameter gradients (dw, db, dgamma,
// dbeta) always accumulate. A backend that has no such path for an op leaves its bit out of its
// table's set_ok; ops.c then zeroes the named outputs and calls it with set = 0.
typedef unsigned GradSet;
enum { SET_0 = 1u, SET_1 = 2u };

// ---------------------------------------------------------------------------------------------
// the signatures, once: the table's entries, the dispatching calls and every backend's functions
// are all declared from these (a backend function is <backend>_<op>, e.g. cpu_conv2d_forward)

typedef void OpFn_conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w,
    const float *b);
typedef void OpFn_conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db,
    const float *dy, const float *x, const float *w, GradSet set);
typedef void OpFn_batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd,
    float *run_mean, float *run_var, const float *x, const float *gamma, const float *beta);
typedef void OpFn_batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
    const float *dy, const float *x, const float *gamma, const float *beta, const float *mean,
    const float *rstd, GradSet set);
typedef void OpFn_act_forward(Dev *d, Act op, float *y, const float *x);
typedef void OpFn_act_backward(Dev *d, Act op, float *dx, const float *dy, const float *x, GradSet set);
typedef void OpFn_add_forward(Dev *d, Add op, float *y, const float *a, const float *b);
typedef void OpFn_add_backward(Dev *d, Add op, float *da, float *db, const float *dy,
    const float *y, GradSet set);
typedef void OpFn_chanmul_forward(Dev *d, ChanMul op, float *y, const float *x, const float *s);
typedef void OpFn_chanmul_backward(Dev *d, ChanMul op, float *dx, float *ds, const float *dy,
    const float *x, const float *s, GradSet set);
typedef void OpFn_chanpad_forward(Dev *d, ChanPad op, float *y, const float *x);
typedef void OpFn_chanpad_backward(Dev *d, ChanPad op, float *dx, const float *dy, GradSet set);
typedef void OpFn_maxpool_forward(Dev *d, Pool2d op, float *y, const float *x);
typedef void OpFn_maxpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, const float *x, GradSet set);
typedef void OpFn_avgpool_forward(Dev *d, Pool2d op, float *y, const float *x);
typedef void OpFn_avgpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, GradSet set);
typedef void OpFn_gap_forward(Dev *d, GlobalAvgPool op, float *y, const float *x);
typedef void OpFn_gap_backward(Dev *d, GlobalAvgPool op, float *dx, const float *dy, GradSet set);
typedef void OpFn_linear_forward(Dev *d, Linear op, float *y, const float *x, const float *w,
    const float *b);
typedef void OpFn_linear_backward(Dev *d, Linear op, float *dx, float *dw, float *db,
    const float *dy, const float *x, const float *w, GradSet set);
typedef void OpFn_dropout_forward(Dev *d, Drop op, float *y, const float *x);
typedef void OpFn_dropout_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set);
typedef void OpFn_droppath_forward(Dev *d, Drop op, float *y, const float *x);
typedef void OpFn_droppath_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set);
typedef void OpFn_xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
    const int *labels, const float *targets);
typedef void OpFn_xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss,
    const float *prob, const int *labels, const float *targets, GradSet set);
typedef void OpFn_softmax_forward(Dev *d, Softmax op, float *y, const float *x);
typedef void OpFn_kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s,
    const float *q);
typedef void OpFn_kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
    const float *q, GradSet set);
typedef void OpFn_resize_forward(Dev *d, Resize op, float *y, const float *x);
typedef void OpFn_resize_backward(Dev *d, Resize op, float *dx, const float *dy, GradSet set);
typedef void OpFn_mul_forward(Dev *d, Mul op, float *y, const float *a, const float *b);
typedef void OpFn_mul_backward(Dev *d, Mul op, float *da, float *db, const float *dy,
    const float *a, const float *b, GradSet set);
typedef void OpFn_optim_update(Dev *d, OptimUpd op, float *w, const float *g, float *s0, float *s1, float *u);
typedef void OpFn_axpy(Dev *d, Vec op, float *y, const float *x);
typedef void OpFn_scale(Dev *d, Vec op, float *x);
typedef void OpFn_lerp(Dev *d, Vec op, float *e, const float *w);
typedef void OpFn_sumsq(Dev *d, Vec op, const float *x, double *acc);
// optional ops (NULL in a backend's table where it has none; see each op's contract)
typedef void OpFn_conv2d_chain_forward(Dev *d, Conv2dChain op, float *y, const float *x, const float *w1,
    const float *b1, const float *w2, const float *b2);

#define FOR_EACH_OP(M, p) \
    M(p, conv2d_forward) \
    M(p, conv2d_backward) \
    M(p, batchnorm_forward) \
    M(p, batchnorm_backward) \
    M(p, act_forward) \
    M(p, act_backward) \
    M(p, add_forward) \
    M(p, add_backward) \
    M(p, chanmul_forward) \
    M(p, chanmul_backward) \
    M(p, chanpad_forward) \
    M(p, chanpad_backward) \
    M(p, maxpool_forward) \
    M(p, maxpool_backward) \
    M(p, avgpool_forward) \
    M(p, avgpool_backward) \
    M(p, gap_forward) \
    M(p, gap_backward) \
    M(p, linear_forward) \
    M(p, linear_backward) \
    M(p, dropout_forward) \
    M(p, dropout_backward) \
    M(p, droppath_forward) \
    M(p, droppath_backward) \
    M(p, xent_forward) \
    M(p, xent_backward) \
    M(p, softmax_forward) \
    M(p, kldiv_forward) \
    M(p, kldiv_backward) \
    M(p, resize_forward) \
    M(p, resize_backward) \
    M(p, mul_forward) \
    M(p, mul_backward) \
    M(p, optim_update) \
    M(p, axpy) \
    M(p, scale) \
    M(p, lerp) \
    M(p, sumsq)

// the table a backend fills in (NULL = not implemented there: ops.c stops with a message), and
// set_ok: bit OP_BIT(op) for each backward op that honours its set bits (see GradSet)
#define OP_TABLE_FIELD(p, name) OpFn_##name *name;
struct OpTable { FOR_EACH_OP(OP_TABLE_FIELD, _) uint64_t set_ok; OpFn_conv2d_chain_forward *conv2d_chain_forward; };
#define OP_ID(p, name) OPID_##name,
enum { FOR_EACH_OP(OP_ID, _) OPID_COUNT };
#define OP_BIT(name) ((uint64_t)1 << OPID_##name)

// declares <prefix>_<op> for every op (a backend's header); a table lists them with OP_ENTRY
#define OP_DECLARE(p, name) OpFn_##name p##_##name;
#define OP_ENTRY(p, name) .name = p##_##name,
#define OPS_DECLARE(prefix) FOR_EACH_OP(OP_DECLARE, prefix)

// the calls engine code makes: validate, then dispatch to d->ops (ops.c)
#define OP_PUBLIC(p, name) OpFn_##name name;
FOR_EACH_OP(OP_PUBLIC, _)
OpFn_conv2d_chain_forward conv2d_chain_forward;
bool dev_has_conv2d_chain(const Dev *d); // the backend runs the chain as one op

// the backends' tables (each backend's table.c)
extern const OpTable ref_ops, cpu_ops, cuda_ops;

#ifdef __cplusplus
}
#endif
#endif
