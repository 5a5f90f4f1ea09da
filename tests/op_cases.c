/* tests/op_cases.c — each op's tensors and call, and the op test's table of cases.
 *
 * Shapes cover odd sizes, stride 2, groups, depthwise, dilation, rectangular kernels, batch 1,
 * ceil-mode pooling and PyTorch's padding rules. Cases marked .fixture have PyTorch outputs in
 * tests/ref/ops.fix (tests/ref/gen_op_fixtures.py lists the same names and shapes).
 */
#include <stdio.h>  // snprintf
#include <string.h> // memset

#include "core/rng.h"
#include "op_cases.h"

static int add_t(Spec *s, Tensor t)
{
    CHECK(s->count < MAX_TENSORS, "op case: more than %d tensors", MAX_TENSORS);
    s->t[s->count] = t;
    return s->count++;
}

#define IN(nm, n_, lo_, hi_) add_t(s, (Tensor){nm, T_IN, n_, -1, 0, lo_, hi_, 0})
#define ST(nm, n_, lo_, hi_) add_t(s, (Tensor){nm, T_STATE, n_, -1, 0, lo_, hi_, 0})
#define OUT(nm, n_) add_t(s, (Tensor){nm, T_OUT, n_, -1, 0, 0, 0, 0})
#define DY(nm, n_, of_) add_t(s, (Tensor){nm, T_DY, n_, of_, 0, -1, 1, 0})
#define GRAD(nm, n_, of_) add_t(s, (Tensor){nm, T_GRAD, n_, of_, 0, 0, 0, 0})           // a parameter's
#define AGRAD(nm, n_, of_, bit) add_t(s, (Tensor){nm, T_GRAD, n_, of_, 0, 0, 0, bit}) // an activation's

// the common shape of a one-input op: x | y dy | dx, x uniform in [lo, hi)
static void unary_spec(Spec *s, size_t xn, size_t yn, float lo, float hi)
{
    int x = IN("x", xn, lo, hi), y = OUT("y", yn);
    DY("dy", yn, y);
    AGRAD("dx", xn, x, SET_0);
}

// ---------------------------------------------------------------------------------------------
// conv2d: x w b | y dy | dx dw db

// the common shape of a weighted op (conv, linear): x w b | y dy | dx dw db (bn = 0: no bias)
static void weighted_spec(Spec *s, size_t xn, size_t wn, size_t bn, size_t yn)
{
    int x = IN("x", xn, -1, 1), w = IN("w", wn, -0.5f, 0.5f);
    int b = IN("b", bn, -0.5f, 0.5f), y = OUT("y", yn);
    DY("dy", yn, y);
    AGRAD("dx", xn, x, SET_0);
    GRAD("dw", wn, w);
    GRAD("db", bn, b);
}

void conv_spec(const OpCase *c, Spec *s)
{
    Conv2d o = c->conv;
    weighted_spec(s, shape_numel(o.x), (size_t)o.oc * o.kh * o.kw * (o.x.c / o.g),
                  o.bias ? (size_t)o.oc : 0, shape_numel(conv2d_out(o)));
}

void conv_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    conv2d_forward(d, c->conv, t[3], t[0], t[1], t[2]);
    conv2d_backward(d, c->conv, t[5], t[6], t[7], t[4], t[0], t[1], set);
}

// fused conv + bias + activation, forward only (inference): x w b | y
void conv_fused_spec(const OpCase *c, Spec *s)
{
    Conv2d o = c->conv;
    IN("x", shape_numel(o.x), -1, 1);
    IN("w", (size_t)o.oc * o.kh * o.kw * (o.x.c / o.g), -0.5f, 0.5f);
    IN("b", o.bias ? (size_t)o.oc : 0, -0.5f, 0.5f);
    OUT("y", shape_numel(conv2d_out(o)));
}

void conv_fused_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    conv2d_forward(d, c->conv, t[3], t[0], t[1], t[2]);
}

// the chain 1x1 -> depthwise (forward only): x w1 b1 w2 b2 | y
void chain_spec(const OpCase *c, Spec *s)
{
    Conv2d p = c->chain.pw, q = c->chain.dw;
    IN("x", shape_numel(p.x), -1, 1);
    IN("w1", (size_t)p.oc * p.x.c, -0.5f, 0.5f);
    IN("b1", p.bias ? (size_t)p.oc : 0, -0.5f, 0.5f);
    IN("w2", (size_t)q.oc * q.kh * q.kw, -0.5f, 0.5f);
    IN("b2", q.bias ? (size_t)q.oc : 0, -0.5f, 0.5f);
    OUT("y", shape_numel(conv2d_out(q)));
}

void chain_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    conv2d_chain_forward(d, c->chain, t[5], t[0], t[1], t[2], t[3], t[4]);
}

// batch norm: x gamma beta run_mean run_var | y mean rstd dy | dx dgamma dbeta

void bn_spec(const OpCase *c, Spec *s)
{
    size_t n = shape_numel(c->bn.x), ch = (size_t)c->bn.x.c;
    int x = IN("x", n, -1, 3), g = IN("gamma", ch, 0.5f, 1.5f), b = IN("beta", ch, -0.5f, 0.5f);
    ST("run_mean", ch, -0.5f, 0.5f);
    ST("run_var", ch, 0.5f, 1.5f);
    int y = OUT("y", n);
    OUT("mean", ch);
    OUT("rstd", ch);
    DY("dy", n, y);
    AGRAD("dx", n, x, SET_0);
    GRAD("dgamma", ch, g);
    GRAD("dbeta", ch, b);
}

void bn_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    batchnorm_forward(d, c->bn, t[5], t[6], t[7], t[3], t[4], t[0], t[1], t[2]);
    batchnorm_backward(d, c->bn, t[9], t[10], t[11], t[8], t[0], t[1], t[2], t[6], t[7], set);
}

// activation: x | y dy | dx       (x spans every kink: 0, +-3, 6)

void act_spec(const OpCase *c, Spec *s) { unary_spec(s, c->act.n, c->act.n, -4, 7); }

void act_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    act_forward(d, c->act, t[1], t[0]);
    act_backward(d, c->act, t[3], t[2], t[0], set);
}

// add: a b | y dy | da db

// the common shape of a two-input elementwise op: a b | y dy | da db, inputs in [lo, hi)
static void binary_spec(Spec *s, size_t n, float lo, float hi)
{
    int a = IN("a", n, lo, hi), b = IN("b", n, lo, hi), y = OUT("y", n);
    DY("dy", n, y);
    AGRAD("da", n, a, SET_0);
    AGRAD("db", n, b, SET_1);
}

