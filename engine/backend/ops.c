/* engine/backend/ops.c — thin dispatch: validate an op's description once, then call the backend.
 *
 * Every check stops with one message naming the op, the backend and the shapes (tier 1 of
 * STYLE §8): a wrong call is a programmer error, not a condition to recover from. Backends can
 * then trust their arguments and stay free of validation code.
 */
#include "ops.h"

#include <math.h>   // isfinite
#include <stdio.h>  // snprintf
#include <string.h> // memcpy

// ---------------------------------------------------------------------------------------------
// descriptions for messages

static const char *conv_str(Conv2d o, char buf[160])
{
    snprintf(buf, 160, "x %s oc %d k %dx%d s %dx%d p %dx%d d %dx%d g %d%s%s%s", SHAPE_STR(o.x),
             o.oc, o.kh, o.kw, o.sh, o.sw, o.ph, o.pw, o.dh, o.dw, o.g, o.bias ? " bias" : "",
             o.act ? " act " : "", o.act ? act_name(o.act) : "");
    return buf;
}

static const char *pool_str(Pool2d o, char buf[160])
{
    snprintf(buf, 160, "x %s k %dx%d s %dx%d p %dx%d%s%s", SHAPE_STR(o.x), o.kh, o.kw, o.sh, o.sw,
             o.ph, o.pw, o.ceil_mode ? " ceil" : "", o.count_include_pad ? " include_pad" : "");
    return buf;
}

#define CONV_STR(o) conv_str((o), (char[160]){0})
#define POOL_STR(o) pool_str((o), (char[160]){0})

