/* engine/data/augment.h — per-sample training augmentations and the eval transform.
 *
 * Every random choice is a pure function of (seed, epoch, sample index, purpose) (draws.h): each
 * stage reads its own counter stream, so a sample's pixels never depend on thread count, batch
 * split or the order samples are visited, and a resumed run draws what an uninterrupted one
 * would. The index is the dataset index, plus copy * n for the copies of repeated augmentation
 * (sampler.h), so the copies of a sample differ.
 *
 * Training, in timm's order (transforms_factory.py, transforms_imagenet_train, no prefetcher):
 *   geometry      RandomResizedCrop(res, scale, ratio, interpolation) (rrc), or RandomCrop with
 *                 zero padding (pad) of the image (resized to res, bilinear, when its size differs)
 *   flip          RandomHorizontalFlip(0.5)
 *   RandAugment   timm's or TF's (randaug.h), on uint8 as PIL
 *   ColorJitter   torchvision's: brightness, contrast, saturation, hue factors in random order,
 *                 the whole jitter with probability color_jitter_p (timm's color_jitter_prob)
 *   grayscale     RandomGrayscale(grayscale_p); blur: GaussianBlur(23, sigma U(0.1, 2)) with
 *                 probability blur_p (timm's ra4 "SimCLR-like" options)
 *   ToTensor, Normalize(mean, std)
 *   erasing       Zhong et al.'s RandomErasing (erase_style zhong: one box, aspect uniform in
 *                 [r, 1/r], 100 tries) or timm's (timm: 1..erase_count boxes of area/count, aspect
 *                 log-uniform, 10 tries each), filled const / uniform U[0,1) / pixel N(0,1) per
 *                 value / rand N(0,1) per channel
 * When no stage between geometry and Normalize is on (no rrc, RandAugment, jitter, grayscale,
 * blur), a sample takes the float path the engine always had (bitwise the same pixels as before
 * these stages existed). Otherwise the pixel stages run on uint8 with Pillow's arithmetic (pil.h),
 * and a bilinear-resized image is rounded to uint8 first, as a PIL pipeline would hold it.
 * Batch-level mixing (Mixup/CutMix) is mixup.h's, applied by the loader.
 *
 * Eval: crop_pct 0: resize to res when the sizes differ, normalize. crop_pct > 0: timm's
 * transforms_imagenet_eval: the shorter side resized (PIL) to floor(res / crop_pct), centre crop
 * res x res (torchvision's rounding), normalize.
 */
#ifndef AUGMENT_H
#define AUGMENT_H

#include "../io/image.h" // ImgInfo: the encoded images of decoding readers
#include "mixup.h"
#include "randaug.h"
#include "sampler.h"

typedef enum { ERASE_CONST, ERASE_UNIFORM, ERASE_PIXEL, ERASE_RAND } EraseMode;
typedef enum { ERASE_ZHONG, ERASE_TIMM } EraseStyle;
typedef enum { INTERP_BILINEAR, INTERP_BICUBIC, INTERP_RANDOM } Interp;

typedef struct {
    // geometry
    int    pad;                 // random crop: zero padding on each side (0 = no crop)
    bool   rrc;                 // RandomResizedCrop to the output size
    float  rrc_scale[2];        // area fraction range, e.g. 0.08, 1
    float  rrc_ratio[2];        // aspect (w / h) range, log-uniform, e.g. 3/4, 4/3
    Interp interpolation;       // of RRC, RandAugment's geometry, eval resize (random: bilinear)
    bool   flip;                // horizontal flip with probability 1/2
    // uint8 pixel stages
    char   randaug[64];         // "" = off, "rand-m9-mstd0.5-inc1" (timm), "tf-n2-m15" (TF)
    float  color_jitter[4];     // brightness, contrast, saturation, hue strengths (0 = off)
    float  color_jitter_p;      // probability of the whole jitter
    float  grayscale_p, blur_p;
    // normalization, erasing
    float  mean[4], std[4];     // per channel, on [0,1] pixels
    int    n_given[3];          // values a recipe gave for mean, std, erase_value (0: the defaults;
                                // run/recipe.c checks them against the channels)
    float  erase_p;             // probability per sample
    float  erase_area[2];       // area fraction range, e.g. 0.02 .. 0.4
    float  erase_aspect;        // aspect ratio range [r, 1/r], e.g. 0.3
    EraseMode  erase_mode;
    float  erase_value[4];      // const mode: the value per channel (after normalization)
    EraseStyle erase_style;
    int    erase_count;         // timm style: up to this many boxes
    // eval, batch-level, sampler
    float  crop_pct;            // eval centre crop fraction, 0 = plain resize
    MixArgs mix;
    float  repeated_aug;        // RepeatAugSampler repeats, 0 = off (sampler.h)
    // not recipe keys: progressive learning (train/progressive.h) sets the stage's magnitude
    bool   randaug_m_set;       // augment_resolve replaces the magnitude of `randaug` by randaug_m
    double randaug_m;
    // filled by augment_resolve
    RandAug ra;
} AugArgs;

