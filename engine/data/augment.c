/* engine/data/augment.c — resize, crop, flip, normalization, random erasing and the sampler.
 *
 * The uint8 and float entry points share one body (crop_flip_normalize) that reads a pixel from
 * whichever source is given, so a resized image goes through exactly the code of a native one.
 */
#include "augment.h"

#include <math.h> // sqrt, round, log, cos

#include "../backend/op_math.h" // resize_taps: the bilinear rule every backend's resize op uses
#include "../core/rng.h"

enum { PURPOSE_AUG = 0xA06, PURPOSE_ORDER = 0x0D3, DRAWS_PER_SAMPLE = 64 };

typedef struct { uint64_t key, epoch, base; int k; } Draws;

static float next(Draws *d)
{
    CHECK(d->k < DRAWS_PER_SAMPLE, "augment: more than %d draws for one sample", DRAWS_PER_SAMPLE);
    return rng_uniform(d->key, d->epoch, d->base + (uint64_t)d->k++);
}

// an integer uniform in [0, n)
static int below(Draws *d, int n) { return MIN((int)(next(d) * n), n - 1); }

// Zhong et al.'s RandomErasing: up to 100 attempts at a rectangle of area fraction in range and
// aspect ratio in [r, 1/r] that fits; fill it; dst is normalized (h, w, c)
static void erase(const AugArgs *a, float *dst, int h, int w, int c, Draws *d)
{
    if (next(d) >= a->erase_p) return;
    for (int attempt = 0; attempt < 100; attempt++) {
        // draws beyond the per-sample budget would alias the next sample: 2 per attempt, bounded
        if (d->k + 4 > DRAWS_PER_SAMPLE) return;
        double area = (a->erase_area[0] + (a->erase_area[1] - a->erase_area[0]) * next(d)) * h * w;
        double r = a->erase_aspect + (1.0 / a->erase_aspect - a->erase_aspect) * next(d);
        int eh = (int)round(sqrt(area * r)), ew = (int)round(sqrt(area / r));
        if (eh >= h || ew >= w || eh < 1 || ew < 1) continue;
        int y0 = below(d, h - eh + 1), x0 = below(d, w - ew + 1);
        uint64_t key = rng_key(d->key, d->base), n = 0; // fill values: their own stream
        for (int y = y0; y < y0 + eh; y++)
            for (int x = x0; x < x0 + ew; x++)
                for (int k = 0; k < c; k++, n++) {
                    float v = a->erase_value[k];
                    if (a->erase_mode == ERASE_UNIFORM) v = rng_uniform(key, d->epoch, n);
                    else if (a->erase_mode == ERASE_GAUSSIAN) { // Box-Muller
                        float u1 = rng_uniform(key, d->epoch, 2 * n), u2 = rng_uniform(key, d->epoch, 2 * n + 1);
                        v = (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
                    }
                    dst[((size_t)y * w + x) * c + k] = v;
                }
        return;
    }
}

// RandomCrop + flip + ToTensor + Normalize + RandomErasing of sample `index`: pixels come from
// s8 (uint8) or, when s8 is NULL, from sf (float on 0..255); both (h, w, c); dst (h, w, c)
static void crop_flip_normalize(const AugArgs *a, float *dst, const uint8_t *s8, const float *sf,
                                int h, int w, int c, uint64_t seed, int epoch, uint64_t index)
{
    Draws d = {rng_key(seed, PURPOSE_AUG), (uint64_t)epoch, index * DRAWS_PER_SAMPLE, 0};
    int oy = a->pad ? below(&d, 2 * a->pad + 1) - a->pad : 0; // crop offset in the unpadded image
    int ox = a->pad ? below(&d, 2 * a->pad + 1) - a->pad : 0;
    bool flip = a->flip && next(&d) < 0.5f;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sy = y + oy, sx = flip ? w - 1 - x + ox : x + ox;
            bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            size_t j = ((size_t)sy * w + sx) * c;
            for (int k = 0; k < c; k++) {
                float v = inside ? (s8 ? (float)s8[j + k] : sf[j + k]) / 255.0f : 0.0f;
                dst[((size_t)y * w + x) * c + k] = (v - a->mean[k]) / a->std[k];
            }
        }
    if (a->erase_p > 0) erase(a, dst, h, w, c, &d);
}

void augment_sample(const AugArgs *a, float *dst, const uint8_t *src, int h, int w, int c,
                    uint64_t seed, int epoch, uint64_t index)
{
    crop_flip_normalize(a, dst, src, NULL, h, w, c, seed, epoch, index);
}

void augment_sample_float(const AugArgs *a, float *dst, const float *src, int h, int w, int c,
                          uint64_t seed, int epoch, uint64_t index)
{
    crop_flip_normalize(a, dst, NULL, src, h, w, c, seed, epoch, index);
}

void normalize_sample(const AugArgs *a, float *dst, const uint8_t *src, int h, int w, int c)
{
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (int k = 0; k < c; k++) dst[i * c + k] = ((float)src[i * c + k] / 255.0f - a->mean[k]) / a->std[k];
}

void normalize_sample_float(const AugArgs *a, float *dst, const float *src, int h, int w, int c)
{
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (int k = 0; k < c; k++) dst[i * c + k] = (src[i * c + k] / 255.0f - a->mean[k]) / a->std[k];
}

// the four-neighbour mix of ref/resize.c, in the same order of operations, on uint8 pixels
void augment_resize(float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c)
{
    CHECK(h > 0 && w > 0 && c > 0 && oh > 0 && ow > 0, "augment_resize: (%d,%d,%d) -> (%d,%d)", h, w,
          c, oh, ow);
    for (int y = 0; y < oh; y++) {
        ResizeTaps th = resize_taps(y, h, oh);
        const uint8_t *r0 = src + (size_t)th.i0 * w * c, *r1 = src + (size_t)th.i1 * w * c;
        for (int x = 0; x < ow; x++) {
            ResizeTaps tw = resize_taps(x, w, ow);
            float *o = dst + ((size_t)y * ow + x) * c;
            for (int k = 0; k < c; k++) {
                size_t a0 = (size_t)tw.i0 * c + k, a1 = (size_t)tw.i1 * c + k;
                o[k] = th.l0 * (tw.l0 * (float)r0[a0] + tw.l1 * (float)r0[a1]) +
                       th.l1 * (tw.l0 * (float)r1[a0] + tw.l1 * (float)r1[a1]);
            }
        }
    }
}

void sampler_permutation(int *perm, int n, uint64_t seed, int epoch)
{
    uint64_t key = rng_key(seed, PURPOSE_ORDER);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = MIN((int)(rng_uniform(key, (uint64_t)epoch, (uint64_t)i) * (i + 1)), i);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int sampler_shard(const int *perm, int n, int rank, int world, int *out)
{
    CHECK(n > 0 && world >= 1 && rank >= 0 && rank < world, "sampler_shard: rank %d of %d ranks, %d samples",
          rank, world, n);
    int per = (n + world - 1) / world;
    for (int k = 0; k < per; k++) out[k] = perm[(rank + (size_t)k * world) % (size_t)n];
    return per;
}