// a NULL table entry: the op is missing on this backend
#define DISPATCH(d, fn, desc, ...)                                                          \
    do {                                                                                    \
        CHECK((d) && (d)->ops, #fn ": no device (call dev_open first)");                   \
        CHECK((d)->ops->fn, #fn ": not implemented on backend %s (%s)", (d)->name, desc);  \
        (d)->ops->fn(d, __VA_ARGS__);                                                       \
    } while (0)

// set bits on a backend without a write path for this op: zero the output, then accumulate
#define SET_FALLBACK(fn, bit, ptr, count)                                                   \
    do {                                                                                    \
        if ((set & (bit)) && !((d)->ops->set_ok & OP_BIT(fn))) {                            \
            if (ptr) dev_memset0(d, (ptr), (size_t)(count) * sizeof(float));               \
            set &= ~(GradSet)(bit);                                                         \
        }                                                                                   \
    } while (0)

static bool shape_ok(Shape4 s) { return s.n > 0 && s.h > 0 && s.w > 0 && s.c > 0; }

// ---------------------------------------------------------------------------------------------
// output shapes

Shape4 conv2d_out(Conv2d o)
{
    Shape4 y = {o.x.n, (o.x.h + 2 * o.ph - o.dh * (o.kh - 1) - 1) / o.sh + 1,
                (o.x.w + 2 * o.pw - o.dw * (o.kw - 1) - 1) / o.sw + 1, o.oc};
    return y;
}

// PyTorch's pooling_output_shape: ceil mode may not start a window in the right padding
static int pool_len(int in, int k, int s, int p, bool ceil_mode)
{
    int out = (in + 2 * p - k + (ceil_mode ? s - 1 : 0)) / s + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

Shape4 pool2d_out(Pool2d o)
{
    Shape4 y = {o.x.n, pool_len(o.x.h, o.kh, o.sh, o.ph, o.ceil_mode),
                pool_len(o.x.w, o.kw, o.sw, o.pw, o.ceil_mode), o.x.c};
    return y;
}

Shape4 chanpad_out(ChanPad o)
{
    Shape4 y = {o.x.n, o.x.h, o.x.w, o.x.c + o.before + o.after};
    return y;
}

const char *act_name(ActKind k)
{
    static const char *names[ACT_COUNT] = {"none", "relu", "relu6", "silu", "hswish",
                                           "hsigmoid", "sigmoid", "gelu"};
    return (unsigned)k < ACT_COUNT ? names[k] : "invalid";
}

// ---------------------------------------------------------------------------------------------
// cache keys

static OpKey make_key(const int32_t *v, int n)
{
    OpKey k = {{0}};
    memcpy(k.v, v, (size_t)n * sizeof *v);
    return k;
}

static int32_t float_bits(float f)
{
    int32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

OpKey conv2d_key(Conv2d o)
{
    int32_t v[] = {o.x.n, o.x.h, o.x.w, o.x.c, o.oc, o.kh, o.kw, o.sh, o.sw, o.ph, o.pw, o.dh,
                   o.dw, o.g, o.bias, (int32_t)o.act};
    return make_key(v, LEN(v));
}

OpKey batchnorm_key(BatchNorm o)
{
    int32_t v[] = {o.x.n, o.x.h, o.x.w, o.x.c, float_bits(o.eps), float_bits(o.momentum), o.train, o.act};
    return make_key(v, LEN(v));
}

OpKey pool2d_key(Pool2d o)
{
    int32_t v[] = {o.x.n, o.x.h, o.x.w, o.x.c, o.kh, o.kw, o.sh, o.sw, o.ph, o.pw, o.ceil_mode,
                   o.count_include_pad};
    return make_key(v, LEN(v));
}

OpKey act_key(Act o)
{
    int32_t v[] = {(int32_t)(o.n & 0x7fffffff), (int32_t)(o.n >> 31), (int32_t)o.act};
    return make_key(v, LEN(v));
}

OpKey resize_key(Resize o)
{
    int32_t v[] = {o.x.n, o.x.h, o.x.w, o.x.c, o.oh, o.ow, (int32_t)o.mode};
    return make_key(v, LEN(v));
}

// ---------------------------------------------------------------------------------------------
// validation

static void conv2d_check(Dev *d, const char *fn, Conv2d o)
{
    const char *b = d ? d->name : "?";
    CHECK(shape_ok(o.x) && o.oc > 0 && o.kh > 0 && o.kw > 0 && o.sh > 0 && o.sw > 0 &&
              o.ph >= 0 && o.pw >= 0 && o.dh > 0 && o.dw > 0 && o.g > 0,
          "%s on %s: sizes must be positive (padding >= 0): %s", fn, b, CONV_STR(o));
    CHECK(o.x.c % o.g == 0 && o.oc % o.g == 0,
          "%s on %s: groups %d do not divide C=%d and OC=%d: %s", fn, b, o.g, o.x.c, o.oc,
          CONV_STR(o));
    Shape4 y = conv2d_out(o);
    // the dilated kernel must fit the padded input (conv2d_out's division would round a negative
    // size up to an output of 1)
    CHECK(y.h > 0 && y.w > 0 && o.x.h + 2 * o.ph >= o.dh * (o.kh - 1) + 1 && o.x.w + 2 * o.pw >= o.dw * (o.kw - 1) + 1,
          "%s on %s: kernel larger than padded input, output %s: %s", fn, b, SHAPE_STR(y), CONV_STR(o));
    CHECK((unsigned)o.act < ACT_COUNT, "%s on %s: unknown fused activation %d: %s", fn, b,
          (int)o.act, CONV_STR(o));
}

static void pool2d_check(Dev *d, const char *fn, Pool2d o)
{
    const char *b = d ? d->name : "?";
    CHECK(shape_ok(o.x) && o.kh > 0 && o.kw > 0 && o.sh > 0 && o.sw > 0 && o.ph >= 0 &&
              o.pw >= 0,
          "%s on %s: sizes must be positive (padding >= 0): %s", fn, b, POOL_STR(o));
    CHECK(2 * o.ph <= o.kh && 2 * o.pw <= o.kw,
          "%s on %s: padding must be at most half the kernel (PyTorch's rule): %s", fn, b,
          POOL_STR(o));
    Shape4 y = pool2d_out(o);
    CHECK(y.h > 0 && y.w > 0, "%s on %s: window larger than padded input, output %s: %s", fn, b,
          SHAPE_STR(y), POOL_STR(o));
}

#define NAME(d) ((d) ? (d)->name : "?")

// ---------------------------------------------------------------------------------------------
// dispatch

void conv2d_forward(Dev *d, Conv2d op, float *y, const float *x, const float *w, const float *b)
{
    conv2d_check(d, "conv2d_forward", op);
    CHECK(y && x && w && (!op.bias || b), "conv2d_forward on %s: NULL buffer (y %p x %p w %p b %p)"
          ": %s", NAME(d), (void *)y, (const void *)x, (const void *)w, (const void *)b,
          CONV_STR(op));
    DISPATCH(d, conv2d_forward, CONV_STR(op), op, y, x, w, op.bias ? b : NULL);
}

bool conv2d_pointwise(Conv2d o)
{
    return o.kh == 1 && o.kw == 1 && o.sh == 1 && o.sw == 1 && o.ph == 0 && o.pw == 0 && o.g == 1;
}

bool conv2d_depthwise(Conv2d o) { return o.g == o.x.c && o.oc == o.x.c && o.x.c > 1; }

bool dev_has_conv2d_chain(const Dev *d) { return d && d->ops && d->ops->conv2d_chain_forward; }

void conv2d_chain_forward(Dev *d, Conv2dChain op, float *y, const float *x, const float *w1, const float *b1,
                          const float *w2, const float *b2)
{
    Conv2d p = op.pw, q = op.dw;
    conv2d_check(d, "conv2d_chain_forward (1x1)", p);
    conv2d_check(d, "conv2d_chain_forward (depthwise)", q);
    Shape4 m = conv2d_out(p);
    CHECK(conv2d_pointwise(p),
          "conv2d_chain_forward on %s: the first convolution must be 1x1, stride 1, unpadded, "
          "ungrouped: %s", NAME(d), CONV_STR(p));
    CHECK(conv2d_depthwise(q) && q.x.n == m.n && q.x.h == m.h && q.x.w == m.w && q.x.c == m.c, "conv2d_chain_forward on %s: the second convolution must be depthwise over the "
          "first's output %s: %s", NAME(d), SHAPE_STR(m), CONV_STR(q));
    CHECK(y && x && w1 && w2 && (!p.bias || b1) && (!q.bias || b2), "conv2d_chain_forward on %s: NULL "
          "buffer: %s then %s", NAME(d), CONV_STR(p), CONV_STR(q));
    if (d->ops->conv2d_chain_forward) {
        d->ops->conv2d_chain_forward(d, op, y, x, w1, p.bias ? b1 : NULL, w2, q.bias ? b2 : NULL);
        return;
    }
    float *t = dev_alloc(d, shape_numel(m) * sizeof(float)); // the backend has no chain: in two
    conv2d_forward(d, p, t, x, w1, b1);
    conv2d_forward(d, q, y, t, w2, b2);
    dev_free(d, t);
}

void conv2d_backward(Dev *d, Conv2d op, float *dx, float *dw, float *db, const float *dy,
                     const float *x, const float *w, GradSet set)
{
    conv2d_check(d, "conv2d_backward", op);
    CHECK(op.act == ACT_NONE, "conv2d_backward on %s: a fused activation (%s) is forward-only "
          "(inference); train with conv2d and act ops: %s", NAME(d), act_name(op.act), CONV_STR(op));
    CHECK(dy && x && w, "conv2d_backward on %s: NULL input buffer: %s", NAME(d), CONV_STR(op));
    SET_FALLBACK(conv2d_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, conv2d_backward, CONV_STR(op), op, dx, dw, op.bias ? db : NULL, dy, x, w, set);
}

static void bn_check(Dev *d, const char *fn, BatchNorm o)
{
    CHECK(shape_ok(o.x) && o.eps > 0 && o.momentum >= 0 && o.momentum <= 1,
          "%s on %s: x %s eps %g momentum %g: need positive sizes, eps > 0, momentum in [0,1]",
          fn, NAME(d), SHAPE_STR(o.x), o.eps, o.momentum);
    CHECK(!o.train || (size_t)o.x.n * o.x.h * o.x.w > 1,
          "%s on %s: training batch norm needs more than one value per channel, x %s", fn,
          NAME(d), SHAPE_STR(o.x));
    CHECK(o.act >= ACT_NONE && o.act < ACT_COUNT, "%s on %s: unknown activation %d, x %s", fn,
          NAME(d), (int)o.act, SHAPE_STR(o.x));
}

void batchnorm_forward(Dev *d, BatchNorm op, float *y, float *mean, float *rstd, float *run_mean,
                       float *run_var, const float *x, const float *gamma, const float *beta)
{
    bn_check(d, "batchnorm_forward", op);
    DISPATCH(d, batchnorm_forward, SHAPE_STR(op.x), op, y, mean, rstd, run_mean, run_var, x,
             gamma, beta);
}

void batchnorm_backward(Dev *d, BatchNorm op, float *dx, float *dgamma, float *dbeta,
                        const float *dy, const float *x, const float *gamma, const float *beta,
                        const float *mean, const float *rstd, GradSet set)
{
    bn_check(d, "batchnorm_backward", op);
    CHECK(op.act == ACT_NONE || beta, "batchnorm_backward on %s: x %s with %s needs beta to "
          "recompute the activation's input", NAME(d), SHAPE_STR(op.x), act_name(op.act));
    SET_FALLBACK(batchnorm_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, batchnorm_backward, SHAPE_STR(op.x), op, dx, dgamma, dbeta, dy, x, gamma, beta,
             mean, rstd, set);
}

static void act_check(Dev *d, const char *fn, Act o)
{
    CHECK(o.act > ACT_NONE && o.act < ACT_COUNT, "%s on %s: unknown activation %d (n %zu)", fn,
          NAME(d), (int)o.act, o.n);
}

void act_forward(Dev *d, Act op, float *y, const float *x)
{
    act_check(d, "act_forward", op);
    DISPATCH(d, act_forward, act_name(op.act), op, y, x);
}

void act_backward(Dev *d, Act op, float *dx, const float *dy, const float *x, GradSet set)
{
    act_check(d, "act_backward", op);
    SET_FALLBACK(act_backward, SET_0, dx, op.n);
    DISPATCH(d, act_backward, act_name(op.act), op, dx, dy, x, set);
}

static void add_check(Dev *d, const char *fn, Add o)
{
    CHECK(o.act == ACT_NONE || o.act == ACT_RELU || o.act == ACT_RELU6, "%s on %s: n %zu with "
          "activation %d: add takes none, relu or relu6 (their derivative follows from the output)",
          fn, NAME(d), o.n, (int)o.act);
}

void add_forward(Dev *d, Add op, float *y, const float *a, const float *b)
{
    add_check(d, "add_forward", op);
    DISPATCH(d, add_forward, "add", op, y, a, b);
}

void add_backward(Dev *d, Add op, float *da, float *db, const float *dy, const float *y, GradSet set)
{
    add_check(d, "add_backward", op);
    CHECK(op.act == ACT_NONE || y, "add_backward on %s: n %zu with %s needs the output y", NAME(d),
          op.n, act_name(op.act));
    SET_FALLBACK(add_backward, SET_0, da, op.n);
    SET_FALLBACK(add_backward, SET_1, db, op.n);
    DISPATCH(d, add_backward, "add", op, da, db, dy, y, set);
}

void chanmul_forward(Dev *d, ChanMul op, float *y, const float *x, const float *s)
{
    CHECK(shape_ok(op.x), "chanmul_forward on %s: x %s", NAME(d), SHAPE_STR(op.x));
    DISPATCH(d, chanmul_forward, SHAPE_STR(op.x), op, y, x, s);
}

void chanmul_backward(Dev *d, ChanMul op, float *dx, float *ds, const float *dy, const float *x,
                      const float *s, GradSet set)
{
    CHECK(shape_ok(op.x), "chanmul_backward on %s: x %s", NAME(d), SHAPE_STR(op.x));
    SET_FALLBACK(chanmul_backward, SET_0, dx, shape_numel(op.x));
    SET_FALLBACK(chanmul_backward, SET_1, ds, (size_t)op.x.n * op.x.c);
    DISPATCH(d, chanmul_backward, SHAPE_STR(op.x), op, dx, ds, dy, x, s, set);
}

#define CHANPAD_STR(o) chanpad_str((o), (char[160]){0})
static const char *chanpad_str(ChanPad o, char buf[160])
{
    snprintf(buf, 160, "x %s before %d after %d%s", SHAPE_STR(o.x), o.before, o.after, o.slice ? " slice" : "");
    return buf;
}

static void chanpad_check(Dev *d, const char *fn, ChanPad o)
{
    CHECK(shape_ok(o.x) && o.before >= 0 && o.after >= 0 &&
              (long long)o.x.c + o.before + o.after <= INT32_MAX,
          "%s on %s: %s: need positive sizes and padding >= 0 (y has C + before + after "
          "channels)", fn, NAME(d), CHANPAD_STR(o));
}

void chanpad_forward(Dev *d, ChanPad op, float *y, const float *x)
{
    chanpad_check(d, "chanpad_forward", op);
    CHECK(y && x, "chanpad_forward on %s: NULL buffer (y %p x %p): %s", NAME(d), (void *)y,
          (const void *)x, CHANPAD_STR(op));
    DISPATCH(d, chanpad_forward, CHANPAD_STR(op), op, y, x);
}

void chanpad_backward(Dev *d, ChanPad op, float *dx, const float *dy, GradSet set)
{
    chanpad_check(d, "chanpad_backward", op);
    CHECK(dy, "chanpad_backward on %s: NULL dy: %s", NAME(d), CHANPAD_STR(op));
    SET_FALLBACK(chanpad_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, chanpad_backward, CHANPAD_STR(op), op, dx, dy, set);
}

void maxpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    pool2d_check(d, "maxpool_forward", op);
    DISPATCH(d, maxpool_forward, POOL_STR(op), op, y, x);
}

void maxpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, const float *x, GradSet set)
{
    pool2d_check(d, "maxpool_backward", op);
    SET_FALLBACK(maxpool_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, maxpool_backward, POOL_STR(op), op, dx, dy, x, set);
}

void avgpool_forward(Dev *d, Pool2d op, float *y, const float *x)
{
    pool2d_check(d, "avgpool_forward", op);
    DISPATCH(d, avgpool_forward, POOL_STR(op), op, y, x);
}

void avgpool_backward(Dev *d, Pool2d op, float *dx, const float *dy, GradSet set)
{
    pool2d_check(d, "avgpool_backward", op);
    SET_FALLBACK(avgpool_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, avgpool_backward, POOL_STR(op), op, dx, dy, set);
}

void gap_forward(Dev *d, GlobalAvgPool op, float *y, const float *x)
{
    CHECK(shape_ok(op.x), "gap_forward on %s: x %s", NAME(d), SHAPE_STR(op.x));
    DISPATCH(d, gap_forward, SHAPE_STR(op.x), op, y, x);
}

void gap_backward(Dev *d, GlobalAvgPool op, float *dx, const float *dy, GradSet set)
{
    CHECK(shape_ok(op.x), "gap_backward on %s: x %s", NAME(d), SHAPE_STR(op.x));
    SET_FALLBACK(gap_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, gap_backward, SHAPE_STR(op.x), op, dx, dy, set);
}

#define LINEAR_CHECK(fn, o)                                                                  \
    CHECK((o).n > 0 && (o).in > 0 && (o).out > 0, fn " on %s: x (%d,%d) w (%d,%d): sizes must " \
          "be positive", NAME(d), (o).n, (o).in, (o).out, (o).in)

void linear_forward(Dev *d, Linear op, float *y, const float *x, const float *w, const float *b)
{
    LINEAR_CHECK("linear_forward", op);
    CHECK(!op.bias || b, "linear_forward on %s: bias declared but b is NULL", NAME(d));
    DISPATCH(d, linear_forward, "linear", op, y, x, w, op.bias ? b : NULL);
}

void linear_backward(Dev *d, Linear op, float *dx, float *dw, float *db, const float *dy,
                     const float *x, const float *w, GradSet set)
{
    LINEAR_CHECK("linear_backward", op);
    SET_FALLBACK(linear_backward, SET_0, dx, (size_t)op.n * op.in);
    DISPATCH(d, linear_backward, "linear", op, dx, dw, op.bias ? db : NULL, dy, x, w, set);
}

#define DROP_CHECK(fn, o)                                                                   \
    CHECK((o).n > 0 && (o).per_sample > 0 && (o).p >= 0.0f && (o).p < 1.0f,                \
          fn " on %s: n %d per_sample %zu p %g: need positive sizes and p in [0, 1)", NAME(d), \
          (o).n, (o).per_sample, (o).p)

void dropout_forward(Dev *d, Drop op, float *y, const float *x)
{
    DROP_CHECK("dropout_forward", op);
    DISPATCH(d, dropout_forward, "dropout", op, y, x);
}

void dropout_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    DROP_CHECK("dropout_backward", op);
    SET_FALLBACK(dropout_backward, SET_0, dx, (size_t)op.n * op.per_sample);
    DISPATCH(d, dropout_backward, "dropout", op, dx, dy, set);
}

void droppath_forward(Dev *d, Drop op, float *y, const float *x)
{
    DROP_CHECK("droppath_forward", op);
    DISPATCH(d, droppath_forward, "droppath", op, y, x);
}

void droppath_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    DROP_CHECK("droppath_backward", op);
    SET_FALLBACK(droppath_backward, SET_0, dx, (size_t)op.n * op.per_sample);
    DISPATCH(d, droppath_backward, "droppath", op, dx, dy, set);
}

