/* engine/data/pil.c — Pillow 9.4's uint8 kernels (pil.h), routine by routine.
 *
 * Sources followed: libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc, the 8bpc
 * passes, ImagingResampleInner), Geometry.c (affine_transform, bilinear_filter8/32RGB,
 * bicubic_filter8/32RGB, ImagingGenericTransform), Blend.c, Filter.c (ImagingFilter3x3),
 * Convert.c (L24, rgb2hsv_row, hsv2rgb), and the Python of Image.rotate, ImageEnhance,
 * ImageOps.autocontrast/equalize. Variable types are Pillow's: where it mixes float and double
 * (the HSV conversions), so does this file.
 */
#include "pil.h"

#include <math.h>   // ceil, floor, fmod, round, cos, sin
#include <stdio.h>  // snprintf (round to 15 decimals as Python's round does)
#include <string.h> // memcpy

// ---------------------------------------------------------------------------------------------
// resampling (Resample.c)

enum { PRECISION_BITS = 32 - 8 - 2 }; // 8-bit results, signed coefficients, headroom: Pillow's

static double bilinear_filter(double x)
{
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double bicubic_filter(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// precompute_coeffs over the box [in0, in1) of an axis of in_size pixels (taps clipped to the
// axis, not the box) and normalize_coeffs_8bpc: for output i, taps bounds[2i] .. bounds[2i] +
// bounds[2i+1] - 1 with fixed-point weights kk[i * ksize ..]; returns ksize. The caller frees
// *bounds and *kk.
static int resize_coeffs(int in_size, float in0, float in1, int out_size, PilFilter filter, int **bounds, int32_t **kk)
{
    double (*fn)(double) = filter == PIL_BICUBIC ? bicubic_filter : bilinear_filter;
    double scale = (double)(in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = (filter == PIL_BICUBIC ? 2.0 : 1.0) * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *pre = xmalloc((size_t)out_size * ksize * sizeof(double));
    *bounds = xmalloc((size_t)out_size * 2 * sizeof(int));
    *kk = xmalloc((size_t)out_size * ksize * sizeof(int32_t));
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = pre + (size_t)xx * ksize;
        int x = 0;
        for (; x < xmax; x++) {
            k[x] = fn((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        (*bounds)[xx * 2] = xmin;
        (*bounds)[xx * 2 + 1] = xmax;
    }
    for (size_t i = 0; i < (size_t)out_size * ksize; i++)
        (*kk)[i] = pre[i] < 0 ? (int32_t)(-0.5 + pre[i] * (1 << PRECISION_BITS))
                              : (int32_t)(0.5 + pre[i] * (1 << PRECISION_BITS));
    free(pre);
    return ksize;
}

static uint8_t clip8(int32_t ss)
{
    int v = ss >> PRECISION_BITS; // arithmetic shift, as Pillow's lookup table index
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

// ImagingResample of the in_w x in_h image at src (rows `stride` bytes apart) over box (x0, y0,
// x1, y1) to out; Pillow's passes: horizontal into tmp over the rows the vertical pass reads
static void resample(Img out, const uint8_t *src, size_t stride, int in_w, int in_h, const float box[4],
                     PilFilter filter, uint8_t *tmp)
{
    int c = out.c, *bv, *bh = NULL;
    int32_t *kv, *kh = NULL;
    bool need_h = out.w != in_w || box[0] != 0 || box[2] != (float)out.w;
    bool need_v = out.h != in_h || box[1] != 0 || box[3] != (float)out.h;
    int ksv = resize_coeffs(in_h, box[1], box[3], out.h, filter, &bv, &kv);
    int first = bv[0], last = bv[2 * out.h - 2] + bv[2 * out.h - 1];
    if (need_h) {
        int ksh = resize_coeffs(in_w, box[0], box[2], out.w, filter, &bh, &kh);
        int y_from = need_v ? first : 0, y_to = need_v ? last : out.h;
        for (int y = y_from; y < y_to; y++)
            for (int xx = 0; xx < out.w; xx++) {
                const int32_t *k = kh + (size_t)xx * ksh;
                const uint8_t *row = src + y * stride + (size_t)bh[2 * xx] * c;
                uint8_t *o = tmp + ((size_t)(y - y_from) * out.w + xx) * c;
                int n = bh[2 * xx + 1];
                if (c == 3) { // the bands together: one pass over the taps
                    int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                    for (int x = 0; x < n; x++) {
                        s0 += row[3 * x] * k[x];
                        s1 += row[3 * x + 1] * k[x];
                        s2 += row[3 * x + 2] * k[x];
                    }
                    o[0] = clip8(s0), o[1] = clip8(s1), o[2] = clip8(s2);
                    continue;
                }
                for (int b = 0; b < c; b++) {
                    int32_t ss = 1 << (PRECISION_BITS - 1);
                    for (int x = 0; x < n; x++) ss += row[(size_t)x * c + b] * k[x];
                    o[b] = clip8(ss);
                }
            }
        if (need_v)
            for (int i = 0; i < out.h; i++) bv[2 * i] -= first;
        src = tmp;
        stride = (size_t)out.w * c;
    }
    if (need_v) { // a row of sums at a time, each tap's row added whole (vectorizes; integer sums
                  // are exact in any order, so the pixels are Pillow's)
        int wc = out.w * c;
        int32_t *acc = xmalloc((size_t)wc * sizeof(int32_t));
        for (int yy = 0; yy < out.h; yy++) {
            const int32_t *k = kv + (size_t)yy * ksv;
            for (int i = 0; i < wc; i++) acc[i] = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < bv[2 * yy + 1]; y++) {
                const uint8_t *row = src + (size_t)(y + bv[2 * yy]) * stride;
                int32_t ky = k[y];
                for (int i = 0; i < wc; i++) acc[i] += row[i] * ky;
            }
            uint8_t *o = out.px + (size_t)yy * wc;
            for (int i = 0; i < wc; i++) o[i] = clip8(acc[i]);
        }
        free(acc);
    } else {
        for (int y = 0; y < out.h; y++) memcpy(out.px + (size_t)y * out.w * c, src + y * stride, (size_t)out.w * c);
    }
    free(bv);
    free(kv);
    free(bh);
    free(kh);
}

void pil_resize(Img out, Img in, const int rect[4], PilFilter filter, uint8_t *tmp)
{
    int x0 = rect[0], y0 = rect[1], cw = rect[2], ch = rect[3], c = in.c;
    CHECK(x0 >= 0 && y0 >= 0 && cw > 0 && ch > 0 && x0 + cw <= in.w && y0 + ch <= in.h && out.c == c &&
          out.h > 0 && out.w > 0,
          "pil_resize: rect (%d,%d,%d,%d) of %dx%d -> %dx%d, filter %d", x0, y0, cw, ch, in.w, in.h, out.w,
          out.h, (int)filter);
    resample(out, in.px + ((size_t)y0 * in.w + x0) * c, (size_t)in.w * c, cw, ch,
             (const float[4]){0, 0, (float)cw, (float)ch}, filter, tmp);
}

void pil_resize_box(Img out, Img in, const float box[4], PilFilter filter, uint8_t *tmp)
{
    CHECK(box[0] >= 0 && box[1] >= 0 && box[2] > box[0] && box[3] > box[1] && box[2] <= (float)in.w &&
              box[3] <= (float)in.h && out.c == in.c && out.h > 0 && out.w > 0,
          "pil_resize_box: box (%g,%g,%g,%g) of %dx%d -> %dx%d", box[0], box[1], box[2], box[3], in.w, in.h,
          out.w, out.h);
    resample(out, in.px, (size_t)in.w * in.c, in.w, in.h, box, filter, tmp);
}

// ---------------------------------------------------------------------------------------------
// affine transforms (Geometry.c)

#define FLOOR(v) ((v) < 0.0 ? (int)floor(v) : (int)(v))

static int xclip(int x, int n) { return x < 0 ? 0 : x < n ? x : n - 1; }

static double bicubic(double v1, double v2, double v3, double v4, double d)
{
    double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
    return p1 + d * (p2 + d * (p3 + d * p4));
}

// bilinear_filter32RGB / bicubic_filter32RGB (and the 8-bit versions, the same per band) at
// (xin, yin); false when outside the image (the pixel keeps its fill)
static bool sample(uint8_t *out, Img im, double xin, double yin, PilFilter filter)
{
    if (xin < 0.0 || xin >= im.w || yin < 0.0 || yin >= im.h) return false;
    xin -= 0.5;
    yin -= 0.5;
    int x = FLOOR(xin), y = FLOOR(yin);
    double dx = xin - x, dy = yin - y;
    for (int b = 0; b < im.c; b++) {
#define PX(yy, xx) ((double)im.px[((size_t)(yy) * im.w + xclip(xx, im.w)) * im.c + b])
        double v1, v2, v3, v4;
        if (filter == PIL_BILINEAR) {
            int r = xclip(y, im.h);
            v1 = PX(r, x) + (PX(r, x + 1) - PX(r, x)) * dx;
            v2 = y + 1 >= 0 && y + 1 < im.h ? PX(y + 1, x) + (PX(y + 1, x + 1) - PX(y + 1, x)) * dx : v1;
            out[b] = (uint8_t)(v1 + (v2 - v1) * dy);
            continue;
        }
        int xx = x - 1, r = y - 1;
#define ROW(yy) bicubic(PX(yy, xx), PX(yy, xx + 1), PX(yy, xx + 2), PX(yy, xx + 3), dx)
        v1 = ROW(xclip(r, im.h));
        v2 = r + 1 >= 0 && r + 1 < im.h ? ROW(r + 1) : v1;
        v3 = r + 2 >= 0 && r + 2 < im.h ? ROW(r + 2) : v2;
        v4 = r + 3 >= 0 && r + 3 < im.h ? ROW(r + 3) : v3;
#undef ROW
#undef PX
        double v = bicubic(v1, v2, v3, v4, dy);
        out[b] = v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)v;
    }
    return true;
}

void pil_affine(Img out, Img in, const double a[6], PilFilter filter, const uint8_t fill[4])
{
    CHECK(out.h == in.h && out.w == in.w && out.c == in.c && out.px != in.px,
          "pil_affine: %dx%dx%d -> %dx%dx%d, filter %d", in.h, in.w, in.c, out.h, out.w, out.c, (int)filter);
    for (int y = 0; y < out.h; y++)
        for (int x = 0; x < out.w; x++) {
            double xin = x + 0.5, yin = y + 0.5;
            uint8_t *o = out.px + ((size_t)y * out.w + x) * out.c;
            if (!sample(o, in, a[0] * xin + a[1] * yin + a[2], a[3] * xin + a[4] * yin + a[5], filter))
                memcpy(o, fill, (size_t)out.c);
        }
}

// Python's round(x, 15): correctly rounded to 15 decimals, as printf and strtod also round
static double round15(double x)
{
    char s[64];
    snprintf(s, sizeof s, "%.15f", x);
    return strtod(s, NULL);
}

void pil_rotate(Img out, Img in, double degrees, PilFilter filter, const uint8_t fill[4])
{
    double angle = fmod(degrees, 360.0); // Python's %: the sign of the divisor
    if (angle < 0) angle += 360.0;
    if (angle == 0) {
        memcpy(out.px, in.px, (size_t)in.h * in.w * in.c);
        return;
    }
    const double deg_to_rad = M_PI / 180.0; // math.radians multiplies by this constant
    double t = -(angle * deg_to_rad), cx = in.w / 2.0, cy = in.h / 2.0;
    double m[6] = {round15(cos(t)), round15(sin(t)), 0.0, round15(-sin(t)), round15(cos(t)), 0.0};
    m[2] = m[0] * -cx + m[1] * -cy + 0.0 + cx;
    m[5] = m[3] * -cx + m[4] * -cy + 0.0 + cy;
    pil_affine(out, in, m, filter, fill);
}

// ---------------------------------------------------------------------------------------------
// blending and ImageEnhance (Blend.c, ImageEnhance.py)

void pil_blend(Img img, Degenerate degenerate, float alpha)
{
    size_t n = (size_t)img.h * img.w * img.c;
    if (alpha == 1.0) return; // Pillow copies the second image (alpha 0: the first, below)
    bool inside = alpha >= 0 && alpha <= 1.0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = degenerate.px;
        int a = !d ? degenerate.constant : degenerate.plane ? d[i / img.c] : d[i], b = img.px[i];
        float t = (float)(a + alpha * (b - a));
        img.px[i] = alpha == 0.0 ? (uint8_t)a : inside ? (uint8_t)t : t <= 0.0 ? 0 : t >= 255.0 ? 255 : (uint8_t)t;
    }
}

void pil_gray(uint8_t *l, Img img)
{
    for (size_t i = 0; i < (size_t)img.h * img.w; i++) {
        const uint8_t *p = img.px + i * img.c;
        l[i] = img.c == 1 ? p[0] : (uint8_t)((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
    }
}

void pil_color(Img img, float factor, uint8_t *tmp)
{
    if (img.c == 1) return; // convert("L").convert("L") is the image: the blend changes nothing
    pil_gray(tmp, img);
    pil_blend(img, (Degenerate){tmp, true, 0}, factor);
}

void pil_contrast(Img img, float factor, uint8_t *tmp)
{
    size_t n = (size_t)img.h * img.w;
    uint64_t sum = 0;
    pil_gray(tmp, img);
    for (size_t i = 0; i < n; i++) sum += tmp[i];
    int mean = (int)((double)sum / (double)n + 0.5); // ImageStat's mean of the "L" histogram
    pil_blend(img, (Degenerate){NULL, false, mean}, factor);
}

void pil_brightness(Img img, float factor) { pil_blend(img, (Degenerate){NULL, false, 0}, factor); }

// ---------------------------------------------------------------------------------------------
// point operations and histograms (ImageOps.py)

void pil_point(Img img, const uint8_t lut[256])
{
    for (size_t i = 0; i < (size_t)img.h * img.w * img.c; i++) img.px[i] = lut[img.px[i]];
}

// the per-band tables of autocontrast (equalize false) or equalize, then applied
static void histogram_lut(Img img, bool equalize)
{
    for (int b = 0; b < img.c; b++) {
        long h[256] = {0};
        uint8_t lut[256];
        for (size_t i = 0; i < (size_t)img.h * img.w; i++) h[img.px[i * img.c + b]]++;
        for (int i = 0; i < 256; i++) lut[i] = (uint8_t)i;
        int lo = 0, hi = 255;
        while (lo < 256 && !h[lo]) lo++;
        while (hi >= 0 && !h[hi]) hi--;
        if (!equalize && hi > lo) {
            double scale = 255.0 / (hi - lo), offset = -lo * scale;
            for (int i = 0; i < 256; i++) {
                int v = (int)(i * scale + offset);
                lut[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        } else if (equalize && hi > lo) { // at least two values present
            long total = 0;
            for (int i = 0; i < 256; i++) total += h[i];
            long step = (total - h[hi]) / 255, n = step / 2;
            for (int i = 0; i < 256 && step; i++) {
                lut[i] = (uint8_t)(n / step);
                n += h[i];
            }
        }
        for (size_t i = 0; i < (size_t)img.h * img.w; i++) img.px[i * img.c + b] = lut[img.px[i * img.c + b]];
    }
}

void pil_autocontrast(Img img) { histogram_lut(img, false); }
void pil_equalize(Img img) { histogram_lut(img, true); }

// ---------------------------------------------------------------------------------------------
// the SMOOTH filter (Filter.c: ImagingFilter3x3, rows y+1, y, y-1 as Pillow sums them)

void pil_smooth(uint8_t *out, Img in, bool rounding)
{
    size_t row = (size_t)in.w * in.c;
    memcpy(out, in.px, row * in.h);
    if (in.w < 3 || in.h < 3) return; // ImagingFilter copies images smaller than the kernel
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f, offset = rounding ? 0.0f + 0.5f : 0.0f;
    for (int y = 1; y < in.h - 1; y++)
        for (int x = 1; x < in.w - 1; x++)
            for (int b = 0; b < in.c; b++) {
                const uint8_t *p = in.px + (size_t)y * row + (size_t)x * in.c + b;
                const uint8_t *up = p + row, *dn = p - row;
                int d = in.c;
                float ss = offset;
                ss += (float)up[-d] * k1 + (float)up[0] * k1 + (float)up[d] * k1;
                ss += (float)p[-d] * k1 + (float)p[0] * k5 + (float)p[d] * k1;
                ss += (float)dn[-d] * k1 + (float)dn[0] * k1 + (float)dn[d] * k1;
                out[p - in.px] = ss <= 0.0 ? 0 : ss >= 255.0 ? 255 : (uint8_t)ss;
            }
}

// ---------------------------------------------------------------------------------------------
// hue (Convert.c's rgb2hsv_row and hsv2rgb, torchvision's adjust_hue)

static int clip8i(int v) { return v <= 0 ? 0 : v < 256 ? v : 255; }

static void rgb_to_hsv(uint8_t hsv[3], const uint8_t *in)
{
    uint8_t r = in[0], g = in[1], b = in[2];
    uint8_t maxc = MAX(r, MAX(g, b)), minc = MIN(r, MIN(g, b));
    hsv[0] = hsv[1] = 0;
    hsv[2] = maxc;
    if (minc == maxc) return;
    float h, cr = (float)(maxc - minc), s = cr / (float)maxc;
    float rc = ((float)(maxc - r)) / cr, gc = ((float)(maxc - g)) / cr, bc = ((float)(maxc - b)) / cr;
    if (r == maxc) h = bc - gc;
    else if (g == maxc) h = 2.0 + rc - bc;
    else h = 4.0 + gc - rc;
    h = fmod((h / 6.0 + 1.0), 1.0);
    hsv[0] = (uint8_t)clip8i((int)(h * 255.0));
    hsv[1] = (uint8_t)clip8i((int)(s * 255.0));
}

static void hsv_to_rgb(uint8_t *out, const uint8_t hsv[3])
{
    uint8_t h = hsv[0], s = hsv[1], v = hsv[2];
    if (s == 0) {
        out[0] = out[1] = out[2] = v;
        return;
    }
    int i = (int)floor((float)h * 6.0 / 255.0);
    float f = (float)h * 6.0 / 255.0 - (float)i, fs = ((float)s) / 255.0;
    uint8_t p = (uint8_t)clip8i((int)round((float)v * (1.0 - fs)));
    uint8_t q = (uint8_t)clip8i((int)round((float)v * (1.0 - fs * f)));
    uint8_t t = (uint8_t)clip8i((int)round((float)v * (1.0 - fs * (1.0 - f))));
    const uint8_t rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    memcpy(out, rgb[i % 6], 3);
}

void pil_hue(Img img, float hue)
{
    if (img.c == 1) return;
    uint8_t shift = (uint8_t)(int)(hue * 255.0); // np.uint8 of the truncated value, modulo 256
    for (size_t i = 0; i < (size_t)img.h * img.w; i++) {
        uint8_t hsv[3];
        rgb_to_hsv(hsv, img.px + i * 3);
        hsv[0] = (uint8_t)(hsv[0] + shift);
        hsv_to_rgb(img.px + i * 3, hsv);
    }
}