void add_spec(const OpCase *c, Spec *s)
{
    // relu6: sums across both kinks (0 and 6)
    bool r6 = c->add.act == ACT_RELU6;
    binary_spec(s, c->add.n, r6 ? -2 : -1, r6 ? 5 : 1);
}

void add_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    add_forward(d, c->add, t[2], t[0], t[1]);
    add_backward(d, c->add, t[4], t[5], t[3], t[2], set);
}

// elementwise product: a b | y dy | da db

void mul_spec(const OpCase *c, Spec *s) { binary_spec(s, c->mul.n, -1, 1); }

void mul_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    mul_forward(d, c->mul, t[2], t[0], t[1]);
    mul_backward(d, c->mul, t[4], t[5], t[3], t[0], t[1], set);
}

// the optimizer's update of an entry: g | w s0 s1 (state: read and updated) | u (LAMB's update)
void optim_spec(const OpCase *c, Spec *s)
{
    const OptimUpd *o = &c->opt;
    bool apply = o->kind == OPU_LAMB_APPLY, two = o->kind == OPU_ADAMW || o->kind == OPU_LAMB;
    if (!apply) IN("g", o->n, -1, 1);
    ST("w", o->n, -1, 1);
    if (o->kind != OPU_SGD || o->momentum != 0) ST("s0", apply ? 0 : o->n, 0, 1); // square averages >= 0
    if (two || (o->kind == OPU_RMSPROP_TF && o->momentum > 0)) ST("s1", o->n, 0, 1);
    if (o->kind == OPU_LAMB) OUT("u", o->n);
    if (apply) IN("u", o->n, -1, 1);
}

void optim_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    const OptimUpd *o = &c->opt;
    switch (o->kind) {
    case OPU_LAMB_APPLY: optim_update(d, *o, t[0], NULL, NULL, NULL, t[2]); break; // w s0(absent) u
    case OPU_LAMB: optim_update(d, *o, t[1], t[0], t[2], t[3], t[4]); break;
    case OPU_ADAMW: optim_update(d, *o, t[1], t[0], t[2], t[3], NULL); break;
    case OPU_RMSPROP_TF: optim_update(d, *o, t[1], t[0], t[2], o->momentum > 0 ? t[3] : NULL, NULL); break;
    default: optim_update(d, *o, t[1], t[0], o->momentum != 0 ? t[2] : NULL, NULL, NULL);
    }
}

// the vector helpers: x | y (state) for axpy, lerp; x (state) for scale; x | s (the sum, 1 value)
void vec_spec(const OpCase *c, Spec *s)
{
    if (!strcmp(c->name + strlen(c->name) - 5, "scale")) {
        ST("x", c->vec.n, -1, 1);
        return;
    }
    IN("x", c->vec.n, -1, 1);
    if (!strcmp(c->name + strlen(c->name) - 5, "sumsq")) OUT("s", 1);
    else ST("y", c->vec.n, -1, 1);
}

void vec_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    const char *kind = c->name + strlen(c->name) - 5;
    if (!strcmp(kind, "scale")) scale(d, c->vec, t[0]);
    else if (!strcmp(kind, " axpy")) axpy(d, c->vec, t[1], t[0]);
    else if (!strcmp(kind, " lerp")) lerp(d, c->vec, t[1], t[0]);
    else { // a double on the host, kept as a float for the comparison
        double acc = 0.25; // sumsq adds to what it is given
        sumsq(d, c->vec, t[0], &acc);
        float v = (float)acc;
        dev_upload(d, t[1], &v, sizeof v);
    }
}

// channel multiply: x s | y dy | dx ds

void chanmul_spec(const OpCase *c, Spec *s)
{
    size_t n = shape_numel(c->cm.x), ns = (size_t)c->cm.x.n * c->cm.x.c;
    int x = IN("x", n, -1, 1), g = IN("s", ns, 0, 1), y = OUT("y", n);
    DY("dy", n, y);
    AGRAD("dx", n, x, SET_0);
    AGRAD("ds", ns, g, SET_1);
}

void chanmul_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    chanmul_forward(d, c->cm, t[2], t[0], t[1]);
    chanmul_backward(d, c->cm, t[4], t[5], t[3], t[0], t[1], set);
}

// channel concatenation as g_concat runs it, two channel paddings in slice mode writing one
// tensor: a b | y dy | da db (case .cp: a's shape, `after` = b's channels)
void concat_spec(const OpCase *c, Spec *s)
{
    Shape4 as = c->cp.x, bs = as;
    bs.c = c->cp.after;
    int a = IN("a", shape_numel(as), -1, 1), b = IN("b", shape_numel(bs), -1, 1);
    int y = OUT("y", shape_numel(chanpad_out(c->cp)));
    DY("dy", shape_numel(chanpad_out(c->cp)), y);
    AGRAD("da", shape_numel(as), a, SET_0);
    AGRAD("db", shape_numel(bs), b, SET_0);
}

void concat_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    Shape4 bs = c->cp.x;
    bs.c = c->cp.after;
    ChanPad pa = {c->cp.x, 0, bs.c, true}, pb = {bs, c->cp.x.c, 0, true};
    chanpad_forward(d, pa, t[2], t[0]);
    chanpad_forward(d, pb, t[2], t[1]);
    chanpad_backward(d, pb, t[5], t[3], set);
    chanpad_backward(d, pa, t[4], t[3], set);
}

// channel zero-padding: x | y dy | dx

void chanpad_spec(const OpCase *c, Spec *s)
{
    unary_spec(s, shape_numel(c->cp.x), shape_numel(chanpad_out(c->cp)), -1, 1);
}

void chanpad_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    chanpad_forward(d, c->cp, t[1], t[0]);
    chanpad_backward(d, c->cp, t[3], t[2], set);
}

// pooling: x | y dy | dx

void maxpool_spec(const OpCase *c, Spec *s)
{
    unary_spec(s, shape_numel(c->pool.x), shape_numel(pool2d_out(c->pool)), -1, 1);
}

void avgpool_spec(const OpCase *c, Spec *s) { maxpool_spec(c, s); }

void maxpool_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    maxpool_forward(d, c->pool, t[1], t[0]);
    maxpool_backward(d, c->pool, t[3], t[2], t[0], set);
}