#define ROWS_CHECK(fn, o)                                                                    \
    CHECK((o).n > 0 && (o).k > 1, fn " on %s: logits (%d,%d): need N > 0 and K > 1 classes", \
          NAME(d), (o).n, (o).k)

void xent_forward(Dev *d, Xent op, float *loss, float *prob, const float *logits,
                  const int *labels, const float *targets)
{
    ROWS_CHECK("xent_forward", op);
    CHECK((labels == NULL) != (targets == NULL),
          "xent_forward on %s: logits (%d,%d): give exactly one of labels and targets", NAME(d),
          op.n, op.k);
    CHECK(op.smoothing >= 0.0f && op.smoothing < 1.0f,
          "xent_forward on %s: label smoothing %g outside [0, 1)", NAME(d), op.smoothing);
    DISPATCH(d, xent_forward, "xent", op, loss, prob, logits, labels, targets);
}

void xent_backward(Dev *d, Xent op, float *dlogits, const float *dloss, const float *prob,
                   const int *labels, const float *targets, GradSet set)
{
    ROWS_CHECK("xent_backward", op);
    CHECK((labels == NULL) != (targets == NULL),
          "xent_backward on %s: logits (%d,%d): give exactly one of labels and targets", NAME(d),
          op.n, op.k);
    SET_FALLBACK(xent_backward, SET_0, dlogits, (size_t)op.n * op.k);
    DISPATCH(d, xent_backward, "xent", op, dlogits, dloss, prob, labels, targets, set);
}

