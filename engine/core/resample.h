/* engine/core/resample.h — the taps of a 1-D resize, shared by the resize op of every backend
 * (backend/op_math.h, CUDA kernels included: HD) and the data pipeline's resize (data/augment.c),
 * so the engine resizes by one rule wherever it does. PyTorch's formulas, in float as it computes
 * them.
 */
#ifndef RESAMPLE_H
#define RESAMPLE_H

#include <math.h> // floorf

#include "core.h" // HD

// bilinear resize, align_corners=False: output row o reads rows i0, i1 with weights l0, l1;
// src = (o + 0.5) * in/out - 0.5 clamped at 0, in float as PyTorch computes it

typedef struct { int i0, i1; float l0, l1; } ResizeTaps;

HD ResizeTaps resize_taps(int o, int in, int out)
{
    float scale = (float)in / (float)out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    ResizeTaps t;
    t.i0 = (int)src;
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = src - (float)t.i0;
    t.l0 = 1.0f - t.l1;
    return t;
}

// nearest resize (PyTorch's mode="nearest", legacy floor rule): output row o copies row
// min(floor(o * (float)in/out), in - 1); PyTorch's shortcuts for out = in and out = 2 in agree

HD int nearest_src(int o, int in, int out)
{
    if (out == in) return o;
    if (out == 2 * in) return o >> 1;
    float scale = (float)in / (float)out;
    int i = (int)floorf((float)o * scale);
    return i < in - 1 ? i : in - 1;
}

#endif
