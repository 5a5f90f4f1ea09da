/* engine/data/randaug.c — RandAugment strings, draws and ops (randaug.h).
 *
 * The level-to-argument rules are timm's _*_level_to_arg functions (and TF's, which differ only
 * where randaug.h says), computed in double as Python does; the arguments reach the PIL kernels
 * of pil.c with the types Pillow's C receives (enhance factors as float). The TF flavour's own
 * kernels (nearest-pixel geometry, its Contrast, Color and Cutout) sit at the end.
 */
#include "randaug.h"

#include <math.h>   // INFINITY, isfinite, lround, cosf, sinf
#include <stdio.h>  // snprintf
#include <string.h> // strchr, strncmp, memcpy

static const char *const op_names[RA_OP_COUNT] = {
    "AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "PosterizeIncreasing", "Solarize",
    "SolarizeIncreasing", "SolarizeAdd", "Color", "ColorIncreasing", "Contrast", "ContrastIncreasing",
    "Brightness", "BrightnessIncreasing", "Sharpness", "SharpnessIncreasing", "ShearX", "ShearY",
    "TranslateXRel", "TranslateYRel", "TranslateX", "TranslateY", "Cutout"};

// timm's _RAND_TRANSFORMS and _RAND_INCREASING_TRANSFORMS; TF's available_ops, in their orders
static const RaOp timm_ops[] = {RA_AUTOCONTRAST, RA_EQUALIZE, RA_INVERT, RA_ROTATE, RA_POSTERIZE, RA_SOLARIZE,
                                RA_SOLARIZE_ADD, RA_COLOR, RA_CONTRAST, RA_BRIGHTNESS, RA_SHARPNESS,
                                RA_SHEAR_X, RA_SHEAR_Y, RA_TRANSLATE_X_REL, RA_TRANSLATE_Y_REL};
static const RaOp timm_inc_ops[] = {RA_AUTOCONTRAST, RA_EQUALIZE, RA_INVERT, RA_ROTATE, RA_POSTERIZE_INC,
                                    RA_SOLARIZE_INC, RA_SOLARIZE_ADD, RA_COLOR_INC, RA_CONTRAST_INC,
                                    RA_BRIGHTNESS_INC, RA_SHARPNESS_INC, RA_SHEAR_X, RA_SHEAR_Y,
                                    RA_TRANSLATE_X_REL, RA_TRANSLATE_Y_REL};
static const RaOp tf_ops[] = {RA_AUTOCONTRAST, RA_EQUALIZE, RA_INVERT, RA_ROTATE, RA_POSTERIZE, RA_SOLARIZE,
                              RA_COLOR, RA_CONTRAST, RA_BRIGHTNESS, RA_SHARPNESS, RA_SHEAR_X, RA_SHEAR_Y,
                              RA_TRANSLATE_X, RA_TRANSLATE_Y, RA_CUTOUT, RA_SOLARIZE_ADD};

const char *randaug_op_name(RaOp op)
{
    CHECK(op >= 0 && op < RA_OP_COUNT, "randaug: op %d", (int)op);
    return op_names[op];
}

// ---------------------------------------------------------------------------------------------
// the string

static const char timm_valid[] = "rand-<sections>, sections m<int> (magnitude, 10), n<int> (layers, 2), "
                                 "p<float> (probability per layer, 0.5), mstd<float> (magnitude std, 0; "
                                 "> 100 = uniform), mmax<int> (magnitude ceiling, 10), inc<0|1>; e.g. "
                                 "rand-m9-mstd0.5-inc1";
static const char tf_valid[] = "tf-<sections>, sections n<int> (layers, 2), m<number> (magnitude), rel<0|1> (translate "
                                "and cutout as fractions of the image, 0); e.g. tf-n2-m15, tf-n2-m10-rel1";

// the number val (the whole text) into *x: integer only when integer; within [lo, hi]
static bool number(const char *val, bool integer, double lo, double hi, double *x)
{
    char *end;
    *x = integer ? (double)strtol(val, &end, 10) : strtod(val, &end);
    return end != val && !*end && *x >= lo && *x <= hi;
}

