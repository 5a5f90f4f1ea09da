/* engine/nn/graph.h — a model as a list of op nodes over named activation tensors.
 *
 * Builders (engine/models) append nodes with the g_* calls, which infer output shapes, assert
 * them as they go (ggml's mnist style) and declare parameters in the model's parameter table
 * under the names timm gives them ("layer1.0.conv1.weight"), so checkpoints and printed tables
 * speak the reference's language. The list is the forward order; backward walks it in reverse
 * (graph_exec.c runs both; graph.c holds the structure, the counts and the darknet-style
 * summary). Activation tensors are NHWC with the batch the graph was built for.
 */
#ifndef GRAPH_H
#define GRAPH_H

#include <stdio.h> // FILE

#include "../backend/ops.h" // the ops its nodes run
#include "../core/arena.h"
#include "../core/params.h"
#include "syncbn.h" // BnSync: training batch norm over every rank's batch

typedef enum { G_INPUT, G_CONV, G_BN, G_ACT, G_ADD, G_CHANMUL, G_MAXPOOL, G_AVGPOOL, G_GAP,
               G_LINEAR, G_DROPOUT, G_DROPPATH, G_CHANPAD, G_RESIZE, G_MUL,
               G_FUSED /* an activation folded into the node before it (graph_fuse) */ } GKind;

typedef struct { Shape4 s; } GTensor;

typedef struct {
    GKind kind;
    char  name[64];   // the module path: "layer1.0.conv1"
    union {
        Conv2d conv;
        BatchNorm bn;
        Act act;
        Add add;
        Pool2d pool;
        Linear lin;
        ChanPad cp;
        Resize rs;
        float p;      // dropout, drop-path probability
    };
    int in[2], out;   // tensor indices (in[1] = -1 when unused)
    int par[4];       // parameter indices: conv/linear (w, b), bn (gamma, beta, mean, var); -1 unused
    bool zero_init;   // bn: gamma starts at 0 (timm's zero_init_last on a residual branch's last BN)
    int fold;         // conv of an evaluation graph: the batch norm folded into it (graph_fold_bn),
                      // -1 none; its weights and bias are then the fold buffer's from fold_at
    size_t fold_at;   // floats into the fold buffer: the folded weights (as w), then OC biases
    int chain_to;     // 1x1 conv of an evaluation graph: the depthwise conv it feeds alone, run with
                      // it as one op where the backend has one (graph_chain_convs); -1 none
    int chain_from;   // that depthwise conv: the 1x1 conv chained into it; -1 none
} GNode;

typedef struct {
    Params  *params;  // declared into; allocated by the caller after building. Building again over
                      // an allocated table (new batch or image size) finds the same names instead
    ArenaSlot *val, *grad; // per tensor, after graph_plan (grad: training plans only)
    ArenaSlot *mean, *rstd; // per node (batch norm's saved statistics)
    int     *first_grad; // per tensor: the node whose backward reaches its gradient first (its
                         // last reader); that call writes the gradient (set bits) instead of adding
    bool     trainable;  // planned with GRAPH_TRAIN
    double  *prof;       // NULL, or per node: seconds in forward [2i] and backward [2i+1] (graph_profile)
    long     prof_runs;  // forward passes timed
    GTensor *t;
    int      n_t, cap_t;
    GNode   *node;
    int      n_node, cap_node;
    float    bn_eps, bn_momentum; // for every BN node the builder adds (PyTorch: 1e-5, 0.1)
    bool     no_norm;     // g_bn adds nothing and returns its input (model.no_bn: no batch norm)
    bool     torch_init; // graph_init_params: PyTorch's default conv init instead of timm's
                         // ResNet one (a builder that sets it: timm's model defines no init)
    bool     init_goog;   // graph_init_params as timm's EfficientNet/MobileNet (_init_weight_goog)
    size_t   fold_n;      // floats of the folded convolutions' weights and biases (graph_fold_bn)
    ArenaSlot fold_slot;  // where they live, reserved by graph_plan for the plan's whole timeline
    bool     folds_fresh; // graph_refresh_folds has filled them since the last plan
    const BnSync *bn_sync; // NULL; else training batch norm is SyncBN through it (syncbn.h): set by
                           // the data-parallel trainer on its training graphs (host memory only)
} Graph;

