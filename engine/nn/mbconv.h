/* engine/nn/mbconv.h — the blocks of the MobileNet and EfficientNet families, as timm builds them.
 *
 * One description (MbBlock) covers every block timm's EfficientNetBuilder makes for the models
 * we reproduce (timm/models/_efficientnet_blocks.py; module names are timm's, so parameters carry
 * its state-dict names, "blocks.1.0.conv_pw.weight"):
 *
 *   MB_CN   ConvBnAct: conv kxk/s - BN - act, residual only when asked (EfficientNetV2's stage 0,
 *           the Fused-MBConv without expansion; MobileNetV3/V4's 1x1 "cn" before the head)
 *             conv, bn1
 *   MB_DS   DepthwiseSeparableConv (MobileNetV1, the first block of V2/V3/EfficientNet):
 *           dw kxk/s - BN - act - [SE] - pw 1x1 - BN [- act: MobileNetV1's "dsa"]
 *             conv_dw, bn1, se, conv_pw, bn2
 *   MB_IR   InvertedResidual, alias MBConv (MobileNetV2, V3 with SE and hard-swish, EfficientNet
 *           with SE and SiLU): pw 1x1 to mid - BN - act - dw kxk/s - BN - act - [SE] - pwl 1x1 - BN
 *             conv_pw, bn1, conv_dw, bn2, se, conv_pwl, bn3
 *   MB_ER   EdgeResidual, alias Fused-MBConv (EfficientNetV2, MobileNetV4's FusedIB): conv kxk/s
 *           to mid - BN - act - [SE] - pwl 1x1 - BN
 *             conv_exp, bn1, se, conv_pwl, bn2
 *   MB_UIR  UniversalInvertedResidual, MobileNetV4's UIB: [dw_start kxk - BN] - pw_exp 1x1 - BN -
 *           act - [dw_mid kxk - BN - act] - [SE] - pw_proj 1x1 - BN - [dw_end kxk - BN]; its four
 *           forms are which depthwise convs exist: ExtraDW (start and mid), IB (mid: an inverted
 *           bottleneck), ConvNeXt-like (start), FFN (none). The stride goes to dw_mid, else
 *           dw_start, else dw_end, as timm's.
 *             dw_start.{conv,bn}, pw_exp.{conv,bn}, dw_mid.{conv,bn}, se, pw_proj.{conv,bn},
 *             dw_end.{conv,bn}
 *
 * Squeeze-excitation is timm's SqueezeExcite: mean over H,W - conv_reduce 1x1 (+bias) - act -
 * conv_expand 1x1 (+bias) - gate - x * gate (se.conv_reduce, se.conv_expand): EfficientNet gates
 * with a sigmoid after the block's activation, MobileNetV3 with a hard sigmoid after a ReLU.
 * A residual exists when the block keeps its shape (stride 1, in = out channels) and `skip` is
 * set; drop-path then acts on the branch before the add. Depthwise convs are convs with one
 * group per channel; padding is timm's symmetric ((s-1) + (k-1))/2 (g_conv).
 *
 * The stem (conv_stem 3x3/2 - bn1 - act) and the three heads of the families are here too.
 */
#ifndef MBCONV_H
#define MBCONV_H

#include "graph.h"

typedef enum { MB_CN, MB_DS, MB_IR, MB_ER, MB_UIR } MbKind;

// squeeze-excitation on C channels: rd reduced channels (0: no SE), act after conv_reduce, gate
// after conv_expand
typedef struct { int rd; ActKind act, gate; } MbSe;

typedef struct {
    MbKind  kind;
    int     out, stride;
    int     k;          // cn: its conv; ds, ir: the depthwise; er: the expansion conv; uir: dw_mid
                        // (0: none)
    int     k_start;    // uir: dw_start (0: none)
    int     k_end;      // uir: dw_end (0: none)
    int     mid;        // ir, er, uir: the expanded channels (timm: make_divisible(in * exp_ratio))
    bool    pw_act;     // ds: an activation after the pointwise conv too (MobileNetV1's "dsa")
    bool    skip;       // a residual where the block keeps its shape
    ActKind act;
    MbSe    se;
    float   drop_path;  // stochastic depth on the residual branch (where there is one)
} MbBlock;

// appends one block under the module path `prefix` ("blocks.3.1") to x (N,H,W,C); returns its
// output (N,H/stride,W/stride,out) (rounded up, as PyTorch's padding gives)
int mb_block(Graph *g, const char *prefix, int x, const MbBlock *b);

// conv kxk/stride with `groups` (no bias) - BN - act (ACT_NONE: none) under the module names
// "<prefix>.<conv>" and "<prefix>.<bn>" (prefix "": the names alone); x (N,H,W,C) -> (N,OH,OW,oc)
int mb_conv_bn(Graph *g, const char *prefix, const char *conv, const char *bn, int x, int oc,
               int k, int stride, int groups, ActKind act);

// squeeze-excitation "<prefix>.se" on x (N,H,W,C); returns x * gate, (N,H,W,C); se.rd 0: x
int mb_se(Graph *g, const char *prefix, int x, MbSe se);

// the stem: conv_stem 3x3/2 - bn1 - act; x (N,H,W,in) -> (N,H/2,W/2,chs)
int mb_stem(Graph *g, int x, int chs, ActKind act);

// heads, from the last block's features x (N,H,W,C) to logits (N,1,1,num_classes):
//   MB_HEAD_EFFNET  [conv_head 1x1 to chs - bn2 - act] - mean - [dropout] - classifier
//                   (EfficientNet, MobileNetV1/V2; chs 0: no conv_head, as MobileNetV1)
//   MB_HEAD_MNV3    mean - conv_head 1x1 to chs (+bias) - act - [dropout] - classifier
//   MB_HEAD_MNV4    mean - conv_head 1x1 to chs - norm_head (BN) - act - [dropout] - classifier
typedef enum { MB_HEAD_EFFNET, MB_HEAD_MNV3, MB_HEAD_MNV4 } MbHead;
int mb_head(Graph *g, int x, MbHead head, int chs, ActKind act, float dropout, int num_classes);

#endif