int randaug_parse(RandAug *ra, const char *s, char *why, size_t cap)
{
    *ra = (RandAug){.n = 2, .m = 10, .p = 0.5f, .mmax = 10};
    if (!s[0]) return 0;
    bool tf = !strncmp(s, "tf", 2) && (s[2] == '-' || !s[2]);
    if (!tf && !(!strncmp(s, "rand", 4) && (s[4] == '-' || !s[4]))) {
        snprintf(why, cap, "'%s' is no RandAugment string (valid: \"\" = off; timm: %s; TensorFlow: %s)", s,
                 timm_valid, tf_valid);
        return ERR_FORMAT;
    }
    ra->on = true;
    ra->tf = tf;
    const char *valid = tf ? tf_valid : timm_valid;
    for (const char *sec = strchr(s, '-'); sec; sec = strchr(sec, '-')) {
        char part[64], key[16];
        sec++;
        size_t len = strcspn(sec, "-"), klen = strcspn(sec, "0123456789");
        if (len >= sizeof part || klen >= sizeof key || klen >= len) {
            snprintf(why, cap, "section '%.*s' is not <key><number> (valid: %s)", (int)MIN(len, 40), sec, valid);
            return ERR_FORMAT;
        }
        snprintf(part, sizeof part, "%.*s", (int)len, sec);
        snprintf(key, sizeof key, "%.*s", (int)klen, sec);
        const char *val = part + klen;
        double x;
        bool ok;
        if (!strcmp(key, "m")) ok = number(val, !tf, 0, 100, &ra->m);
        else if (!strcmp(key, "n")) ok = number(val, true, 1, RA_MAX_LAYERS, &x), ra->n = (int)x;
        else if (!tf && !strcmp(key, "p")) ok = number(val, false, 0, 1, &x), ra->p = (float)x;
        else if (!tf && !strcmp(key, "mstd")) ok = number(val, false, 0, 1e9, &ra->mstd);
        else if (!tf && !strcmp(key, "mmax")) ok = number(val, true, 1, 100, &ra->mmax);
        else if (!tf && !strcmp(key, "inc")) ok = number(val, true, 0, 1, &x), ra->increasing = x != 0;
        else if (tf && !strcmp(key, "rel")) ok = number(val, true, 0, 1, &x), ra->rel = x != 0;
        else {
            snprintf(why, cap, "section '%s': %s (valid: %s)", part,
                     !tf && key[0] == 't' ? "timm's t<name> weighted op sets are not implemented" : "unknown key",
                     valid);
            return ERR_FORMAT;
        }
        if (!ok) {
            snprintf(why, cap, "section '%s': bad or out-of-range value '%s' (valid: %s; m 0..100, n 1..%d, p 0..1, "
                     "mmax 1..100)", part, val, valid, RA_MAX_LAYERS);
            return ERR_FORMAT;
        }
    }
    if (ra->mstd > 100) ra->mstd = INFINITY; // timm: uniform sampling in [0, m]
    const RaOp *ops = tf ? tf_ops : ra->increasing ? timm_inc_ops : timm_ops;
    ra->n_ops = tf ? LEN(tf_ops) : LEN(timm_ops);
    memcpy(ra->ops, ops, (size_t)ra->n_ops * sizeof *ops);
    if (tf) {
        ra->p = 1;
        ra->mmax = INFINITY;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// draws

// the uniform in slot k of d
static float slot(Draws *d, int k)
{
    d->k = k;
    return draws_next(d);
}

void randaug_draw(const RandAug *ra, RaLayer *layers, Draws *d, PilFilter filter, bool random_filter)
{
    for (int j = 0; j < ra->n; j++) {
        RaLayer *l = &layers[j];
        int b = j * RA_DRAWS_PER_LAYER; // slots: op, apply, magnitude (2), sign, filter, cutout (2)
        int op = (int)(slot(d, b) * ra->n_ops);
        l->op = ra->ops[MIN(op, ra->n_ops - 1)];
        l->apply = slot(d, b + 1) < ra->p;
        double m = ra->m;
        if (isinf(ra->mstd)) m = ra->m * slot(d, b + 2); // random.uniform(0, m)
        else if (ra->mstd > 0) {                          // random.gauss(m, mstd)
            d->k = b + 2;
            m = ra->m + ra->mstd * draws_normal(d);
        }
        l->magnitude = ra->tf ? m : MAX(0.0, MIN(m, ra->mmax));
        l->negate = slot(d, b + 4) > 0.5f; // timm's _randomly_negate
        l->filter = !random_filter ? filter : slot(d, b + 5) < 0.5f ? PIL_BILINEAR : PIL_BICUBIC;
        l->u[0] = slot(d, b + 6);
        l->u[1] = slot(d, b + 7);
    }
}

// ---------------------------------------------------------------------------------------------
// the TF flavour's kernels

// tf.contrib.image.transform with NEAREST: out (x, y) = in(round(t0 x + t1 y + t2), round(t3 x +
// t4 y + t5)) on integer pixel coordinates in float32, `fill` outside
static void tf_transform(Img out, Img in, const float t[6], uint8_t fill)
{
    for (int y = 0; y < out.h; y++)
        for (int x = 0; x < out.w; x++) {
            long sx = lroundf(t[0] * x + t[1] * y + t[2]), sy = lroundf(t[3] * x + t[4] * y + t[5]);
            uint8_t *o = out.px + ((size_t)y * out.w + x) * out.c;
            bool inside = sx >= 0 && sx < in.w && sy >= 0 && sy < in.h;
            for (int b = 0; b < out.c; b++) o[b] = inside ? in.px[((size_t)sy * in.w + sx) * in.c + b] : fill;
        }
}

// tf.image.rgb_to_grayscale on uint8: weights 0.2989, 0.5870, 0.1140 on x / 255, back as x * 255.5
static void tf_gray(uint8_t *l, Img img)
{
    for (size_t i = 0; i < (size_t)img.h * img.w; i++) {
        const uint8_t *p = img.px + i * img.c;
        if (img.c == 1) {
            l[i] = p[0];
            continue;
        }
        float g = p[0] * (1.0f / 255) * 0.2989f + p[1] * (1.0f / 255) * 0.5870f + p[2] * (1.0f / 255) * 0.1140f;
        l[i] = (uint8_t)MIN(g * 255.5f, 255.0f);
    }
}

// ---------------------------------------------------------------------------------------------
// the ops

typedef enum { LUT_POSTERIZE, LUT_SOLARIZE, LUT_SOLARIZE_ADD, LUT_INVERT } LutKind;

// ImageOps.posterize (keep arg < 8 bits), solarize (threshold arg), timm's solarize_add (+ arg
// below 128), invert: one table for every band
static void lut_op(Img img, LutKind kind, int arg)
{
    uint8_t lut[256];
    for (int i = 0; i < 256; i++) {
        int v = 255 - i;
        if (kind == LUT_POSTERIZE) v = i & ~((1 << (8 - arg)) - 1);
        else if (kind == LUT_SOLARIZE) v = i < arg ? i : 255 - i;
        else if (kind == LUT_SOLARIZE_ADD) v = i < 128 ? MIN(255, i + arg) : i;
        lut[i] = (uint8_t)v;
    }
    pil_point(img, lut);
}

// the affine map a (PIL's, or TF's on integer coordinates), or with a NULL a a rotation by
// rotate_deg, through tmp, back into img
static void geometry(const RandAug *ra, Img img, const double *a, double rotate_deg, PilFilter filter,
                     const uint8_t fill[4], uint8_t *tmp)
{
    Img out = {tmp, img.h, img.w, img.c};
    if (!ra->tf && !a) pil_rotate(out, img, rotate_deg, filter, fill);
    else if (!ra->tf) pil_affine(out, img, a, filter, fill);
    else if (a) tf_transform(out, img, (const float[6]){a[0], a[1], a[2], a[3], a[4], a[5]}, 128);
    else { // angles_to_projective_transforms, in float32
        float r = (float)(rotate_deg * (M_PI / 180.0)), c = cosf(r), s = sinf(r);
        float w1 = (float)(img.w - 1), h1 = (float)(img.h - 1);
        tf_transform(out, img, (const float[6]){c, -s, (w1 - (c * w1 - s * h1)) / 2.0f, s, c,
                                                 (h1 - (s * w1 + c * h1)) / 2.0f}, 128);
    }
    memcpy(img.px, tmp, (size_t)img.h * img.w * img.c);
}

void randaug_apply(const RandAug *ra, const RaLayer *layer, Img img, const uint8_t fill[4], uint8_t *tmp)
{
    CHECK(img.c == 1 || img.c == 3, "randaug: images of 1 or 3 channels, not %d", img.c);
    if (!layer->apply) return;
    double l = layer->magnitude / 10.0, sign = layer->negate ? -1 : 1; // timm's level / _LEVEL_DENOM
    float enhance = (float)(l * 1.8 + 0.1), enhance_inc = (float)MAX(0.1, 1.0 + sign * (l * .9));
    double shear = sign * (l * 0.3), trel = sign * (l * 0.45), tabs = sign * (l * 100.0);
    const double shear_x[6] = {1, shear, 0, 0, 1, 0}, shear_y[6] = {1, 0, 0, shear, 1, 0};
    const double tx_rel[6] = {1, 0, trel * img.w, 0, 1, 0}, ty_rel[6] = {1, 0, 0, 0, 1, trel * img.h};
    double tx = tabs, ty = tabs;
    if (ra->rel) { // TF's 100 px at 224 as a fraction, the level capped at 1 (randaug.h)
        double f = sign * MIN(l, 1.0) * 0.45;
        tx = f * img.w, ty = f * img.h;
    }
    const double tx_abs[6] = {1, 0, tx, 0, 1, 0}, ty_abs[6] = {1, 0, 0, 0, 1, ty};
    int posterize = (int)(l * 4), solarize = ra->tf ? (int)(l * 256) : MIN(256, (int)(l * 256));
    int solarize_add = ra->tf ? (int)(l * 110) : MIN(128, (int)(l * 110));
    switch (layer->op) {
    case RA_AUTOCONTRAST: pil_autocontrast(img); break;
    case RA_EQUALIZE: pil_equalize(img); break;
    case RA_INVERT: lut_op(img, LUT_INVERT, 0); break;
    case RA_ROTATE: geometry(ra, img, NULL, sign * (l * 30.0), layer->filter, fill, tmp); break;
    case RA_POSTERIZE_INC: posterize = 4 - posterize; // fall through
    case RA_POSTERIZE: if (posterize < 8) lut_op(img, LUT_POSTERIZE, posterize); break;
    case RA_SOLARIZE_INC: solarize = 256 - solarize; // fall through
    case RA_SOLARIZE: lut_op(img, LUT_SOLARIZE, solarize); break;
    case RA_SOLARIZE_ADD: lut_op(img, LUT_SOLARIZE_ADD, solarize_add); break;
    case RA_COLOR_INC: enhance = enhance_inc; // fall through
    case RA_COLOR:
        if (!ra->tf) pil_color(img, enhance, tmp);
        else if (img.c == 3) {
            tf_gray(tmp, img);
            pil_blend(img, (Degenerate){tmp, true, 0}, enhance);
        }
        break;
    case RA_CONTRAST_INC: enhance = enhance_inc; // fall through
    case RA_CONTRAST: // TF blends towards sum(histogram) / 256 = H W / 256, not the mean
        if (!ra->tf) pil_contrast(img, enhance, tmp);
        else pil_blend(img, (Degenerate){NULL, false, (int)MIN((float)img.h * img.w / 256.0f, 255.0f)}, enhance);
        break;
    case RA_BRIGHTNESS_INC: enhance = enhance_inc; // fall through
    case RA_BRIGHTNESS: pil_brightness(img, enhance); break;
    case RA_SHARPNESS_INC: enhance = enhance_inc; // fall through
    case RA_SHARPNESS:
        pil_smooth(tmp, img, !ra->tf);
        pil_blend(img, (Degenerate){tmp, false, 0}, enhance);
        break;
    case RA_SHEAR_X: geometry(ra, img, shear_x, 0, layer->filter, fill, tmp); break;
    case RA_SHEAR_Y: geometry(ra, img, shear_y, 0, layer->filter, fill, tmp); break;
    case RA_TRANSLATE_X_REL: geometry(ra, img, tx_rel, 0, layer->filter, fill, tmp); break;
    case RA_TRANSLATE_Y_REL: geometry(ra, img, ty_rel, 0, layer->filter, fill, tmp); break;
    case RA_TRANSLATE_X: geometry(ra, img, tx_abs, 0, layer->filter, fill, tmp); break;
    case RA_TRANSLATE_Y: geometry(ra, img, ty_abs, 0, layer->filter, fill, tmp); break;
    case RA_CUTOUT: { // a square of side 2 pad about a uniform centre, clipped, filled with 128
        int pad = ra->rel ? (int)(l * 40.0 / 224.0 * MIN(img.h, img.w)) : (int)(l * 40), cy = MIN((int)(layer->u[0] * img.h), img.h - 1);
        int cx = MIN((int)(layer->u[1] * img.w), img.w - 1);
        for (int y = MAX(0, cy - pad); y < MIN(img.h, cy + pad); y++)
            memset(img.px + ((size_t)y * img.w + MAX(0, cx - pad)) * img.c, 128,
                   (size_t)(MIN(img.w, cx + pad) - MAX(0, cx - pad)) * img.c);
        break;
    }
    case RA_OP_COUNT: CHECK(false, "randaug: no op"); break;
    }
}