void avgpool_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    avgpool_forward(d, c->pool, t[1], t[0]);
    avgpool_backward(d, c->pool, t[3], t[2], set);
}

void gap_spec(const OpCase *c, Spec *s)
{
    unary_spec(s, shape_numel(c->gap.x), (size_t)c->gap.x.n * c->gap.x.c, -1, 1);
}

void gap_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    gap_forward(d, c->gap, t[1], t[0]);
    gap_backward(d, c->gap, t[3], t[2], set);
}

// linear: x w b | y dy | dx dw db

void linear_spec(const OpCase *c, Spec *s)
{
    Linear o = c->lin;
    weighted_spec(s, (size_t)o.n * o.in, (size_t)o.out * o.in, o.bias ? (size_t)o.out : 0,
                  (size_t)o.n * o.out);
}

void linear_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    linear_forward(d, c->lin, t[3], t[0], t[1], t[2]);
    linear_backward(d, c->lin, t[5], t[6], t[7], t[4], t[0], t[1], set);
}

// dropout, drop-path: x | y dy | dx

void drop_spec(const OpCase *c, Spec *s)
{
    size_t n = (size_t)c->drop.n * c->drop.per_sample;
    unary_spec(s, n, n, -1, 1);
}

void dropout_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    dropout_forward(d, c->drop, t[1], t[0]);
    dropout_backward(d, c->drop, t[3], t[2], set);
}

void droppath_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    droppath_forward(d, c->drop, t[1], t[0]);
    droppath_backward(d, c->drop, t[3], t[2], set);
}

// cross-entropy: logits labels|targets | loss prob dloss | dlogits

void xent_label_spec(const OpCase *c, Spec *s)
{
    size_t n = (size_t)c->xent.n, nk = n * c->xent.k;
    int z = IN("logits", nk, -3, 3);
    add_t(s, (Tensor){"labels", T_LABEL, n, -1, c->xent.k, 0, 0, 0});
    int l = OUT("loss", n);
    OUT("prob", nk);
    DY("dloss", n, l);
    AGRAD("dlogits", nk, z, SET_0);
}

void xent_label_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    xent_forward(d, c->xent, t[2], t[3], t[0], (const int *)t[1], NULL);
    xent_backward(d, c->xent, t[5], t[4], t[3], (const int *)t[1], NULL, set);
}

void xent_soft_spec(const OpCase *c, Spec *s)
{
    size_t n = (size_t)c->xent.n, nk = n * c->xent.k;
    int z = IN("logits", nk, -3, 3);
    add_t(s, (Tensor){"targets", T_PROB, nk, -1, c->xent.k, 0, 0, 0});
    int l = OUT("loss", n);
    OUT("prob", nk);
    DY("dloss", n, l);
    AGRAD("dlogits", nk, z, SET_0);
}

void xent_soft_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    xent_forward(d, c->xent, t[2], t[3], t[0], NULL, t[1]);
    xent_backward(d, c->xent, t[5], t[4], t[3], NULL, t[1], set);
}

// softmax (forward only): x | y

void softmax_spec(const OpCase *c, Spec *s)
{
    size_t nk = (size_t)c->sm.n * c->sm.k;
    IN("x", nk, -5, 5);
    OUT("y", nk);
}

void softmax_call(const OpCase *c, Dev *d, float **t, GradSet set) { softmax_forward(d, c->sm, t[1], t[0]); }

// KL distillation: s q | loss p dloss | ds

void kldiv_spec(const OpCase *c, Spec *s)
{
    size_t n = (size_t)c->kl.n, nk = n * c->kl.k;
    int z = IN("s", nk, -3, 3);
    add_t(s, (Tensor){"q", T_PROB, nk, -1, c->kl.k, 0, 0, 0});
    int l = OUT("loss", n);
    OUT("p", nk);
    DY("dloss", n, l);
    AGRAD("ds", nk, z, SET_0);
}

void kldiv_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    kldiv_forward(d, c->kl, t[2], t[3], t[0], t[1]);
    kldiv_backward(d, c->kl, t[5], t[4], t[3], t[1], set);
}

// resize (bilinear, nearest): x | y dy | dx

void resize_spec(const OpCase *c, Spec *s)
{
    unary_spec(s, shape_numel(c->rs.x), (size_t)c->rs.x.n * c->rs.oh * c->rs.ow * c->rs.x.c, -1, 1);
}

void resize_call(const OpCase *c, Dev *d, float **t, GradSet set)
{
    resize_forward(d, c->rs, t[1], t[0]);
    resize_backward(d, c->rs, t[3], t[2], set);
}

// ---------------------------------------------------------------------------------------------
// the table

#define CONV(nm, x_, oc, kh, kw, s_, p_, d_, g, bias)                                        \
    {nm, conv_spec, conv_call, 1e-5, true, true,                                             \
     .conv = {x_, oc, kh, kw, s_, s_, p_, p_, d_, d_, g, bias}}
#define POOL(nm, kind, x_, k, s_, p_, ceil, incl)                                            \
    {nm, kind##_spec, kind##_call, 1e-5, true, true,                                         \
     .pool = {x_, k, k, s_, s_, p_, p_, ceil, incl}}
#define ACT(nm, kind) {nm, act_spec, act_call, 1e-5, true, true, .act = {1000, kind}}
// copies and zeros: forward and ref's backward are exact (the printed errors are 0), the tolerance
// is for the pre-filled gradients, (pre + dy) - pre, as for add
#define CHANPAD(nm, x_, before, after) \
    {nm, chanpad_spec, chanpad_call, 1e-6, true, true, .cp = {x_, before, after, false}}

#define RESIZE_NEAREST_CASE(nm, x_, oh_, ow_) \
    {nm, resize_spec, resize_call, 1e-6, true, true, .rs = {x_, oh_, ow_, RESIZE_NEAREST}}

