/* engine/data/augment.h — per-sample training augmentations and the epoch sampler.
 *
 * Every random choice is a pure function of (seed, epoch, sample index, purpose): the k-th draw
 * for sample i in epoch e is rng_uniform(rng_key(seed, AUG), e, i * 64 + k). A sample's pixels
 * therefore never depend on thread count, batch split or the order samples are visited, and a
 * resumed run draws what an uninterrupted one would.
 * Pipeline for one sample, as torchvision applies it: RandomCrop(size, padding, fill 0) ->
 * RandomHorizontalFlip(0.5) -> ToTensor (/255) -> Normalize(mean, std) -> RandomErasing.
 * Resolution: a caller that trains or evaluates at another size than the dataset's first calls
 * augment_resize (uint8 -> float, bilinear) and then the _float variants at the new size, so
 * crop padding and erasing areas are in pixels of the resized image (darknet's resize-the-input
 * idea; loader.c does this). Resize is not an AugArgs field because it changes the output shape,
 * which belongs to the caller (the loader's out_h, out_w), not to the augmentation recipe.
 */
#ifndef AUGMENT_H
#define AUGMENT_H

#include "../core/core.h"

typedef enum { ERASE_CONST, ERASE_UNIFORM, ERASE_GAUSSIAN } EraseMode;

typedef struct {
    int   pad;                 // random crop: zero padding on each side (0 = no crop)
    bool  flip;                // horizontal flip with probability 1/2
    float mean[4], std[4];     // per channel, on [0,1] pixels
    float erase_p;             // random erasing (Zhong et al. 2017): probability per sample
    float erase_area[2];       // area fraction range, e.g. 0.02 .. 0.4
    float erase_aspect;        // aspect ratio drawn uniformly from [r, 1/r], e.g. 0.3
    EraseMode erase_mode;      // constant value, per-pixel uniform [erase_lo, erase_hi), gaussian
    float erase_value[4];      // constant mode: the value per channel (after normalization)
} AugArgs;

// sample `index` of epoch `epoch`: src (h, w, c) uint8 -> dst (h, w, c) float, NHWC row
void augment_sample(const AugArgs *a, float *dst, const uint8_t *src, int h, int w, int c,
                    uint64_t seed, int epoch, uint64_t index);
// evaluation: normalization only
void normalize_sample(const AugArgs *a, float *dst, const uint8_t *src, int h, int w, int c);

// bilinear resize without antialiasing, align_corners=False: src (h, w, c) uint8 -> dst
// (oh, ow, c) float on the 0..255 scale, PyTorch's F.interpolate(x.float(), (oh, ow),
// mode='bilinear') on the uint8 pixels converted to float. The taps are op_math.h's
// resize_taps, the formula of every backend's resize op. Equal sizes copy the pixels exactly.
void augment_resize(float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c);
// augment_sample / normalize_sample of a float image on the 0..255 scale (augment_resize's
// output): src (h, w, c) -> dst (h, w, c). For integer pixel values the result is bitwise that of
// the uint8 versions (the same draws, the same v / 255 then (v - mean) / std).
void augment_sample_float(const AugArgs *a, float *dst, const float *src, int h, int w, int c,
                          uint64_t seed, int epoch, uint64_t index);
void normalize_sample_float(const AugArgs *a, float *dst, const float *src, int h, int w, int c);

// the order of epoch `epoch`: a permutation of 0..n-1 (Fisher-Yates on counter draws)
void sampler_permutation(int *perm, int n, uint64_t seed, int epoch);
// the hook for data-parallel training: rank's share of an epoch's order perm (n) among `world`
// ranks, as PyTorch's DistributedSampler deals it: the order padded by its own head to a multiple
// of world, then every world-th entry from position rank. Writes ceil(n / world) indices to out
// and returns that count. Every rank draws the same permutation (same seed and epoch), so the
// shares are disjoint apart from the padding and together cover the epoch.
int  sampler_shard(const int *perm, int n, int rank, int world, int *out);

#endif
