/* engine/data/augment.c — the per-sample pipelines of augment.h: checks, the float path (resize,
 * crop, flip, normalize), the uint8 pixel path, eval, and the per-stage draws.
 *
 * Draw streams (purpose tags of draws.h): the float path's crop, flip and Zhong erasing share
 * PURPOSE_AUG as they always have (so its pixels stay what they were); every newer stage has its
 * own stream and budget, so turning one stage on never moves another's draws.
 */
#include "augment.h"

#include <math.h>   // lrintf, nearbyint
#include <stdio.h>  // snprintf
#include <string.h> // memcpy

#include "../core/resample.h" // resize_taps: the bilinear rule every backend's resize op uses

enum {
    PURPOSE_AUG = 0xA06, PURPOSE_RRC = 0xA07, PURPOSE_RANDAUG = 0xA08, PURPOSE_JITTER = 0xA09,
    PURPOSE_SIMCLR = 0xA0A, PURPOSE_ERASE = 0xA0B,
    DRAWS_AUG = 64, DRAWS_RRC = 48, DRAWS_JITTER = 16, DRAWS_SIMCLR = 4, DRAWS_ERASE = 1024,
};

// ---------------------------------------------------------------------------------------------
// checks

bool augment_pixel_path(const AugArgs *a)
{
    bool jitter = a->color_jitter[0] > 0 || a->color_jitter[1] > 0 || a->color_jitter[2] > 0 || a->color_jitter[3] > 0;
    return a->rrc || a->randaug[0] || jitter || a->grayscale_p > 0 || a->blur_p > 0;
}

#define BAD(...) do { log_error(__VA_ARGS__); return ERR_FORMAT; } while (0)

// a two-value range: lo <= hi, both positive
static bool range_ok(const float r[2]) { return r[0] > 0 && r[0] <= r[1]; }

int augment_resolve(AugArgs *a)
{
    char why[1024];
    if (randaug_parse(&a->ra, a->randaug, why, sizeof why)) BAD("recipe: data.randaug = '%s': %s", a->randaug, why);
    if (a->randaug_m_set) a->ra.m = a->randaug_m;
    if (a->rrc && a->pad)
        BAD("recipe: data.rrc = true with data.pad = %d: two crops (RandomResizedCrop or padded RandomCrop); set "
            "one", a->pad);
    if (a->rrc && !range_ok(a->rrc_scale))
        BAD("recipe: data.rrc_scale = %g, %g: expected 0 < min <= max", a->rrc_scale[0], a->rrc_scale[1]);
    if (a->rrc && !range_ok(a->rrc_ratio))
        BAD("recipe: data.rrc_ratio = %g, %g: expected 0 < min <= max", a->rrc_ratio[0], a->rrc_ratio[1]);
    if (a->color_jitter[3] > 0.5f)
        BAD("recipe: data.color_jitter hue = %g: torchvision takes hue in 0 .. 0.5", a->color_jitter[3]);
    if (a->erase_area[0] > a->erase_area[1])
        BAD("recipe: data.erase_area = %g, %g: the minimum is above the maximum", a->erase_area[0], a->erase_area[1]);
    if (a->erase_count < 1) a->erase_count = 1;
    if (a->erase_style == ERASE_ZHONG && a->erase_count > 1)
        BAD("recipe: data.erase_count = %d needs data.erase_style = timm (zhong erases one box)", a->erase_count);
    if (a->crop_pct != 0 && (a->crop_pct < 0.05f || a->crop_pct > 1))
        BAD("recipe: data.crop_pct = %g: expected 0 (plain resize) or 0.05 .. 1", a->crop_pct);
    if (a->repeated_aug != 0 && a->repeated_aug < 1)
        BAD("recipe: data.repeated_aug = %g: expected 0 (off) or a repeat count >= 1", a->repeated_aug);
    const float *mm = a->mix.cutmix_minmax;
    if ((mm[0] || mm[1]) && !(mm[0] > 0 && mm[0] < mm[1] && mm[1] <= 1))
        BAD("recipe: data.cutmix_minmax = %g, %g: expected 0, 0 (off) or 0 < min < max <= 1", mm[0], mm[1]);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// scratch

struct AugScratch {
    uint8_t *u8[4]; // 0: the image, 1: resize and pixel-stage temporaries, 2: eval's crop, 3: a decode
    float   *f;
    double  *d;
    size_t   cap_u8[4], cap_f, cap_d; // bytes
};

AugScratch *augment_scratch_new(void) { return xcalloc(1, sizeof(AugScratch)); }

void augment_scratch_free(AugScratch *s)
{
    if (!s) return;
    for (int i = 0; i < 4; i++) free(s->u8[i]);
    free(s->f);
    free(s->d);
    free(s);
}

// *p grown to at least `bytes`
static void *grow(void *p, size_t *cap, size_t bytes)
{
    if (bytes <= *cap) return p;
    free(p);
    *cap = bytes;
    return xmalloc(bytes);
}

static uint8_t *scratch_u8(AugScratch *s, int i, size_t n) { return s->u8[i] = grow(s->u8[i], &s->cap_u8[i], n); }
static float *scratch_f(AugScratch *s, size_t n) { return s->f = grow(s->f, &s->cap_f, n * sizeof(float)); }
static double *scratch_d(AugScratch *s, size_t n) { return s->d = grow(s->d, &s->cap_d, n * sizeof(double)); }

// ---------------------------------------------------------------------------------------------
// the float path

// RandomCrop (zero padding) + flip from d: dst (h, w, c) gets the pixels on the 0..255 scale, from
// s8 (uint8) or, when s8 is NULL, from sf (float)
static void crop_flip(const AugArgs *a, float *dst, const uint8_t *s8, const float *sf, int h, int w, int c,
                      Draws *d)
{
    int oy = a->pad ? draws_below(d, 2 * a->pad + 1) - a->pad : 0; // crop offset in the unpadded image
    int ox = a->pad ? draws_below(d, 2 * a->pad + 1) - a->pad : 0;
    bool flip = a->flip && draws_next(d) < 0.5f;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sy = y + oy, sx = flip ? w - 1 - x + ox : x + ox;
            bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            size_t j = ((size_t)sy * w + sx) * c;
            for (int k = 0; k < c; k++)
                dst[((size_t)y * w + x) * c + k] = inside ? (s8 ? (float)s8[j + k] : sf[j + k]) : 0.0f;
        }
}