const OpCase op_cases[] = {
    CONV("conv2d 3x3 s1 p1", ((Shape4){2, 9, 9, 8}), 16, 3, 3, 1, 1, 1, 1, false),
    CONV("conv2d 3x3 s2 p1", ((Shape4){2, 9, 9, 8}), 16, 3, 3, 2, 1, 1, 1, false),
    CONV("conv2d 1x1 s2", ((Shape4){2, 9, 9, 8}), 16, 1, 1, 2, 0, 1, 1, false),
    CONV("conv2d 1x1 s2 even (pad_r -1)", ((Shape4){2, 8, 8, 6}), 12, 1, 1, 2, 0, 1, 1, false),
    CONV("conv2d 5x5 g2 p2", ((Shape4){2, 8, 7, 6}), 10, 5, 5, 1, 2, 1, 2, false),
    CONV("dwconv 3x3 s2", ((Shape4){2, 9, 9, 8}), 8, 3, 3, 2, 1, 1, 8, false),
    CONV("dwconv 5x5 x2 bias", ((Shape4){2, 7, 8, 6}), 12, 5, 5, 1, 2, 1, 6, true),
    // 1x1 stride 1: cpu's GEMM (sgemm, beta = 1 adds into dx and dw), bias included
    // cpu's Winograd with a bias (its gradient summed beside the backward passes)
    {"conv2d 3x3 s1 winograd bias", conv_spec, conv_call, 1e-5, true, false,
     .conv = {{2, 6, 7, 16}, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, true}},
#define GEMM(nm, n, h, w, c, oc, bias)                                                        \
    {nm, conv_spec, conv_call, 1e-5, true, false, .conv = {{n, h, w, c}, oc, 1, 1, 1, 1, 0, 0, 1, 1, 1, bias}}
    GEMM("conv2d 1x1 s1 gemm bias", 2, 5, 7, 24, 40, true),
    GEMM("conv2d 1x1 s1 gemm 96->20", 3, 3, 3, 96, 20, false),
    GEMM("conv2d 1x1 s1 gemm 1x1 map", 4, 1, 1, 7, 5, true),
#undef GEMM
    // cpu's own depthwise kernels (dwconv.c): channel counts with a partial 16-lane block (24, 40,
    // 7), odd maps, strides 1 and 2, 3x3 / 5x5 / 7x7, bias, several images (their sums are added in
    // image order); against ref (no PyTorch fixture)
#define DWCONV(nm, n, h, w, c, k, s_, p_, bias)                                               \
    {nm, conv_spec, conv_call, 1e-5, false, false, .conv = {{n, h, w, c}, c, k, k, s_, s_, p_, p_, 1, 1, c, bias}}
    DWCONV("dwconv 3x3 s1 c24", 3, 7, 9, 24, 3, 1, 1, false),
    DWCONV("dwconv 3x3 s2 c40 odd", 2, 11, 9, 40, 3, 2, 1, false),
    DWCONV("dwconv 5x5 s2 c16 bias", 2, 10, 10, 16, 5, 2, 2, true),
    DWCONV("dwconv 7x7 s1 c7", 2, 8, 6, 7, 7, 1, 3, true),
    DWCONV("dwconv 3x3 s1 c48 2x2", 4, 2, 2, 48, 3, 1, 1, false),
    // tiny maps at stride 2, where an output column's taps partly or wholly miss the map (the
    // backward weights' column ranges: floor division of negative numerators)
    DWCONV("dwconv 7x7 s2 c16 2x2", 2, 2, 2, 16, 7, 2, 3, false),
    DWCONV("dwconv 7x7 s2 c20 3x3", 2, 3, 3, 20, 7, 2, 3, true),
    {"dwconv 3x5 s2 c24 2x2", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{2, 2, 2, 24}, 24, 3, 5, 2, 2, 1, 2, 1, 1, 24, false}},
#undef DWCONV
    CONV("conv2d 3x3 d2 p2", ((Shape4){2, 9, 10, 5}), 7, 3, 3, 1, 2, 2, 1, false),
    CONV("conv2d 7x7 s2 n1 c3", ((Shape4){1, 13, 11, 3}), 8, 7, 7, 2, 3, 1, 1, false),
    CONV("conv2d 3x3 p0 n1 bias", ((Shape4){1, 6, 7, 4}), 5, 3, 3, 1, 0, 1, 1, true),
    // 16-channel multiples: cpu's own Winograd (winograd.c) up to 64 channels; beyond, oneDNN's
    // (blocked layout = NHWC at 16 channels, else reorders in and out, dx's adding into the
    // gradient): the two "onednn" cases
    CONV("conv2d 3x3 s1 c16 wino", ((Shape4){2, 9, 9, 16}), 16, 3, 3, 1, 1, 1, 1, false),
    CONV("conv2d 3x3 s1 c32 oc16 wino", ((Shape4){2, 7, 11, 32}), 16, 3, 3, 1, 1, 1, 1, false),
    CONV("conv2d 3x3 s1 c16 oc48 n3 wino", ((Shape4){3, 6, 5, 16}), 48, 3, 3, 1, 1, 1, 1, false),
    CONV("conv2d 3x3 s1 c32 p0 wino", ((Shape4){2, 8, 8, 32}), 32, 3, 3, 1, 0, 1, 1, false),
    // cpu's own Winograd (winograd.c, C and OC multiples of 16 up to 64): ResNet-20's three shapes
    // at batch 2 (whole, cut and single-tile-edged 4x4 tiles), a padding of 2 (the output larger
    // than the input), and mixed counts; against ref only (no fixture: ref is held to PyTorch)
    {"conv2d 3x3 s1 28x28 c16 wino", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{2, 28, 28, 16}, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 3x3 s1 14x14 c32 wino", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{2, 14, 14, 32}, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 3x3 s1 7x7 c64 wino", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{2, 7, 7, 64}, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 3x3 s1 p2 c48 oc32 wino", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{1, 5, 10, 48}, 32, 3, 3, 1, 1, 2, 2, 1, 1, 1, false}},
    {"conv2d 3x3 s1 c16 oc80 wino onednn", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{2, 6, 7, 16}, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 3x3 s1 c96 oc32 wino onednn", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{2, 5, 5, 96}, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 1x3 s(1,2) bias", conv_spec, conv_call, 1e-5, true, true,
     .conv = {{2, 5, 9, 4}, 6, 1, 3, 1, 2, 0, 1, 1, 1, 1, true}},
    {"conv2d 3x3 bias+relu fused", conv_fused_spec, conv_fused_call, 1e-5, false, true,
     .conv = {{2, 9, 9, 8}, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, ACT_RELU}},
    {"conv2d 3x3 s1 winograd bias+relu fused", conv_fused_spec, conv_fused_call, 1e-5, false, false,
     .conv = {{2, 9, 7, 32}, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, ACT_RELU}},
    {"conv2d 1x1 s1 gemm bias+silu fused", conv_fused_spec, conv_fused_call, 1e-5, false, false,
     .conv = {{3, 5, 3, 24}, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, ACT_SILU}},
    {"conv2d 1x1 s1 gemm bias+relu6 fused", conv_fused_spec, conv_fused_call, 1e-5, false, false,
     .conv = {{2, 3, 3, 16}, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, ACT_RELU6}},
    // the GEMM forward with a bias or activation in blocks of rows, each followed by its epilogue:
    // several blocks and a partial last one (40 channels: 1632 rows a block; 300: 256)
    {"conv2d 1x1 s1 gemm blocks bias+silu fused", conv_fused_spec, conv_fused_call, 1e-5, false, false,
     .conv = {{3, 25, 23, 12}, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, ACT_SILU}},
    {"conv2d 1x1 s1 gemm blocks oc300 bias+hswish fused", conv_fused_spec, conv_fused_call, 1e-5, false,
     false, .conv = {{2, 13, 11, 20}, 300, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, ACT_HSWISH}},
    {"conv2d 1x1 s1 gemm blocks bias", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{3, 25, 23, 12}, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1, true}},
    // the 1x1 -> depthwise chain (eval's inverted residual): cpu's bands of rows with the rows two
    // bands share carried over (40 rows of 18 x 200 channels: 3 bands; 45 x 16 x 300 at stride 2:
    // 4; 33 x 20 x 120, 5x5 stride 2: 2), and a map too small for bands (through scratch)