void graph_init(Graph *g, Params *p);
void graph_free(Graph *g);

// builders: each returns the output tensor index. Names are module paths; "" adds no parameters.
int g_input(Graph *g, Shape4 s);
// conv with PyTorch/timm "same-ish" padding ((s-1) + d(k-1)) / 2; bias optional
int g_conv(Graph *g, const char *name, int x, int oc, int k, int stride, int groups, bool bias);
// the same with a kh x kw kernel, padded ((s-1) + (kh-1)) / 2 rows and ((s-1) + (kw-1)) / 2
// columns (GhostNet's 1x5 and 5x1 depthwise convs: padding (0, 2) and (2, 0))
int g_conv_hw(Graph *g, const char *name, int x, int oc, int kh, int kw, int stride, int groups,
              bool bias);
int g_bn(Graph *g, const char *name, int x);
int g_act(Graph *g, int x, ActKind act);
int g_add(Graph *g, int a, int b);
int g_chanmul(Graph *g, int x, int gate);                 // gate (N,1,1,C)
int g_maxpool(Graph *g, int x, int k, int stride, int pad);
int g_avgpool(Graph *g, int x, int k, int stride, int pad, bool ceil_mode, bool count_include_pad);
int g_gap(Graph *g, int x);                               // -> (N,1,1,C)
int g_linear(Graph *g, const char *name, int x, int out); // x (N,1,1,C) -> (N,1,1,out)
// zero channels around x: (N,H,W,C) -> (N,H,W,before+C+after), x's channels at offset `before`
// (the option-A ResNet shortcut; no parameters, no MACs)
int g_chanpad(Graph *g, int x, int before, int after);
int g_dropout(Graph *g, int x, float p);
int g_droppath(Graph *g, int x, float p);
// resize (N,H,W,C) -> (N,OH,OW,C), bilinear or nearest (ops.h's Resize); no parameters
int g_resize(Graph *g, int x, int oh, int ow, ResizeMode mode);
// elementwise product of two tensors of one shape (a gate as large as what it scales)
int g_mul(Graph *g, int a, int b);

// ---- blocks made of the nodes above -----------------------------------------------------------
// timm's make_divisible(v, divisor, round_limit=r), the channel rounding of its builders: v to the
// nearest multiple of divisor, at least divisor, plus one divisor where that lost more than
// (1 - r) of v; in double, as Python computes it (ResNet's SE: r = 0; GhostNet: r = 0.9)
int make_divisible(double v, int divisor, double round_limit);
// conv (no bias) "conv" -> batch norm "bn" -> act (ACT_NONE: none): the conv-BN-act unit
int g_conv_bn(Graph *g, const char *conv, const char *bn, int x, int oc, int k, int stride,
              int groups, ActKind act);
// squeeze-excitation: x (N,H,W,C) * gate(expand(act(reduce(mean_HW(x))))), reduce and expand
// 1x1 convs with bias named `reduce` (C -> rd) and `expand` (rd -> C) (timm's SEModule, fc1/fc2,
// and SqueezeExcite, conv_reduce/conv_expand)
int g_se(Graph *g, const char *reduce, const char *expand, int x, int rd, ActKind act,
         ActKind gate);
// channel concatenation: a (N,H,W,Ca), b (N,H,W,Cb) -> (N,H,W,Ca+Cb), a's channels first
// (torch.cat(dim=1) on NCHW): two channel-padding nodes in slice mode (ops.h's ChanPad), each
// writing its input's channels of the one output tensor (one pass, where zero-padding both and
// adding them took three; the only tensor two nodes write, the first born with it)
int g_concat(Graph *g, int a, int b);