// random erasing of the normalized x (h, w, c) in the configured style
static void erase(const AugArgs *a, float *x, int h, int w, int c, Draws *d, uint64_t seed, int epoch,
                  uint64_t index)
{
    if (a->erase_p <= 0) return;
    if (a->erase_style == ERASE_ZHONG) {
        augment_erase_zhong(a, x, h, w, c, d);
        return;
    }
    Draws de = draws_open(seed, PURPOSE_ERASE, epoch, index, DRAWS_ERASE);
    Draws fill = {rng_key(de.key, de.base), de.epoch, 0, 0, 1 << 30, NULL};
    augment_erase_timm(a, x, h, w, c, &de, &fill);
}

// crop, flip, normalize, erase: s8 or (s8 NULL) sf (h, w, c) -> dst (h, w, c)
static void float_path(const AugArgs *a, float *dst, const uint8_t *s8, const float *sf, int h, int w, int c,
                       uint64_t seed, int epoch, uint64_t index)
{
    Draws d = draws_open(seed, PURPOSE_AUG, epoch, index, DRAWS_AUG);
    crop_flip(a, dst, s8, sf, h, w, c, &d);
    normalize_sample_float(a, dst, dst, h, w, c);
    erase(a, dst, h, w, c, &d, seed, epoch, index);
}

void augment_sample(const AugArgs *a, float *dst, const uint8_t *src, int h, int w, int c,
                    uint64_t seed, int epoch, uint64_t index)
{
    float_path(a, dst, src, NULL, h, w, c, seed, epoch, index);
}

void augment_sample_float(const AugArgs *a, float *dst, const float *src, int h, int w, int c,
                          uint64_t seed, int epoch, uint64_t index)
{
    float_path(a, dst, NULL, src, h, w, c, seed, epoch, index);
}

void normalize_sample(const AugArgs *a, float *dst, const uint8_t *src, int h, int w, int c)
{
    CHECK(c >= 1 && c <= 4, "normalize_sample: %d channels (1 .. 4)", c);
    // the 256 values of each channel, computed once: the same floats as the formula per pixel
    float lut[4][256];
    for (int k = 0; k < c; k++)
        for (int v = 0; v < 256; v++) lut[k][v] = ((float)v / 255.0f - a->mean[k]) / a->std[k];
    if (c == 3) {
        for (size_t i = 0; i < (size_t)h * w; i++) {
            dst[3 * i] = lut[0][src[3 * i]];
            dst[3 * i + 1] = lut[1][src[3 * i + 1]];
            dst[3 * i + 2] = lut[2][src[3 * i + 2]];
        }
        return;
    }
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (int k = 0; k < c; k++) dst[i * c + k] = lut[k][src[i * c + k]];
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

// ---------------------------------------------------------------------------------------------
// the pixel path

static PilFilter filter_of(Interp i) { return i == INTERP_BICUBIC ? PIL_BICUBIC : PIL_BILINEAR; }

static void flip_u8(Img img)
{
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < img.w / 2; x++)
            for (int k = 0; k < img.c; k++) {
                uint8_t *p = img.px + ((size_t)y * img.w + x) * img.c + k;
                uint8_t *q = img.px + ((size_t)y * img.w + img.w - 1 - x) * img.c + k;
                uint8_t t = *p;
                *p = *q;
                *q = t;
            }
}