void softmax_forward(Dev *d, Softmax op, float *y, const float *x)
{
    ROWS_CHECK("softmax_forward", op);
    CHECK(op.t > 0 && isfinite(op.t), "softmax_forward on %s: temperature %g must be > 0",
          NAME(d), op.t);
    DISPATCH(d, softmax_forward, "softmax", op, y, x);
}

void kldiv_forward(Dev *d, KlDiv op, float *loss, float *p, const float *s, const float *q)
{
    ROWS_CHECK("kldiv_forward", op);
    CHECK(op.t > 0 && isfinite(op.t), "kldiv_forward on %s: temperature %g must be > 0",
          NAME(d), op.t);
    DISPATCH(d, kldiv_forward, "kldiv", op, loss, p, s, q);
}

void kldiv_backward(Dev *d, KlDiv op, float *ds, const float *dloss, const float *p,
                    const float *q, GradSet set)
{
    ROWS_CHECK("kldiv_backward", op);
    SET_FALLBACK(kldiv_backward, SET_0, ds, (size_t)op.n * op.k);
    DISPATCH(d, kldiv_backward, "kldiv", op, ds, dloss, p, q, set);
}

#define RESIZE_CHECK(fn, o)                                                                  \
    CHECK(shape_ok((o).x) && (o).oh > 0 && (o).ow > 0 &&                                     \
              ((o).mode == RESIZE_BILINEAR || (o).mode == RESIZE_NEAREST),                   \
          fn " on %s: x %s to %dx%d mode %d: sizes must be positive, the mode bilinear (0) or " \
          "nearest (1)", NAME(d), SHAPE_STR((o).x), (o).oh, (o).ow, (int)(o).mode)