#define CHAIN(nm, n, h, w, c, cm, k, s_, p_, bias, a1, a2)                                                 \
    {nm, chain_spec, chain_call, 1e-5, false, false,                                                     \
     .chain = {{{n, h, w, c}, cm, 1, 1, 1, 1, 0, 0, 1, 1, 1, bias, a1},                                  \
               {{n, h, w, cm}, cm, k, k, s_, s_, p_, p_, 1, 1, cm, bias, a2}}}
    CHAIN("chain 1x1-dw 3x3 s1 bands relu6", 2, 40, 18, 12, 200, 3, 1, 1, true, ACT_RELU6, ACT_RELU6),
    CHAIN("chain 1x1-dw 3x3 s2 bands odd", 1, 45, 16, 10, 300, 3, 2, 1, true, ACT_RELU6, ACT_NONE),
    CHAIN("chain 1x1-dw 5x5 s2 bands hswish", 2, 33, 20, 8, 120, 5, 2, 2, true, ACT_HSWISH, ACT_HSWISH),
    CHAIN("chain 1x1-dw 3x3 s1 no bias", 2, 20, 17, 9, 56, 3, 1, 1, false, ACT_NONE, ACT_NONE),
    CHAIN("chain 1x1-dw 3x3 s2 small map silu", 3, 7, 9, 16, 24, 3, 2, 1, true, ACT_SILU, ACT_SILU),