// RandAugment, ColorJitter, grayscale, blur of img in place, each from its own stream
static void pixel_stages(const AugArgs *a, Img img, uint8_t *tmp, AugScratch *s, uint64_t seed, int epoch,
                         uint64_t index)
{
    if (a->ra.on) {
        RaLayer layers[RA_MAX_LAYERS];
        Draws d = draws_open(seed, PURPOSE_RANDAUG, epoch, index, RA_DRAWS_PER_LAYER * RA_MAX_LAYERS);
        randaug_draw(&a->ra, layers, &d, filter_of(a->interpolation), a->interpolation == INTERP_RANDOM);
        uint8_t fill[4]; // timm's img_mean: min(255, round(255 mean))
        for (int k = 0; k < img.c; k++) fill[k] = (uint8_t)MIN(255.0, MAX(0.0, nearbyint(255.0 * a->mean[k])));
        for (int j = 0; j < a->ra.n; j++) randaug_apply(&a->ra, &layers[j], img, fill, tmp);
    }
    const float *cj = a->color_jitter;
    if (cj[0] > 0 || cj[1] > 0 || cj[2] > 0 || cj[3] > 0) {
        Draws d = draws_open(seed, PURPOSE_JITTER, epoch, index, DRAWS_JITTER);
        if (draws_next(&d) < a->color_jitter_p) { // RandomApply, then ColorJitter.get_params
            Jitter j = {{0, 1, 2, 3}, {0}, {cj[0] > 0, cj[1] > 0, cj[2] > 0, cj[3] > 0}};
            for (int i = 3; i > 0; i--) { // randperm(4)
                int k = draws_below(&d, i + 1), t = j.order[i];
                j.order[i] = j.order[k];
                j.order[k] = t;
            }
            for (int k = 0; k < 3; k++) j.factor[k] = (float)draws_uniform(&d, MAX(0.0f, 1 - cj[k]), 1 + cj[k]);
            j.factor[3] = (float)draws_uniform(&d, -cj[3], cj[3]);
            augment_jitter(img, &j, tmp);
        }
    }
    if (a->grayscale_p > 0 || a->blur_p > 0) {
        Draws d = draws_open(seed, PURPOSE_SIMCLR, epoch, index, DRAWS_SIMCLR);
        float u_gray = draws_next(&d), u_blur = draws_next(&d);
        double sigma = draws_uniform(&d, 0.1, 2.0);
        if (u_gray < a->grayscale_p) augment_gray(img, tmp);
        if (u_blur < a->blur_p) augment_blur(img, sigma, scratch_d(s, (size_t)img.h * img.w * img.c));
    }
}

// RandomResizedCrop's box (y, x, height, width) of an h x w image and its filter, from the
// sample's own stream
static PilFilter rrc_draw(const AugArgs *a, int box[4], int h, int w, uint64_t seed, int epoch, uint64_t index)
{
    Draws dr = draws_open(seed, PURPOSE_RRC, epoch, index, DRAWS_RRC);
    augment_rrc_box(box, h, w, a->rrc_scale, a->rrc_ratio, &dr);
    return a->interpolation != INTERP_RANDOM ? filter_of(a->interpolation)
           : draws_next(&dr) < 0.5f        ? PIL_BILINEAR
                                            : PIL_BICUBIC;
}