void resize_forward(Dev *d, Resize op, float *y, const float *x)
{
    RESIZE_CHECK("resize_forward", op);
    DISPATCH(d, resize_forward, SHAPE_STR(op.x), op, y, x);
}

void resize_backward(Dev *d, Resize op, float *dx, const float *dy, GradSet set)
{
    RESIZE_CHECK("resize_backward", op);
    SET_FALLBACK(resize_backward, SET_0, dx, shape_numel(op.x));
    DISPATCH(d, resize_backward, SHAPE_STR(op.x), op, dx, dy, set);
}

void mul_forward(Dev *d, Mul op, float *y, const float *a, const float *b)
{
    CHECK(op.n > 0 && y && a && b, "mul_forward on %s: n %zu, y %p a %p b %p: need n > 0 and "
          "every buffer", NAME(d), op.n, (void *)y, (const void *)a, (const void *)b);
    DISPATCH(d, mul_forward, "mul", op, y, a, b);
}

void mul_backward(Dev *d, Mul op, float *da, float *db, const float *dy, const float *a,
                  const float *b, GradSet set)
{
    CHECK(op.n > 0 && dy && a && b, "mul_backward on %s: n %zu, dy %p a %p b %p: need n > 0 "
          "and dy, a, b", NAME(d), op.n, (const void *)dy, (const void *)a, (const void *)b);
    SET_FALLBACK(mul_backward, SET_0, da, op.n);
    SET_FALLBACK(mul_backward, SET_1, db, op.n);
    DISPATCH(d, mul_backward, "mul", op, da, db, dy, a, b, set);
}

