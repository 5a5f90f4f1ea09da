/* engine/data/augment_ops.c — the single stages of augment.h with their decisions given:
 * RandomResizedCrop's box, the eval geometry, ColorJitter, grayscale, Gaussian blur, and both
 * random erasings. augment.c draws the decisions and runs the stages in order.
 */
#include "augment.h"

#include <math.h>   // sqrt, log, exp, nearbyint, floor
#include <string.h> // memcpy

// Python's int(round(x)): round half to even (the default rounding mode's nearbyint)
static int pyround(double x) { return (int)nearbyint(x); }

// ---------------------------------------------------------------------------------------------
// geometry

void augment_rrc_box(int box[4], int h, int w, const float scale[2], const float ratio[2], Draws *d)
{
    double area = (double)h * w, log_lo = log((double)ratio[0]), log_hi = log((double)ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = draws_uniform(d, scale[0], scale[1]) * area, aspect = exp(draws_uniform(d, log_lo, log_hi));
        int tw = pyround(sqrt(target * aspect)), th = pyround(sqrt(target / aspect));
        // torchvision would go on to crash on an empty crop; a zero side counts as a failed try
        if (tw <= w && th <= h && tw > 0 && th > 0) {
            box[0] = draws_below(d, h - th + 1);
            box[1] = draws_below(d, w - tw + 1);
            box[2] = th;
            box[3] = tw;
            return;
        }
    }
    double in_ratio = (double)w / h; // the fallback: the central crop within the ratio range
    int tw = w, th = h;
    if (in_ratio < ratio[0]) th = pyround(tw / (double)ratio[0]);
    else if (in_ratio > ratio[1]) tw = pyround(th * (double)ratio[1]);
    box[0] = (h - th) / 2;
    box[1] = (w - tw) / 2;
    box[2] = th;
    box[3] = tw;
}

void augment_eval_geometry(int out[4], int h, int w, int oh, int ow, float crop_pct)
{
    CHECK(oh == ow && crop_pct > 0 && crop_pct <= 1, "augment_eval_geometry: %dx%d at crop_pct %g (square only)",
          oh, ow, (double)crop_pct);
    int size = (int)floor(oh / (double)crop_pct), shorter = MIN(h, w), longer = MAX(h, w);
    int new_long = (int)((double)size * longer / shorter); // torchvision's int(short * long / short)
    out[0] = w <= h ? new_long : size;
    out[1] = w <= h ? size : new_long;
    out[2] = pyround((out[0] - oh) / 2.0); // CenterCrop's int(round((h - oh) / 2))
    out[3] = pyround((out[1] - ow) / 2.0);
}

// ---------------------------------------------------------------------------------------------
// colour

void augment_jitter(Img img, const Jitter *j, uint8_t *tmp)
{
    for (int k = 0; k < 4; k++) {
        int op = j->order[k];
        if (!j->use[op]) continue;
        float f = j->factor[op];
        if (op == 0) pil_brightness(img, f);       // F.adjust_brightness: ImageEnhance.Brightness
        else if (op == 1) pil_contrast(img, f, tmp); // ImageEnhance.Contrast
        else if (op == 2) pil_color(img, f, tmp);    // adjust_saturation: ImageEnhance.Color
        else pil_hue(img, f);
    }
}

void augment_gray(Img img, uint8_t *tmp)
{
    if (img.c == 1) return;
    pil_gray(tmp, img);
    for (size_t i = 0; i < (size_t)img.h * img.w; i++) img.px[3 * i] = img.px[3 * i + 1] = img.px[3 * i + 2] = tmp[i];
}

// reflect padding's source index of i in [0, n) (repeated for images smaller than the kernel)
static int reflect(int i, int n)
{
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return n == 1 ? 0 : i;
}