void augment_train(const AugArgs *a, float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c,
                   uint64_t seed, int epoch, uint64_t index, AugScratch *s)
{
    bool resize = oh != h || ow != w;
    float *resized = resize && !a->rrc ? scratch_f(s, (size_t)oh * ow * c) : NULL;
    if (resized) augment_resize(resized, oh, ow, src, h, w, c);
    if (!augment_pixel_path(a)) {
        float_path(a, dst, resized ? NULL : src, resized, oh, ow, c, seed, epoch, index);
        return;
    }
    CHECK(c == 1 || c == 3, "augment: the uint8 pixel stages take 1 or 3 channels, not %d", c);
    size_t n = (size_t)oh * ow * c;
    Img img = {scratch_u8(s, 0, n), oh, ow, c};
    uint8_t *tmp = scratch_u8(s, 1, MAX(n, (size_t)h * ow * c));
    Draws d = draws_open(seed, PURPOSE_AUG, epoch, index, DRAWS_AUG);
    if (a->rrc) {
        int box[4];
        PilFilter f = rrc_draw(a, box, h, w, seed, epoch, index);
        pil_resize(img, (Img){(uint8_t *)src, h, w, c}, (const int[4]){box[1], box[0], box[3], box[2]}, f, tmp);
        if (a->flip && draws_next(&d) < 0.5f) flip_u8(img);
    } else { // the float path's crop and flip, held as uint8 (integers unless resized: then rounded)
        crop_flip(a, dst, resized ? NULL : src, resized, oh, ow, c, &d);
        for (size_t i = 0; i < n; i++) img.px[i] = (uint8_t)lrintf(MIN(MAX(dst[i], 0.0f), 255.0f));
    }
    pixel_stages(a, img, tmp, s, seed, epoch, index);
    normalize_sample(a, dst, img.px, oh, ow, c);
    erase(a, dst, oh, ow, c, &d, seed, epoch, index);
}

void augment_eval(const AugArgs *a, float *dst, int oh, int ow, const uint8_t *src, int h, int w, int c,
                  AugScratch *s)
{
    if (a->crop_pct == 0 && oh == h && ow == w) {
        normalize_sample(a, dst, src, h, w, c);
        return;
    }
    if (a->crop_pct == 0) {
        float *r = scratch_f(s, (size_t)oh * ow * c);
        augment_resize(r, oh, ow, src, h, w, c);
        normalize_sample_float(a, dst, r, oh, ow, c);
        return;
    }
    int g[4]; // resized h, w; crop corner y, x
    augment_eval_geometry(g, h, w, oh, ow, a->crop_pct);
    Img r = {(uint8_t *)src, h, w, c};
    if (g[0] != h || g[1] != w) {
        r = (Img){scratch_u8(s, 0, (size_t)g[0] * g[1] * c), g[0], g[1], c};
        pil_resize(r, (Img){(uint8_t *)src, h, w, c}, (const int[4]){0, 0, w, h}, filter_of(a->interpolation),
                   scratch_u8(s, 1, (size_t)h * g[1] * c));
    }
    uint8_t *crop = scratch_u8(s, 2, (size_t)oh * ow * c);
    for (int y = 0; y < oh; y++)
        memcpy(crop + (size_t)y * ow * c, r.px + ((size_t)(y + g[2]) * r.w + g[3]) * c, (size_t)ow * c);
    normalize_sample(a, dst, crop, oh, ow, c);
}

// ---------------------------------------------------------------------------------------------
// encoded images: decode what the transform reads

// the largest DCT scale denominator (1, 2, 4, 8, at most max) at which a crop of bh x bw still
// has DCT_OVERSAMPLE times the output's pixels per side. Measured on Imagenette's photographs
// against Pillow's full decode + crop + resize (tests/test_image.py): at 1x (FFCV's rule) the
// DCT's own low-pass shows, up to 3.8 levels mean difference on a crop; at 2x at most 0.84, the
// antialiased resize after the scale doing most of the filtering. And the scaled crop keeps at
// least DCT_MIN_SIDE pixels a side: below one 8x8 block the DCT's average of a few pixels is not
// the resize's (a 1x1 output of an 11x14 crop at 1/4 differed by 10 levels)
enum { DCT_OVERSAMPLE = 2, DCT_MIN_SIDE = 8 };

int augment_dct_denom(int bh, int bw, int oh, int ow, int max)
{
    int d = 1;
    while (2 * d <= max && bh >= DCT_OVERSAMPLE * 2 * d * oh && bw >= DCT_OVERSAMPLE * 2 * d * ow &&
           MIN(bh, bw) >= 2 * d * DCT_MIN_SIDE)
        d *= 2;
    return d;
}

// the whole image at full scale into scratch 3
static const uint8_t *decode_full(const uint8_t *enc, size_t n, const char *name, const ImgInfo *info, int c,
                                  AugScratch *s, int *rc)
{
    size_t bytes = (size_t)info->h * info->w * c;
    uint8_t *px = scratch_u8(s, 3, bytes);
    *rc = img_decode(enc, n, name, 1, (ImgRect){0, 0, info->h, info->w}, c, px, bytes);
    return *rc ? NULL : px;
}

