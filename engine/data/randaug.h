/* engine/data/randaug.h — RandAugment as timm runs it, and as the TensorFlow TPU code runs it.
 *
 * timm ("rand-m9-mstd0.5-inc1", timm/data/auto_augment.py: rand_augment_transform): sections
 * after "rand" are m<int> magnitude (default 10), n<int> layers (2), p<float> probability of each
 * layer (0.5), mstd<float> magnitude noise std (0; > 100 = uniform in [0, m]), mmax<int> the clip
 * ceiling of the noisy magnitude (10), inc<0|1> the "increasing" op set. Per image: n ops drawn
 * uniformly with replacement; each runs with probability p at magnitude clip(N(m, mstd), 0, mmax),
 * level l = magnitude / 10; geometric ops fill with the normalization mean (x 255, rounded) and
 * resample bilinear, bicubic or (interpolation random) either at random per op. The op arguments:
 *   Rotate ±30 l deg; ShearX/Y ±0.3 l; TranslateX/YRel ±0.45 l of the width/height;
 *   Posterize keep int(4 l) bits (increasing: 4 - int(4 l)); Solarize threshold min(256, int(256 l))
 *   (increasing: 256 minus that); SolarizeAdd + min(128, int(110 l)) below 128;
 *   Color/Contrast/Brightness/Sharpness factor 1.8 l + 0.1 (increasing: max(0.1, 1 ± 0.9 l));
 *   AutoContrast, Equalize, Invert take no argument. ± is a fair coin.
 * timm's t<name> weighted op sets (tweights, t3a, t3aw) are not implemented: such a string is an
 * error that says so.
 *
 * TensorFlow ("tf-n2-m15": tensorflow/tpu models/official/efficientnet/autoaugment.py,
 * distort_image_with_randaugment, used by ResNet-RS and EfficientNetV2): n layers (default 2),
 * magnitude m (a float: EfficientNetV2 ramps it per stage, e.g. 5, 6.67, 8.33, 10), never clipped
 * (TF's _MAX_LEVEL 10 only scales; m 15 or 20 give rotations of 45 or 60 deg, see
 * tensorflow/tpu#614), no noise, every chosen op applied (the drawn prob is unused), 16 ops:
 * AutoContrast, Equalize, Invert, Rotate, Posterize int(4 l), Solarize int(256 l), Color, Contrast,
 * Brightness, Sharpness (1.8 l + 0.1), ShearX/Y, TranslateX/Y ±100 l pixels (translate_const
 * 100), Cutout (a square of side 2 int(40 l) at a uniform centre), SolarizeAdd int(110 l)
 * (no 128 cap). Fill 128. Where TF's ops differ from PIL's this file follows TF: geometry samples
 * the nearest pixel in TF's convention (integer pixel coordinates, rotation about ((w-1)/2,
 * (h-1)/2)), Contrast blends towards TF's (buggy) "mean" H W / 256 clipped to 255, Sharpness
 * truncates its smoothed image, Color uses tf.image.rgb_to_grayscale's weights. AutoContrast
 * (double instead of float32) and the other ops use the PIL kernels, which compute the same
 * values. Written from the TF source; no TensorFlow is installed here to test against.
 * "rel1" (tf-n2-m10-rel1): TF's ops with its two absolute pixel sizes made fractions of the image,
 * for images far from 224 px: TranslateX/Y ±0.45 l of the width/height (100 px at 224, timm's
 * translate_pct), the level capped at 1 (timm's magnitude ceiling 10) so that no magnitude moves
 * an image mostly out of its frame; Cutout's half side int(l 40/224 min(h, w)) (40 px at 224).
 * At 224 px it is TF's RandAugment up to rounding (and translation above m 10); at 32 px, m 15 no
 * op fills more than half of the image (tests/test_augment.c).
 */
#ifndef RANDAUG_H
#define RANDAUG_H

#include "draws.h"
#include "pil.h"

typedef enum {
    RA_AUTOCONTRAST, RA_EQUALIZE, RA_INVERT, RA_ROTATE, RA_POSTERIZE, RA_POSTERIZE_INC, RA_SOLARIZE,
    RA_SOLARIZE_INC, RA_SOLARIZE_ADD, RA_COLOR, RA_COLOR_INC, RA_CONTRAST, RA_CONTRAST_INC, RA_BRIGHTNESS,
    RA_BRIGHTNESS_INC, RA_SHARPNESS, RA_SHARPNESS_INC, RA_SHEAR_X, RA_SHEAR_Y, RA_TRANSLATE_X_REL,
    RA_TRANSLATE_Y_REL, RA_TRANSLATE_X, RA_TRANSLATE_Y, RA_CUTOUT, RA_OP_COUNT
} RaOp;

enum { RA_MAX_OPS = 16, RA_MAX_LAYERS = 16, RA_DRAWS_PER_LAYER = 8 };

typedef struct {
    bool   on, tf;         // tf: the TensorFlow flavour
    bool   rel;            // tf ... -rel1: translate and cutout as fractions of the image
    int    n;              // layers per image
    double m;              // magnitude (timm: an integer)
    float  p;              // probability of each layer (TF: 1)
    double mstd;           // magnitude noise std; INFINITY: uniform in [0, m]
    double mmax;           // clip ceiling of the noisy magnitude; TF: no clip (INFINITY)
    bool   increasing;     // timm inc1
    int    n_ops;
    RaOp   ops[RA_MAX_OPS];
} RandAug;

// what one layer does to one image: every random choice of the layer, made before any pixel moves
typedef struct {
    RaOp   op;
    bool   apply;          // the layer's coin (probability p)
    double magnitude;      // after noise and clipping
    bool   negate;         // the sign coin of signed arguments
    PilFilter filter;      // resampling of geometric ops
    float  u[2];           // TF Cutout: the centre as uniforms (row, column)
} RaLayer;

// parses "" (off), a timm "rand-..." or a TF "tf-..." string into *ra; 0, or ERR_FORMAT with what is
// wrong and what is valid written to why (cap bytes)
int  randaug_parse(RandAug *ra, const char *s, char *why, size_t cap);
const char *randaug_op_name(RaOp op);      // timm's name: "PosterizeIncreasing", "TranslateXRel" ...
// the decisions of the ra->n layers of one image from d (RA_DRAWS_PER_LAYER slots each);
// random_filter: bilinear or bicubic at random per layer, else `filter`
void randaug_draw(const RandAug *ra, RaLayer *layers, Draws *d, PilFilter filter, bool random_filter);
// the op of one layer on img (h, w, c = 1 or 3) in place (nothing when !apply); fill: the value
// per channel geometric ops leave outside the image (TF: 128); tmp: h w c bytes
void randaug_apply(const RandAug *ra, const RaLayer *layer, Img img, const uint8_t fill[4], uint8_t *tmp);

#endif