void augment_blur(Img img, double sigma, double *tmp)
{
    enum { K = 23, HALF = K / 2 };
    float k[K], sum = 0; // _get_gaussian_kernel1d in float32
    for (int i = 0; i < K; i++) {
        float x = (float)(i - HALF) / (float)sigma;
        k[i] = expf(-0.5f * (x * x));
        sum += k[i];
    }
    for (int i = 0; i < K; i++) k[i] /= sum;
    int h = img.h, w = img.w, c = img.c;
    for (int y = 0; y < h; y++) // rows first, in double; torchvision's 2-d float32 kernel differs by rounding
        for (int x = 0; x < w; x++)
            for (int b = 0; b < c; b++) {
                double s = 0;
                for (int i = 0; i < K; i++) s += k[i] * (double)img.px[((size_t)y * w + reflect(x + i - HALF, w)) * c + b];
                tmp[((size_t)y * w + x) * c + b] = s;
            }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int b = 0; b < c; b++) {
                double s = 0;
                for (int i = 0; i < K; i++) s += k[i] * tmp[((size_t)reflect(y + i - HALF, h) * w + x) * c + b];
                img.px[((size_t)y * w + x) * c + b] = (uint8_t)MIN(MAX(nearbyint(s), 0), 255);
            }
}

// ---------------------------------------------------------------------------------------------
// erasing

// the box (y0, x0, eh, ew) of x (h, w, c) filled in mode a->erase_mode; random values from fill
static void erase_box(const AugArgs *a, float *x, int w, int c, const int box[4], Draws *fill)
{
    double rand_color[4];
    if (a->erase_mode == ERASE_RAND)
        for (int k = 0; k < c; k++) rand_color[k] = draws_normal(fill);
    for (int y = box[0]; y < box[0] + box[2]; y++)
        for (int xx = box[1]; xx < box[1] + box[3]; xx++)
            for (int k = 0; k < c; k++) {
                float v = a->erase_value[k];
                if (a->erase_mode == ERASE_UNIFORM) v = draws_next(fill);
                else if (a->erase_mode == ERASE_PIXEL) v = (float)draws_normal(fill);
                else if (a->erase_mode == ERASE_RAND) v = (float)rand_color[k];
                x[((size_t)y * w + xx) * c + k] = v;
            }
}

void augment_erase_zhong(const AugArgs *a, float *x, int h, int w, int c, Draws *d)
{
    if (draws_next(d) >= a->erase_p) return;
    for (int attempt = 0; attempt < 100; attempt++) {
        // draws beyond the per-sample budget would alias the next sample: 2 per attempt, bounded
        if (d->k + 4 > d->cap) return;
        double area = (a->erase_area[0] + (a->erase_area[1] - a->erase_area[0]) * draws_next(d)) * h * w;
        double r = a->erase_aspect + (1.0 / a->erase_aspect - a->erase_aspect) * draws_next(d);
        int eh = (int)round(sqrt(area * r)), ew = (int)round(sqrt(area / r));
        if (eh >= h || ew >= w || eh < 1 || ew < 1) continue;
        int box[4] = {0, 0, eh, ew};
        box[0] = draws_below(d, h - eh + 1); // row, then column (an initializer list is unordered)
        box[1] = draws_below(d, w - ew + 1);
        Draws fill = {rng_key(d->key, d->base), d->epoch, 0, 0, 1 << 30, NULL}; // fill values: their own stream
        erase_box(a, x, w, c, box, &fill);
        return;
    }
}

void augment_erase_timm(const AugArgs *a, float *x, int h, int w, int c, Draws *d, Draws *fill)
{
    if (draws_next(d) > a->erase_p) return; // random.random() > probability: no erasing
    int count = a->erase_count > 1 ? 1 + draws_below(d, a->erase_count) : 1;
    double log_lo = log((double)a->erase_aspect), log_hi = log(1.0 / (double)a->erase_aspect);
    for (int b = 0; b < count; b++)
        for (int attempt = 0; attempt < 10; attempt++) {
            double area = draws_uniform(d, a->erase_area[0], a->erase_area[1]) * (double)(h * w) / count;
            double aspect = exp(draws_uniform(d, log_lo, log_hi));
            int eh = pyround(sqrt(area * aspect)), ew = pyround(sqrt(area / aspect));
            if (ew < w && eh < h) {
                int box[4] = {0, 0, eh, ew};
                box[0] = draws_below(d, h - eh + 1);
                box[1] = draws_below(d, w - ew + 1);
                erase_box(a, x, w, c, box, fill);
                break;
            }
        }
}