static int info_of(const uint8_t *enc, size_t n, const char *name, const ImgInfo *given, ImgInfo *info)
{
    if (given) {
        *info = *given;
        return 0;
    }
    return img_probe(enc, n, name, info);
}

int augment_crop_encoded(Img out, const uint8_t *enc, size_t n, const char *name, const ImgInfo *info,
                         const int box[4], PilFilter f, AugScratch *s)
{
    int oh = out.h, ow = out.w, c = out.c;
    CHECK(box[0] >= 0 && box[1] >= 0 && box[2] > 0 && box[3] > 0 && box[0] + box[2] <= info->h &&
              box[1] + box[3] <= info->w,
          "augment_crop_encoded: %s: box (%d,%d,%d,%d) outside its %dx%d", name, box[0], box[1], box[2], box[3],
          info->h, info->w);
    int d = augment_dct_denom(box[2], box[3], oh, ow, img_max_denom(info)), sh, sw;
    img_scaled_size(info, d, &sh, &sw);
    // the box at 1/d (fractional) and the whole pixels that hold it: the window decoded
    float fy0 = (float)box[0] / d, fx0 = (float)box[1] / d;
    float fy1 = (float)(box[0] + box[2]) / d, fx1 = (float)(box[1] + box[3]) / d;
    ImgRect win = {(int)fy0, (int)fx0, 0, 0};
    win.h = MIN(sh, (int)ceilf(fy1)) - win.y0;
    win.w = MIN(sw, (int)ceilf(fx1)) - win.x0;
    size_t wbytes = (size_t)win.h * win.w * c;
    uint8_t *wpx = scratch_u8(s, 3, wbytes);
    int rc = img_decode(enc, n, name, d, win, c, wpx, wbytes);
    if (rc) return rc;
    uint8_t *tmp = scratch_u8(s, 1, MAX((size_t)oh * ow * c, (size_t)win.h * ow * c));
    float fbox[4] = {fx0 - win.x0, fy0 - win.y0, MIN(fx1 - win.x0, (float)win.w), MIN(fy1 - win.y0, (float)win.h)};
    if (d == 1) pil_resize(out, (Img){wpx, win.h, win.w, c}, (const int[4]){0, 0, win.w, win.h}, f, tmp);
    else pil_resize_box(out, (Img){wpx, win.h, win.w, c}, fbox, f, tmp);
    return 0;
}

int augment_train_encoded(const AugArgs *a, float *dst, int oh, int ow, int c, const uint8_t *enc, size_t n,
                          const char *name, const ImgInfo *given, uint64_t seed, int epoch, uint64_t index,
                          AugScratch *s)
{
    ImgInfo info;
    int rc = info_of(enc, n, name, given, &info);
    if (rc) return rc;
    if (!a->rrc) { // the other geometries read the whole image
        const uint8_t *px = decode_full(enc, n, name, &info, c, s, &rc);
        if (px) augment_train(a, dst, oh, ow, px, info.h, info.w, c, seed, epoch, index, s);
        return rc;
    }
    int box[4]; // y, x, h, w at full scale
    PilFilter f = rrc_draw(a, box, info.h, info.w, seed, epoch, index);
    size_t n_out = (size_t)oh * ow * c;
    Img img = {scratch_u8(s, 0, n_out), oh, ow, c};
    if ((rc = augment_crop_encoded(img, enc, n, name, &info, box, f, s))) return rc;
    uint8_t *tmp = scratch_u8(s, 1, n_out);
    Draws dd = draws_open(seed, PURPOSE_AUG, epoch, index, DRAWS_AUG);
    if (a->flip && draws_next(&dd) < 0.5f) flip_u8(img);
    pixel_stages(a, img, tmp, s, seed, epoch, index);
    normalize_sample(a, dst, img.px, oh, ow, c);
    erase(a, dst, oh, ow, c, &dd, seed, epoch, index);
    return 0;
}

int augment_eval_encoded(const AugArgs *a, float *dst, int oh, int ow, int c, const uint8_t *enc, size_t n,
                         const char *name, const ImgInfo *given, AugScratch *s)
{
    ImgInfo info;
    int rc = info_of(enc, n, name, given, &info);
    if (rc) return rc;
    const uint8_t *px = decode_full(enc, n, name, &info, c, s, &rc);
    if (px) augment_eval(a, dst, oh, ow, px, info.h, info.w, c, s);
    return rc;
}