// checks a's values together and parses randaug into a->ra (its magnitude randaug_m when
// randaug_m_set); 0, or ERR_FORMAT with one line that names the key (data.<key>), the value and
// what is valid
int  augment_resolve(AugArgs *a);
// does a use the uint8 pixel path (rrc, RandAugment, jitter, grayscale or blur)?
bool augment_pixel_path(const AugArgs *a);

// buffers of one worker, grown on demand (no allocation once warm)
typedef struct AugScratch AugScratch;
AugScratch *augment_scratch_new(void);
void augment_scratch_free(AugScratch *s);

// the training transform of sample `index`: src (h, w, c) uint8 -> dst (oh, ow, c) float, c 1 or 3
// on the pixel path. a must be resolved.
void augment_train(const AugArgs *a, float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c,
                   uint64_t seed, int epoch, uint64_t index, AugScratch *s);
// the eval transform: src (h, w, c) -> dst (oh, ow, c)
void augment_eval(const AugArgs *a, float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c,
                  AugScratch *s);

// the same two transforms of an encoded image (io/image.h; `name` for errors, info its header
// when the reader knows it, else NULL: probed) into c channels. Training with RandomResizedCrop
// decodes only the crop's window, at the smallest DCT scale that keeps the crop at least the
// output size twice over (augment_dct_denom; FFCV's shortcut, with a margin), and resizes the window's
// fractional box (pil_resize_box): within a few levels of the full decode, crop and resize, not
// equal to it. Every other geometry, and eval, decodes the whole image at full scale: Pillow's
// pixels exactly, then augment_train / augment_eval. 0, or ERR_FORMAT with one line naming the
// image (dst is then undefined).
int  augment_train_encoded(const AugArgs *a, float *dst, int oh, int ow, int c, const uint8_t *enc, size_t n,
                           const char *name, const ImgInfo *info, uint64_t seed, int epoch, uint64_t index,
                           AugScratch *s);
int  augment_eval_encoded(const AugArgs *a, float *dst, int oh, int ow, int c, const uint8_t *enc, size_t n,
                          const char *name, const ImgInfo *info, AugScratch *s);
// RandomResizedCrop's pixels of box (y, x, h, w) of an encoded image with header info: its
// window decoded at augment_dct_denom's scale, resized to out with filter f. 0 or ERR_FORMAT
int  augment_crop_encoded(Img out, const uint8_t *enc, size_t n, const char *name, const ImgInfo *info,
                          const int box[4], PilFilter f, AugScratch *s);
// the DCT scale denominator for a bh x bw crop resized to oh x ow: the largest of 1, 2, 4, 8 (at
// most max) with bh >= 2 d oh and bw >= 2 d ow (the crop keeps twice the output's size) and
// min(bh, bw) >= 8 d (at least one 8x8 block a side at the scale)
int  augment_dct_denom(int bh, int bw, int oh, int ow, int max);

// ---- the float path (also the pieces of augment_train there) ---------------------------------
// sample `index` of `epoch`: src (h, w, c) uint8 -> dst (h, w, c) float: crop, flip, normalize, erase
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

// ---- single stages with their decisions given (augment_ops.c; the tests feed timm's) ----------
// RandomResizedCrop.get_params on an h x w image from d's uniforms, consumed in torchvision's
// order (per try: area, log-ratio, then row and column when it fits; 10 tries, then the central
// crop): box = (y, x, height, width)
void augment_rrc_box(int box[4], int h, int w, const float scale[2], const float ratio[2], Draws *d);
// eval geometry: Resize(floor(oh / crop_pct)) of the shorter side, CenterCrop(oh, ow): the resized
// size (rh, rw) and the crop's corner (y, x) in it
void augment_eval_geometry(int out[4], int h, int w, int oh, int ow, float crop_pct);

// ColorJitter with its draws made: the four adjustments in `order` (0 brightness, 1 contrast,
// 2 saturation, 3 hue), each with its factor, skipped where !use[k]. tmp: h w c bytes
typedef struct { int order[4]; float factor[4]; bool use[4]; } Jitter;
void augment_jitter(Img img, const Jitter *j, uint8_t *tmp);
// torchvision's gaussian_blur(img, 23, sigma) on uint8 (reflect padding, rounded half to even);
// tmp: h w c doubles
void augment_blur(Img img, double sigma, double *tmp);
// rgb_to_grayscale with as many output channels as input (c = 1: unchanged); tmp: h w bytes
void augment_gray(Img img, uint8_t *tmp);
// Zhong et al.'s RandomErasing on x (h, w, c), normalized, from d (one box: area, aspect uniform in
// [r, 1/r], row, column; 100 tries within d's budget); its fill values from a stream of its own
void augment_erase_zhong(const AugArgs *a, float *x, int h, int w, int c, Draws *d);
// timm's RandomErasing._erase on x (h, w, c), normalized, from d's uniforms in timm's order (the
// probability, the count when erase_count > 1, then per box: area, log-aspect, row, column);
// fill values from the stream `fill` (pixel / rand / uniform modes)
void augment_erase_timm(const AugArgs *a, float *x, int h, int w, int c, Draws *d, Draws *fill);

#endif
