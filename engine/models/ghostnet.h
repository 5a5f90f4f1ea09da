/* engine/models/ghostnet.h — GhostNetV3 (Liu et al. 2024) as timm builds it, in its training form
 * and its folded inference form, and the registry of named widths.
 */
#ifndef GHOSTNET_H
#define GHOSTNET_H

#include "../nn/ghost.h"

typedef struct {
    double width;       // channel multiplier (timm's `width`: 1.0, 1.3, 1.6), in double as Python
    float  se_ratio;    // the ratio of the blocks that have SE; 0 = timm's 0.25
    float  dropout;     // before the classifier (timm's GhostNet default drop_rate is 0.2)
    int    in_chans, num_classes;
    bool   folded;      // the re-parameterized form (timm's reparameterize())
    int    branches;    // parallel conv-BN branches per re-parameterizable conv (timm's 3)
} GhostNetArgs;

// builds the model for input (batch, res, res, in_chans); returns the logits tensor. The last
// stage's DFC attention pools 2x2, so res must keep that stage at 2x2 or more (res >= 33)
int  ghostnet_build(Graph *g, GhostNetArgs a, int batch, int res);

// named configurations: ghostnetv3_100, ghostnetv3_130, ghostnetv3_160 (timm's widths); false
// for an unknown name
bool ghostnet_args(const char *name, GhostNetArgs *a);
const char *ghostnet_names(void); // "ghostnetv3_100, ...", for messages

#endif
