/* engine/data/mixup.h — Mixup and CutMix on a batch, with the soft targets, as timm's Mixup.
 *
 * timm/data/mixup.py, Mixup.__call__ (the no-prefetcher path: on the normalized float batch, after
 * per-sample random erasing). Each batch (mode batch), each pair i, n-1-i (pair) or each sample
 * (elem) is mixed with probability `prob`; when both alphas are on, CutMix is chosen with
 * probability switch_prob, else the one that is on. lambda ~ Beta(alpha, alpha).
 *   Mixup:  x_i = lambda x_i + (1 - lambda) x_{n-1-i}   (the batch flipped: timm's x.flip(0))
 *   CutMix: the box of x_{n-1-i} pasted into x_i. Box (rand_bbox): sides int(H sqrt(1 - lambda)),
 *           int(W sqrt(1 - lambda)), centre uniform in [0, H) x [0, W), clipped to the image;
 *           with cutmix_minmax: sides uniform integers in [int(H min), int(H max)) and the corner
 *           uniform where the box fits. correct_lam (or minmax): lambda = 1 - box area / (H W).
 *   Targets: y = lambda onehot(y_i) + (1 - lambda) onehot(y_{n-1-i}), one-hot smoothed to
 *           on = 1 - s + s/K, off = s/K (timm's mixup_target; s = the label smoothing).
 * pair mode mixes both members of a pair with one draw (the second gets the mirror image); elem
 * mode reads every source from the unmixed batch. A batch without mixing (lambda 1) still gets
 * its (smoothed one-hot) targets, so every training batch then has targets.
 * Draws: batch mode from (seed, epoch, step), pair and elem mode from (seed, epoch, draw index of
 * sample i): a batch stays a pure function of the run seed and its position.
 * Beta(a, a) is drawn as X / (X + Y) of two Gamma(a) draws (Marsaglia and Tsang's method, with
 * Gamma(a + 1) U^(1/a) below a = 1), each from a fixed budget of uniforms.
 */
#ifndef MIXUP_H
#define MIXUP_H

#include "draws.h"

typedef enum { MIX_BATCH, MIX_PAIR, MIX_ELEM } MixMode;

typedef struct {
    float   mixup_alpha, cutmix_alpha; // Beta(alpha, alpha) for lambda; 0 = that one off
    float   cutmix_minmax[2];          // box sides as fractions of the image; 0, 0 = off (alpha rule)
    float   prob, switch_prob;         // mixing probability; CutMix's share when both are on
    MixMode mode;
    bool    correct_lam;               // lambda from the clipped box's area
    int     off_epoch;                 // no mixing from this (0-based) epoch on; 0 = never off
    // not recipe keys: the trainer sets them
    int     classes;                   // K, the width of the targets
    float   smoothing;                 // label smoothing folded into the targets
} MixArgs;

// one mixing decision: lambda as drawn, CutMix or Mixup, the box (CutMix) and lambda after it
typedef struct { bool mix, cutmix; float lam; int box[4]; } MixDecision; // box: y0, y1, x0, x1

bool mixup_on(const MixArgs *m);                 // either alpha (or minmax) on
// the decision for an h x w image from d (64 slots: prob, switch, Beta's two Gammas, the box)
void mixup_draw(const MixArgs *m, MixDecision *dec, int h, int w, Draws *d);
// Beta(a, a) from d's next uniforms (at most 62)
double mixup_beta(double a, Draws *d);
// timm's cutmix_bbox_and_lam: the box of a draw, from uniforms u[0..3] (rand_bbox: centre row,
// column; minmax: side h, side w, row, column), and lambda after it
void mixup_box(const MixArgs *m, MixDecision *dec, int h, int w, const float u[4]);

// mixes x (n, h, w, c) in place with one decision per batch (dec[0]), pair (dec[0 .. n/2-1]) or
// sample (dec[0 .. n-1]), and writes targets (n, classes) for labels (n)
void mixup_apply(const MixArgs *m, const MixDecision *dec, float *x, float *targets, const int *labels,
                 int n, int h, int w, int c, float *scratch /* (h, w, c) per sample mixed: n h w c */);

// the whole step for a batch of the loader: the decisions from (seed, epoch, step / draw index),
// then mixup_apply; dec: n decisions of scratch space
void mixup_batch(const MixArgs *m, float *x, float *targets, const int *labels, const uint64_t *draw_index,
                 int n, int h, int w, int c, uint64_t seed, int epoch, int step, MixDecision *dec,
                 float *scratch);

#endif
