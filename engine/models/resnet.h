/* engine/models/resnet.h — the ResNet family as one builder with the swept knobs as arguments,
 * and the registry of named configurations (timm's names and parameter counts).
 */
#ifndef RESNET_H
#define RESNET_H

#include "../nn/graph.h"

typedef enum { STEM_7X7, STEM_DEEP, STEM_CIFAR } ResNetStem;

typedef struct {
    int        stages;            // 4 ImageNet-style, 3 CIFAR-style
    int        layers[4];         // blocks per stage
    bool       bottleneck;        // Bottleneck (expansion 4) or BasicBlock
    int        base;              // channels of stage 0 before expansion: 64 ImageNet, 16 CIFAR;
                                  // also the 7x7 and CIFAR stems' width
    int        channels[4];       // per-stage channels when set (timm's `channels`); 0: base << stage
    float      width;             // width multiplier (1 = as published)
    ResNetStem stem;
    int        stem_width;        // deep stem: 32 (timm's resnet*d, resnetrs*)
    bool       replace_stem_pool; // ResNet-RS: a 3x3/2 conv+BN+ReLU instead of the stem max-pool
    bool       avg_down;          // ResNet-D shortcut: 2x2 avg-pool, then 1x1 conv
    bool       shortcut_a;        // He et al.'s CIFAR option A: where a block changes shape, the
                                  // shortcut is x[:, ::s, ::s] zero-padded on channels, x's at
                                  // offset (OC - C)/2 (akamaster/pytorch_resnet_cifar10); no
                                  // parameters. Elsewhere identity. Default: 1x1 conv + BN (B)
    float      se_ratio;          // squeeze-excitation ratio on the block output; 0 = none
    bool       zero_init_last;    // the last BN of each residual branch starts at gamma 0 (timm's
                                  // default; He et al.'s CIFAR nets and the RE code do not)
    float      drop_path;         // stochastic depth at the last block, rising linearly from 0
    float      dropout;           // before the classifier
    int        in_chans, num_classes;
} ResNetArgs;

// builds the model for input (batch, res, res, in_chans); returns the logits tensor
int  resnet_build(Graph *g, ResNetArgs a, int batch, int res);

// named configurations: resnet18..200, resnet50d, resnetrs50..420, CIFAR-style resnet20..110
// (option-B projection shortcuts), resnet20a..110a (option A, as He et al. 2016 §4.2), and the
// bottleneck variants resnet44b..110b. Returns false for an unknown name.
bool resnet_args(const char *name, ResNetArgs *a);
// the registry's names, for error messages ("valid: ...")
const char *resnet_names(void);
// the default resolution of a named model (224, or 32 for the CIFAR-style ones)
int  resnet_default_res(const char *name);

#endif
