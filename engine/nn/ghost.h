/* engine/nn/ghost.h — GhostNetV3's blocks, in the training form and in the folded inference form.
 *
 * timm's GhostModuleV3 and GhostBottleneckV3 (timm/models/ghostnet.py, from huawei-noah's
 * ghostnetv3.py), module paths as timm names them, so parameters carry its state-dict names:
 *   Ghost module: x1 = act(primary(x)), primary a 1x1 conv to init = ceil(out/2) channels;
 *     x2 = act(cheap(x1)), cheap a 3x3 depthwise conv to init more; out = cat(x1, x2). With DFC
 *     attention (timm's mode "shortcut", blocks after the second): out *= nearest_upsample(
 *     sigmoid(short_conv(avgpool2x2(x)))), short_conv = 1x1 conv-BN, 1x5 dw conv-BN, 5x1 dw conv-BN.
 *   Bottleneck: ghost1 (ReLU, DFC) -> stride-2 depthwise k x k conv (if stride 2) -> SE (hard-
 *     sigmoid gate, reduce to make_divisible(mid * ratio, 4)) -> ghost2 (no activation, no DFC)
 *     + shortcut (identity, or dw k x k conv-BN + 1x1 conv-BN where the shape changes).
 * Training form: each of primary, cheap and the stride-2 depthwise conv is a re-parameterizable
 * conv (ghost_rep_conv): the sum of 3 parallel conv-BN branches (GhostBlock.branches: the
 * paper's ablation of their number), a 1x1 conv-BN "scale" branch
 * (cheap, depthwise) and a BN-only "skip" branch (cheap), summed in timm's order. Folded form
 * (timm's reparameterize(): switch_to_deploy): each of them one conv with bias; the DFC
 * short_conv, SE, shortcut, stem and head keep their batch norms, as timm's folded model does.
 * ghost_fold turns a trained table into the folded one (RepVGG's _fuse_bn_tensor, in double).
 */
#ifndef GHOST_H
#define GHOST_H

#include "graph.h"

// one bottleneck: expansion channels, output channels, depthwise kernel, stride, SE ratio (0: no
// SE), DFC attention on ghost1, and the conv-BN branches of its re-parameterizable convs (timm's
// num_conv_branches, 3)
typedef struct { int mid, out, k, stride; float se_ratio; bool dfc; int branches; } GhostBlock;

// which re-parameterizable conv: its branches' prefix and its folded module, both relative to the
// owning module ("primary_rpr_conv.0.conv" ... / "primary_conv.0")
typedef enum { GHOST_PRIMARY, GHOST_CHEAP, GHOST_DW } GhostRep;

// the re-parameterizable conv `which` of `module` on x (N,H,W,C) -> (N,OH,OW,oc): k x k kernel,
// stride, groups; `branches` k x k conv-BN branches (timm: 3); scale: add the 1x1 conv-BN
// branch; skip: add the BN-only branch (needs stride 1 and oc = C). folded: one conv with bias
// instead. No activation.
int ghost_rep_conv(Graph *g, const char *module, GhostRep which, int x, int oc, int k, int stride,
                   int groups, int branches, bool scale, bool skip, bool folded);

// a Ghost module "prefix" on x (N,H,W,C) -> (N,H,W,out), out even; relu on both halves or none;
// dfc: DFC attention on the output; branches: its re-parameterizable convs' (ghost_rep_conv)
int ghost_module(Graph *g, const char *prefix, int x, int out, bool relu, bool dfc, int branches, bool folded);

// a GhostNetV3 bottleneck "prefix" on x (N,H,W,C) -> (N,H/stride,W/stride,b.out) (rounded up)
int ghost_bottleneck(Graph *g, const char *prefix, int x, GhostBlock b, bool folded);

// fills `folded` (the table of the model built with folded = true; allocated) from `trained` (the
// training form's table, allocated, on any device): each folded conv from its branches,
// W = sum_i W_i * gamma_i / sqrt(var_i + eps), b = sum_i beta_i - mean_i * gamma_i / sqrt(var_i +
// eps), 1x1 kernels centred in k x k, the skip branch as an identity kernel; every other entry
// copied. Stops naming the entry when a folded conv lacks branches or a trained entry is left over.
void ghost_fold(Params *folded, const Params *trained, float eps);

#endif