// folds each activation into the batch norm or add feeding it when it is that tensor's only
// reader (BN: any activation; add: relu, relu6), so each pair runs as one op each way and the
// tensor between them disappears. The activation's node stays as G_FUSED, doing nothing, so node
// indices (and the dropout streams keyed on them) do not move. Returns how many were folded.
int graph_fuse(Graph *g);
// evaluation graphs only (batch norm on running statistics is then an affine map per channel):
// folds each batch norm into the convolution feeding it when it is that output's only reader, so
// the pair runs as one convolution with bias and the BN's fused activation, its weights w*s and
// bias beta + (b - mean)*s, s = gamma / sqrt(var + eps) — one pass over the activations less.
// The BN node stays as G_FUSED. Call after graph_fuse, before graph_plan; returns the count.
// The folded weights are a copy: graph_refresh_folds makes them from the table's current weights
// and running statistics, and must run after every plan and whenever those change (the
// trainer does it at every evaluation); a forward pass before it stops with a message
int graph_fold_bn(Graph *g);
void graph_refresh_folds(Graph *g, Dev *d, const Arena *a);
// evaluation graphs only: pairs each 1x1 stride-1 convolution with the depthwise convolution that
// alone reads its output (with nothing but fused nodes between them: an inverted residual's
// expansion and depthwise convolution, batch norm folded), so that graph_forward runs the pair as
// one conv2d_chain_forward on a backend that has it (the expanded tensor stays in cache) and as
// the two convolutions elsewhere. Call after graph_fold_bn, before graph_plan; returns the count
int graph_chain_convs(Graph *g);

// ---- execution (graph_exec.c) ----------------------------------------------------------------
// GRAPH_EVAL: forward only, a tensor's value lives from its producer to its last reader (the
// logits to the end); GRAPH_TRAIN: forward and backward, values the backward pass reads live on
// until then, and each gradient from its first accumulation to its producer's backward
typedef enum { GRAPH_EVAL, GRAPH_TRAIN } GraphMode;

// reserves tensor values, gradients (training) and batch norm's statistics in an open arena
// plan, with lifetimes, so slots that are never alive together share memory
void   graph_plan(Graph *g, Arena *a, GraphMode mode);
float *graph_val(const Graph *g, const Arena *a, int t);
float *graph_grad(const Graph *g, const Arena *a, int t);
// forward: train selects batch statistics (and updates running ones), dropout and drop-path;
// their draws come from rng_key(seed, node) at counter (sample0 + sample): a function of the run
// seed, the step's key and the sample's global index, never of the batch split
void   graph_forward(Graph *g, Dev *d, const Arena *a, bool train, uint64_t seed, uint64_t sample0);
// zeroes the output's gradient, for a caller that then adds d(loss)/d(output) into graph_grad(out)
// (or writes it: xent_backward with SET_0 needs no zeroing). Every other activation gradient
// shares memory with tensors dead by then, and graph_backward has its first writer write it
void   graph_zero_grads(Graph *g, Dev *d, const Arena *a);
// backward in reverse order, accumulating into the parameter table's ROLE_GRAD buffer; only the
// output's gradient and the parameters' gradients are valid afterwards
void   graph_backward(Graph *g, Dev *d, const Arena *a, bool train, uint64_t seed, uint64_t sample0);

// initial values as timm's ResNet sets them: conv weights He-normal with fan-out (kaiming_normal_,
// mode fan_out, relu), conv biases and linear layers PyTorch's default U(+-1/sqrt(fan_in)), batch
// norm gamma 1 (0 where zero_init), beta 0, running mean 0, running var 1; draws from (seed, entry).
// With g->torch_init, conv weights too take PyTorch's default (kaiming_uniform_ with a = sqrt(5):
// U(+-1/sqrt(fan_in))), as a timm model without an init of its own (GhostNet) starts
// With init_goog, as timm's _init_weight_goog (EfficientNet, MobileNet): conv N(0, 2/fan_out) with
// fan_out = OC*KH*KW/G (a depthwise conv's is KH*KW), conv biases 0, linear weights
// U(+-1/sqrt(OUT)) and biases 0; batch norm as above
void     graph_init_params(Graph *g, uint64_t seed);

// profiling: when on, forward and backward time every node (waiting for the device after each)
// and add up; graph_profile_print prints per node and per op kind, in ms per forward pass
void     graph_profile(Graph *g, bool on);
void     graph_profile_print(const Graph *g, FILE *f);

Shape4   graph_shape(const Graph *g, int t);
const char *graph_kind_name(GKind k);
uint64_t graph_macs(const Graph *g);   // conv + linear multiply-accumulates for one image
void     graph_print(const Graph *g, FILE *f);

#endif