#undef CHAIN
    {"dwconv 3x3 s1 c24 bias+relu6 fused", conv_fused_spec, conv_fused_call, 1e-5, false, false,
     .conv = {{2, 5, 7, 24}, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24, true, ACT_RELU6}},
    {"dwconv 3x3 s2 bias+hswish fused", conv_fused_spec, conv_fused_call, 1e-5, false, true,
     .conv = {{2, 9, 9, 8}, 8, 3, 3, 2, 2, 1, 1, 1, 1, 8, true, ACT_HSWISH}},
    {"conv2d 1x1 bias+hsigmoid fused", conv_fused_spec, conv_fused_call, 1e-5, false, true,
     .conv = {{2, 5, 6, 8}, 12, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, ACT_HSIGMOID}},
    {"batchnorm train", bn_spec, bn_call, 1e-5, true, true, .bn = {{4, 5, 5, 8}, 1e-5f, 0.1f, true}},
    {"batchnorm train n1", bn_spec, bn_call, 1e-5, true, true,
     .bn = {{1, 7, 5, 3}, 1e-3f, 0.01f, true}},
    {"batchnorm eval", bn_spec, bn_call, 1e-5, true, true, .bn = {{3, 4, 5, 6}, 1e-5f, 0.1f, false}},
    // an activation fused into batch norm (the backward recomputes its input from x)
    {"batchnorm train relu", bn_spec, bn_call, 1e-5, true, true,
     .bn = {{4, 5, 5, 8}, 1e-5f, 0.1f, true, ACT_RELU}},
    {"batchnorm train hswish n1", bn_spec, bn_call, 1e-5, true, true,
     .bn = {{1, 7, 5, 3}, 1e-3f, 0.01f, true, ACT_HSWISH}},
    {"batchnorm eval silu", bn_spec, bn_call, 1e-5, true, true,
     .bn = {{3, 4, 5, 6}, 1e-5f, 0.1f, false, ACT_SILU}},
    // cpu's vector passes at channel counts of every kind (C a multiple of 16, of 8 or 4, odd:
    // the channel pattern repeats every lcm(C, 16) floats), each fused activation, the
    // statistics over several 256-row chunks with a partial last one and a flat tail shorter
    // than a pattern (1x17x17x24); against ref only
    {"batchnorm train c16 relu", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{4, 9, 7, 16}, 1e-5f, 0.1f, true, ACT_RELU}},
    {"batchnorm train c32", bn_spec, bn_call, 1e-5, false, false, .bn = {{3, 7, 9, 32}, 1e-5f, 0.1f, true}},
    {"batchnorm train c48 relu", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{2, 8, 9, 48}, 1e-5f, 0.1f, true, ACT_RELU}},
    {"batchnorm train c64 silu", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{2, 7, 7, 64}, 1e-5f, 0.1f, true, ACT_SILU}},
    {"batchnorm train c64 relu", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{2, 7, 7, 64}, 1e-5f, 0.1f, true, ACT_RELU}},
    {"batchnorm train c24 relu6 chunks", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{1, 17, 17, 24}, 1e-5f, 0.1f, true, ACT_RELU6}},
    {"batchnorm train c96 relu6", bn_spec, bn_call, 1e-5, false, false, // fd: a channel's statistics move
     // every z of it, and relu6's two kinks among 45 rows catch some step
     .bn = {{3, 5, 3, 96}, 1e-5f, 0.1f, true, ACT_RELU6}},
    {"batchnorm train c144 hswish", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{2, 3, 5, 144}, 1e-3f, 0.01f, true, ACT_HSWISH}},
    {"batchnorm train c20 silu", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{3, 7, 5, 20}, 1e-5f, 0.1f, true, ACT_SILU}},
    {"batchnorm train c40 sigmoid chunks", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{3, 10, 9, 40}, 1e-5f, 0.1f, true, ACT_SIGMOID}},
    {"batchnorm eval c40 hsigmoid", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{2, 3, 3, 40}, 1e-5f, 0.1f, false, ACT_HSIGMOID}},
    {"batchnorm train c7 gelu", bn_spec, bn_call, 1e-5, true, false,
     .bn = {{2, 5, 5, 7}, 1e-5f, 0.1f, true, ACT_GELU}},
    {"batchnorm train c576 relu6", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{2, 3, 3, 576}, 1e-5f, 0.1f, true, ACT_RELU6}},
    {"batchnorm train c1280 silu", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{4, 2, 2, 1280}, 1e-3f, 0.01f, true, ACT_SILU}},
    ACT("act relu", ACT_RELU),
    ACT("act relu6", ACT_RELU6),
    ACT("act silu", ACT_SILU),
    ACT("act hswish", ACT_HSWISH),
    ACT("act hsigmoid", ACT_HSIGMOID),
    ACT("act sigmoid", ACT_SIGMOID),
    ACT("act gelu", ACT_GELU),
    {"add", add_spec, add_call, 1e-6, true, true, .add = {1001, ACT_NONE}},
    {"add relu", add_spec, add_call, 1e-6, true, true, .add = {1001, ACT_RELU}},
    {"add relu6", add_spec, add_call, 1e-6, true, true, .add = {1001, ACT_RELU6}},
    {"chanmul (SE gate)", chanmul_spec, chanmul_call, 1e-5, true, true, .cm = {{2, 5, 7, 12}}},
    POOL("maxpool 3x3 s2 p1", maxpool, ((Shape4){2, 9, 9, 4}), 3, 2, 1, false, true),
    POOL("maxpool 2x2 s2 ceil", maxpool, ((Shape4){2, 7, 7, 3}), 2, 2, 0, true, true),
    POOL("maxpool 3x3 s1 p1 n1", maxpool, ((Shape4){1, 6, 5, 5}), 3, 1, 1, false, true),
    POOL("avgpool 2x2 s2 ceil excl", avgpool, ((Shape4){2, 7, 7, 3}), 2, 2, 0, true, false),
    POOL("avgpool 3x3 s1 p1 incl", avgpool, ((Shape4){2, 6, 5, 4}), 3, 1, 1, false, true),
    POOL("avgpool 3x3 s2 p1 excl", avgpool, ((Shape4){2, 9, 8, 4}), 3, 2, 1, false, false),
    POOL("avgpool 3x3 s2 p0 even excl", avgpool, ((Shape4){2, 8, 8, 3}), 3, 2, 0, false, false),
    POOL("maxpool 3x3 s2 p0 even", maxpool, ((Shape4){2, 8, 8, 3}), 3, 2, 0, false, true),
    POOL("avgpool 3x3 s2 ceil incl", avgpool, ((Shape4){1, 8, 8, 2}), 3, 2, 1, true, true),
    {"global avgpool", gap_spec, gap_call, 1e-5, true, true, .gap = {{2, 7, 5, 6}}},
    {"linear bias", linear_spec, linear_call, 1e-5, true, true, .lin = {5, 13, 7, true}},
    {"linear 64->10 n1", linear_spec, linear_call, 1e-5, true, true, .lin = {1, 64, 10, true}},
    {"linear no bias", linear_spec, linear_call, 1e-5, true, true, .lin = {4, 9, 11, false}},
    // shapes where every thread gets work, for the "threads" rows (the cpu backend's same bits
    // at 1 and 3 threads: fixed chunks, never per-thread sums); against ref only
    {"conv2d 3x3 s2 n13 bias threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{13, 9, 9, 8}, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, true}},
    {"conv2d 3x3 s1 c16 n8 wino threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{8, 28, 28, 16}, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 3x3 s1 c96 n6 wino onednn threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{6, 9, 9, 96}, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}},
    {"conv2d 1x1 s1 gemm n8 bias threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{8, 14, 14, 32}, 48, 1, 1, 1, 1, 0, 0, 1, 1, 1, true}},
    {"conv2d 1x1 s1 gemm 32x28x28 c16 threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{32, 28, 28, 16}, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}},
    {"conv2d 1x1 s1 gemm 32x1x1 c960->240 bias threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{32, 1, 1, 960}, 240, 1, 1, 1, 1, 0, 0, 1, 1, 1, true}},
    {"conv2d 1x1 s1 gemm 32x2x2 c960->160 threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{32, 2, 2, 960}, 160, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}},
    {"dwconv 3x3 s1 c16 n32 threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{32, 28, 28, 16}, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, false}},
    {"chanmul n32 c72 threads", chanmul_spec, chanmul_call, 1e-5, false, false, .cm = {{32, 14, 14, 72}}},
    {"batchnorm train c16 n32 hswish threads", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{32, 28, 28, 16}, 1e-5f, 0.1f, true, ACT_HSWISH}},
    {"dwconv 3x3 s1 c96 n16 threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{16, 14, 14, 96}, 96, 3, 3, 1, 1, 1, 1, 1, 1, 96, false}},
    {"dwconv 5x5 s2 c40 n16 bias threads", conv_spec, conv_call, 1e-5, false, false,
     .conv = {{16, 14, 14, 40}, 40, 5, 5, 2, 2, 2, 2, 1, 1, 40, true}},
    {"batchnorm eval c40 n16 threads", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{16, 14, 14, 40}, 1e-5f, 0.1f, false, ACT_RELU6}},
    {"batchnorm train c96 n16 threads", bn_spec, bn_call, 1e-5, false, false,
     .bn = {{16, 14, 14, 96}, 1e-5f, 0.1f, true, ACT_SILU}},
    {"global avgpool n16 threads", gap_spec, gap_call, 1e-5, false, false, .gap = {{16, 14, 14, 96}}},
    {"linear 128x1280->10 threads", linear_spec, linear_call, 1e-5, false, false, .lin = {128, 1280, 10, true}},
    {"linear 512x64->1000 threads", linear_spec, linear_call, 1e-5, false, false, .lin = {512, 64, 1000, true}},
    {"xent labels 512x1000 threads", xent_label_spec, xent_label_call, 1e-5, false, false,
     .xent = {512, 1000, 0.1f}},
    {"dropout p0.3", drop_spec, dropout_call, 1e-6, true, true, .drop = {4, 50, 0.3f, 7, 100}},
    {"dropout p0", drop_spec, dropout_call, 1e-6, true, true, .drop = {3, 17, 0.0f, 7, 0}},
    {"droppath p0.25", drop_spec, droppath_call, 1e-6, true, true,
     .drop = {8, 30, 0.25f, 11, 5}},
    {"xent labels smooth0.1", xent_label_spec, xent_label_call, 1e-5, true, true,
     .xent = {6, 10, 0.1f}},
    {"xent labels n1 k3", xent_label_spec, xent_label_call, 1e-5, true, true, .xent = {1, 3, 0}},
    {"xent soft targets", xent_soft_spec, xent_soft_call, 1e-5, true, true, .xent = {5, 7, 0}},
    {"softmax t1", softmax_spec, softmax_call, 1e-5, false, true, .sm = {4, 9, 1.0f}},
    {"softmax t4", softmax_spec, softmax_call, 1e-5, false, true, .sm = {3, 5, 4.0f}},
    {"kldiv t4", kldiv_spec, kldiv_call, 1e-5, true, true, .kl = {5, 8, 4.0f}},
    {"kldiv t1", kldiv_spec, kldiv_call, 1e-5, true, true, .kl = {3, 6, 1.0f}},
    {"resize up 5x7->9x11", resize_spec, resize_call, 1e-5, true, true,
     .rs = {{2, 5, 7, 3}, 9, 11}},
    {"resize down 9x11->4x6", resize_spec, resize_call, 1e-5, true, true,
     .rs = {{2, 9, 11, 3}, 4, 6}},
    {"resize same 4x4", resize_spec, resize_call, 1e-5, true, true, .rs = {{1, 4, 4, 2}, 4, 4}},
    CHANPAD("chanpad 6->12 (option A 3+3)", ((Shape4){2, 5, 4, 6}), 3, 3),
    CHANPAD("chanpad 0+0 (identity)", ((Shape4){2, 3, 5, 4}), 0, 0),
    CHANPAD("chanpad 1+4 asymmetric n1", ((Shape4){1, 4, 3, 5}), 1, 4),
    CHANPAD("chanpad 2+0 before only", ((Shape4){2, 3, 3, 3}), 2, 0),
    // concatenation (GhostNet's modules): two slices into one tensor, channel counts not multiples
    // of 16, and a large one the cpu splits over threads
    {"concat 5+7", concat_spec, concat_call, 1e-6, true, false, .cp = {{2, 3, 4, 5}, 0, 7, true}},
    {"concat 24+24 large", concat_spec, concat_call, 1e-6, false, false, .cp = {{4, 32, 33, 24}, 0, 24, true}},
    CHANPAD("chanpad 0+5 after only c1", ((Shape4){3, 2, 3, 1}), 0, 5),
    // option A's subsampling x[:, ::2, ::2]: a 1x1 window divides by 1 (exact); odd and even sizes
    POOL("avgpool 1x1 s2 (subsample) odd", avgpool, ((Shape4){2, 7, 5, 4}), 1, 2, 0, false, true),
    POOL("avgpool 1x1 s2 (subsample) even", avgpool, ((Shape4){2, 8, 6, 3}), 1, 2, 0, false, true),
    // GhostNetV3's DFC attention: its gate, pooled 2x2/2, is upsampled back by nearest (224 px:
    // 3x3 -> 7x7; x2 on even sizes, 1x1 -> 2x2 at the last stage of a small input) and multiplies
    RESIZE_NEAREST_CASE("resize nearest 3x3->7x7", ((Shape4){2, 3, 3, 4}), 7, 7),
    RESIZE_NEAREST_CASE("resize nearest x2 2x3->4x6", ((Shape4){2, 2, 3, 5}), 4, 6),
    RESIZE_NEAREST_CASE("resize nearest 1x1->2x2 n1", ((Shape4){1, 1, 1, 6}), 2, 2),
    RESIZE_NEAREST_CASE("resize nearest 2x5->5x13", ((Shape4){2, 2, 5, 3}), 5, 13),
    RESIZE_NEAREST_CASE("resize nearest down 9x11->4x6", ((Shape4){2, 9, 11, 3}), 4, 6),
    {"mul", mul_spec, mul_call, 1e-6, true, true, .mul = {1001}},
    // the optimizer's updates and the vector helpers of clipping, L2 and the EMA (train/optim.c):
    // the same per-element formulas on every backend (op_math.h), 70001 values: above cpu's
    // threading threshold (65536)
#define OPT(nm, ...) {nm, optim_spec, optim_call, 1e-6, false, false, .opt = {__VA_ARGS__}}
    OPT("optim sgd nesterov", .kind = OPU_SGD, .n = 70001, .lr = 0.1f, .momentum = 0.9f, .wd = 5e-4f, .keep = 1,
        .nesterov = true),
    OPT("optim sgd plain decoupled", .kind = OPU_SGD, .n = 1001, .lr = 0.1f, .keep = 0.99995f),
    OPT("optim adamw", .kind = OPU_ADAMW, .n = 70001, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .keep = 0.9999f, .step = 0.01f, .bc2s = 0.0447f),
    OPT("optim rmsprop_tf momentum", .kind = OPU_RMSPROP_TF, .n = 1001, .lr = 0.01f, .momentum = 0.9f,
        .beta2 = 0.9f, .eps = 1e-3f, .wd = 1e-5f, .keep = 1),
    OPT("optim rmsprop_tf", .kind = OPU_RMSPROP_TF, .n = 1001, .lr = 0.01f, .beta2 = 0.9f, .eps = 1e-3f, .keep = 1),
    OPT("optim lamb", .kind = OPU_LAMB, .n = 70001, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-6f, .wd = 0.01f,
        .keep = 1, .bc1 = 0.1f, .bc2s = 0.0447f, .clip = 1.5f),
    OPT("optim lamb apply", .kind = OPU_LAMB_APPLY, .n = 1001, .lr = 0.01f, .ratio = 0.7f),
#undef OPT
    {"vector axpy", vec_spec, vec_call, 1e-6, false, false, .vec = {70001, 1e-4f}},
    {"vector scale", vec_spec, vec_call, 1e-6, false, false, .vec = {70001, 0.37f}},
    {"vector lerp", vec_spec, vec_call, 1e-6, false, false, .vec = {70001, 1e-3f}},
    {"vector sumsq", vec_spec, vec_call, 1e-6, false, false, .vec = {70001, 0}},
};
const int op_cases_count = LEN(op_cases);

// ---------------------------------------------------------------------------------------------
// random cases: shapes no one chose, drawn from (seed, index); invalid draws are redrawn

static int rnd(uint64_t key, uint64_t i, uint64_t *ctr, int lo, int hi) // uniform in [lo, hi]
{
    return lo + (int)(rng_uniform(key, i, (*ctr)++) * (hi - lo + 1));
}

OpCase op_case_random(uint64_t seed, int i, char name[160])
{
    uint64_t key = rng_key(seed, 0xCA5E), ctr = 0;
    OpCase c;
    for (;;) {
        memset(&c, 0, sizeof c);
        c.tol = 1e-5;
        c.fd = true;
        Shape4 x = {rnd(key, i, &ctr, 1, 3), rnd(key, i, &ctr, 1, 12), rnd(key, i, &ctr, 1, 12),
                    rnd(key, i, &ctr, 1, 12)};
        int kind = rnd(key, i, &ctr, 0, 6);
        if (kind == 0) { // convolution: groups from the divisors of C, any kernel, stride, dilation
            int g = rnd(key, i, &ctr, 1, x.c);
            while (x.c % g) g--;
            int kh = rnd(key, i, &ctr, 1, 5), kw = rnd(key, i, &ctr, 1, 5);
            c.conv = (Conv2d){x, g * rnd(key, i, &ctr, 1, 3), kh, kw, rnd(key, i, &ctr, 1, 3),
                              rnd(key, i, &ctr, 1, 3), rnd(key, i, &ctr, 0, kh), rnd(key, i, &ctr, 0, kw),
                              rnd(key, i, &ctr, 1, 2), rnd(key, i, &ctr, 1, 2), g,
                              rnd(key, i, &ctr, 0, 1), ACT_NONE};
            Shape4 y = conv2d_out(c.conv);
            if (y.h < 1 || y.w < 1) continue;
            c.spec = conv_spec;
            c.call = conv_call;
            snprintf(name, 160, "random conv %dx%dx%dx%d oc%d k%dx%d s%dx%d p%dx%d d%dx%d g%d%s", x.n,
                     x.h, x.w, x.c, c.conv.oc, kh, kw, c.conv.sh, c.conv.sw, c.conv.ph, c.conv.pw,
                     c.conv.dh, c.conv.dw, g, c.conv.bias ? " b" : "");
        } else if (kind == 1 || kind == 2) { // pooling, PyTorch's rule: padding <= kernel / 2
            int kh = rnd(key, i, &ctr, 1, 4), kw = rnd(key, i, &ctr, 1, 4);
            c.pool = (Pool2d){x, kh, kw, rnd(key, i, &ctr, 1, 3), rnd(key, i, &ctr, 1, 3),
                              rnd(key, i, &ctr, 0, kh / 2), rnd(key, i, &ctr, 0, kw / 2),
                              rnd(key, i, &ctr, 0, 1), rnd(key, i, &ctr, 0, 1)};
            Shape4 y = pool2d_out(c.pool);
            if (y.h < 1 || y.w < 1) continue;
            c.spec = kind == 1 ? maxpool_spec : avgpool_spec;
            c.call = kind == 1 ? maxpool_call : avgpool_call;
            snprintf(name, 160, "random %spool %dx%dx%dx%d k%dx%d s%dx%d p%dx%d%s%s",
                     kind == 1 ? "max" : "avg", x.n, x.h, x.w, x.c, kh, kw, c.pool.sh, c.pool.sw,
                     c.pool.ph, c.pool.pw, c.pool.ceil_mode ? " ceil" : "",
                     c.pool.count_include_pad ? " incl" : "");
        } else if (kind == 3) {
            bool train = rnd(key, i, &ctr, 0, 1);
            // training BN over fewer than 4 values per channel: its input gradient is analytically
            // ~0 (2 values: exactly 0 but for eps), so a relative error compares rounding noise
            if (train && x.n * x.h * x.w < 4) continue;
            // a fused activation on some (chosen from the index: the seed's draws stay as they
            // were): ReLU without the finite-difference check (its kinks are dense: every x moves
            // every z of its channel through the batch statistics), SiLU with it; not with fewer
            // than 4 values per channel, where BN's input gradient is analytically ~0 and the rows
            // would compare rounding noise
            size_t per_c = (size_t)x.n * x.h * x.w;
            ActKind act = per_c < 4 ? ACT_NONE : i % 6 == 0 ? ACT_RELU : i % 6 == 3 ? ACT_SILU : ACT_NONE;
            c.bn = (BatchNorm){x, 1e-5f, 0.1f, train, act};
            if (act == ACT_RELU) c.fd = false;
            c.spec = bn_spec;
            c.call = bn_call;
            snprintf(name, 160, "random batchnorm %dx%dx%dx%d %s%s%s", x.n, x.h, x.w, x.c, train ? "train" : "eval",
                     c.bn.act ? " " : "", c.bn.act ? act_name(c.bn.act) : "");
        } else if (kind == 4) {
            // nearest on every third index (chosen from the index: the seed's draws stay as they were)
            ResizeMode mode = i % 3 == 1 ? RESIZE_NEAREST : RESIZE_BILINEAR;
            c.rs = (Resize){x, rnd(key, i, &ctr, 1, 16), rnd(key, i, &ctr, 1, 16), mode};
            c.spec = resize_spec;
            c.call = resize_call;
            snprintf(name, 160, "random resize %s %dx%dx%dx%d->%dx%d", mode ? "nearest" : "bilinear",
                     x.n, x.h, x.w, x.c, c.rs.oh, c.rs.ow);
        } else if (kind == 5) {
            c.lin = (Linear){x.n * x.h, x.w * x.c, rnd(key, i, &ctr, 1, 20), rnd(key, i, &ctr, 0, 1)};
            c.spec = linear_spec;
            c.call = linear_call;
            snprintf(name, 160, "random linear %dx%d->%d%s", c.lin.n, c.lin.in, c.lin.out, c.lin.bias ? " b" : "");
        } else {
            c.cm = (ChanMul){x};
            c.spec = chanmul_spec;
            c.call = chanmul_call;
            snprintf(name, 160, "random chanmul %dx%dx%dx%d", x.n, x.h, x.w, x.c);
        }
        c.name = name;
        return c;
    }
}
