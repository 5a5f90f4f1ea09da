/* engine/models/efficientnet.h — the EfficientNet and MobileNet families: one builder over timm's
 * block strings, with the swept knobs as arguments, and the registry of named configurations.
 *
 * timm builds MobileNetV1/V2, EfficientNet B0-B7 and EfficientNetV2 (its EfficientNet class) and
 * MobileNetV3/V4 (its MobileNetV3 class) with one EfficientNetBuilder from per-stage lists of block
 * strings ("ir_r2_k3_s2_e6_c24_se0.25": inverted residual, 2 repeats, 3x3, stride 2, expansion 6,
 * 24 channels, SE 0.25). The named models here are written in the same strings, copied from
 * timm's _gen_* functions, and effnet_build applies timm's rules to them: channels scaled by the
 * width multiplier and rounded to multiples of 8 (round_chs_fn / make_divisible), block repeats
 * by the depth multiplier with ceil per stage, drop-path rising linearly over blocks, SE width
 * from the block input (EfficientNet) or its expansion (MobileNetV3), and each family's stem and
 * head. The blocks themselves are engine/nn/mbconv.h. The tables: efficientnet.c (EfficientNet,
 * EfficientNetV2), mobilenet.c (MobileNet V1-V4).
 */
#ifndef EFFICIENTNET_H
#define EFFICIENTNET_H

#include "../nn/mbconv.h"

// how a block's SE width is found from the SE ratio r (timm's se_from_exp and SqueezeExcite args)
typedef enum {
    EFFNET_SE_IN,   // EfficientNet: round(mid * r / exp_ratio) (of the block input), half to even,
                    // act = the block's, sigmoid gate
    EFFNET_SE_MID,  // MobileNetV3: make_divisible(mid * r, 8), ReLU, hard-sigmoid gate
} EffNetSe;

// how the head's conv_head channels follow the width multiplier
typedef enum {
    EFFNET_HEAD_FIXED,     // as given (MobileNetV3/V4, EfficientNetV2-M/L, fix_stem_head)
    EFFNET_HEAD_SCALED,    // round_chs_fn(chs) (EfficientNet, EfficientNetV2-S)
    EFFNET_HEAD_AT_LEAST,  // max(chs, round_chs_fn(chs)) (MobileNetV2)
} EffNetHeadScale;

typedef struct {
    const char     *arch[8];       // per stage, timm's block strings separated by spaces; NULL ends
    double          width;         // channel multiplier (timm's channel_multiplier)
    double          depth;         // repeat multiplier (timm's depth_multiplier; ceil per stage)
    double          round_limit;   // make_divisible's round_limit for the scaled channels (0.9)
    bool            fix_first_last; // the depth multiplier leaves the first and last stages alone
    int             stem;          // stem channels before scaling
    double          stem_fixed_below; // the stem is not scaled when width < this (timm's fix_stem:
                                   // MobileNetV3 0.75, V4 1; 0 never, INFINITY always fixed)
    MbHead          head;
    int             head_chs;      // conv_head channels before scaling (0: none, MobileNetV1)
    EffNetHeadScale head_scale;
    ActKind         act;           // the model's activation; a block's "_n.." option overrides it
    EffNetSe        se_style;
    double          se_ratio;      // > 0: replaces the ratio of every block that has SE
    int             fused_stages;  // -1: blocks as the strings say. Else the first N stages are
                                   // Fused-MBConv (er; cn with skip where the expansion is 1) and
                                   // the others MBConv (ir; ds where it is 1), each block keeping
                                   // its kernel, expansion and SE (an expansion-1 Fused-MBConv
                                   // has none, as timm's ConvBnAct): EfficientNetV2's boundary
    float           dropout;       // before the classifier
    float           drop_path;     // stochastic depth at the last block: block i of n has i/n of it
    int             in_chans, num_classes;
} EffNetArgs;

// builds the model for input (batch, res, res, in_chans); returns the logits tensor. Stops with a
// message naming the string on a malformed block string
int effnet_build(Graph *g, const EffNetArgs *a, int batch, int res);

// the named configurations of both tables; false for an unknown name. res: the model's default
// resolution (the paper's, or timm's input size), when not NULL
bool effnet_args(const char *name, EffNetArgs *a, int *res);
const char *effnet_names(void);    // "mobilenetv1_100, ..., efficientnetv2_l", for messages
// whether any block of the configuration has squeeze-excitation (the se_ratio knob's target)
bool effnet_has_se(const EffNetArgs *a);

// one table row; the families' tables (efficientnet.c, mobilenet.c)
typedef struct { const char *name; int res; EffNetArgs a; } EffNetNamed;
extern const EffNetNamed efficientnet_models[], mobilenet_models[];
extern const int efficientnet_models_count, mobilenet_models_count;

#endif