// ---------------------------------------------------------------------------------------------
// the optimizer's updates and the vector helpers of clipping, L2 and the EMA

void optim_update(Dev *d, OptimUpd op, float *w, const float *g, float *s0, float *s1, float *u)
{
    bool lamb = op.kind == OPU_LAMB || op.kind == OPU_LAMB_APPLY, two = op.kind == OPU_ADAMW || op.kind == OPU_LAMB;
    CHECK(op.n > 0 && op.kind >= OPU_SGD && op.kind <= OPU_LAMB_APPLY && w && (g || op.kind == OPU_LAMB_APPLY) &&
              (!lamb || u) && (!two || (s0 && s1)) && (op.kind != OPU_RMSPROP_TF || s0),
          "optim_update on %s: kind %d n %zu, w %p g %p s0 %p s1 %p u %p: the kind's buffers missing", NAME(d),
          op.kind, op.n, (void *)w, (const void *)g, (void *)s0, (void *)s1, (void *)u);
    DISPATCH(d, optim_update, "optim", op, w, g, s0, s1, u);
}

void axpy(Dev *d, Vec op, float *y, const float *x)
{
    CHECK(op.n > 0 && y && x, "axpy on %s: n %zu, y %p x %p", NAME(d), op.n, (void *)y, (const void *)x);
    DISPATCH(d, axpy, "axpy", op, y, x);
}

void scale(Dev *d, Vec op, float *x)
{
    CHECK(op.n > 0 && x, "scale on %s: n %zu, x %p", NAME(d), op.n, (void *)x);
    DISPATCH(d, scale, "scale", op, x);
}

void lerp(Dev *d, Vec op, float *e, const float *w)
{
    CHECK(op.n > 0 && e && w, "lerp on %s: n %zu, e %p w %p", NAME(d), op.n, (void *)e, (const void *)w);
    DISPATCH(d, lerp, "lerp", op, e, w);
}

void sumsq(Dev *d, Vec op, const float *x, double *acc)
{
    CHECK(op.n > 0 && x && acc, "sumsq on %s: n %zu, x %p acc %p", NAME(d), op.n, (const void *)x, (void *)acc);
    DISPATCH(d, sumsq, "sumsq", op, x, acc);
}
