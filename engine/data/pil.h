/* engine/data/pil.h — Pillow's uint8 image kernels, written again so that augmentations produce
 * the pixels timm's PIL pipeline produces.
 *
 * timm (and torchvision on PIL images) does every training augmentation before ToTensor on 8-bit
 * PIL images, and each PIL operation rounds to uint8 in its own way: resampling accumulates in
 * 22-bit fixed point and runs a horizontal then a vertical pass with a uint8 image in between,
 * affine transforms truncate, ImageEnhance blends in float and truncates, the SMOOTH filter
 * rounds. "Close" would not be exact after two or three ops, so each function below follows one
 * Pillow 9.4 C routine (src/libImaging; the Python layer where it adds logic) in the same order
 * of operations, and tests/test_augment.c compares them with Pillow's output on fixed images
 * (tests/ref/gen_augment_fixtures.py). The file is compiled with -std=c11, which turns off
 * floating-point contraction, so the double and float expressions round as Pillow's do.
 *
 * Images are HWC interleaved uint8 with c = 1 (PIL mode "L") or 3 ("RGB"); PIL keeps RGB in four
 * bytes per pixel, which changes nothing in the per-band arithmetic reproduced here.
 */
#ifndef PIL_H
#define PIL_H

#include "../core/core.h"

typedef struct { uint8_t *px; int h, w, c; } Img; // px: (h, w, c), not owned

// resampling filters: PIL.Image.Resampling's BILINEAR and BICUBIC
typedef enum { PIL_BILINEAR, PIL_BICUBIC } PilFilter;

// Image.resize((out.w, out.h), filter) of the sub-image in rect (x0, y0, w, h) of `in`, cropped
// first (torchvision's resized_crop: crop, then resize the crop; taps never reach outside rect).
// Antialiased when shrinking (the filter widened by the scale), two passes through a uint8 image
// as ImagingResample does. tmp: rect.h * out.w * c bytes. filter: PIL_BILINEAR or PIL_BICUBIC.
void pil_resize(Img out, Img in, const int rect[4], PilFilter filter, uint8_t *tmp);
// Image.resize((out.w, out.h), filter, box=(x0, y0, x1, y1)) with a fractional box (floats, as
// Pillow takes it): taps may reach outside the box, up to in's edges. tmp: in.h * out.w * c bytes
void pil_resize_box(Img out, Img in, const float box[4], PilFilter filter, uint8_t *tmp);

// Image.transform(size, AFFINE, a, filter, fillcolor=fill): out (h, w, c) pixel (x, y) samples in
// at (a0 (x+.5) + a1 (y+.5) + a2, a3 (x+.5) + a4 (y+.5) + a5); outside in, fill[k] per channel.
// out and in have the same size and must not overlap.
void pil_affine(Img out, Img in, const double a[6], PilFilter filter, const uint8_t fill[4]);
// Image.rotate(degrees, filter, fillcolor=fill) without expand: about (w/2, h/2), counter-clockwise
// for positive degrees; the matrix rounded to 15 decimals as Pillow does
void pil_rotate(Img out, Img in, double degrees, PilFilter filter, const uint8_t fill[4]);

// the first image of a blend: a whole image px (h, w, c), a gray plane px (h, w) standing for
// every channel (plane true), or a solid value (px NULL)
typedef struct { const uint8_t *px; bool plane; int constant; } Degenerate;
// Image.blend(degenerate, img, alpha) into img: img = degenerate + alpha (img - degenerate) in
// float, truncated (clipped to 0..255 when alpha is outside [0, 1])
void pil_blend(Img img, Degenerate degenerate, float alpha);
// ImageEnhance.Color / Contrast / Brightness(img).enhance(factor), in place. tmp: h * w * c bytes
// (the degenerate image). Color of an "L" image is the identity. (Sharpness is pil_smooth's
// image as the degenerate one, which RandAugment blends itself: randaug.c.)
void pil_color(Img img, float factor, uint8_t *tmp);
void pil_contrast(Img img, float factor, uint8_t *tmp);
void pil_brightness(Img img, float factor);

// convert("L"): l (h, w) = (19595 R + 38470 G + 7471 B + 0x8000) >> 16; c = 1 copies
void pil_gray(uint8_t *l, Img img);
// img.point(lut) with one 256-entry table for every band
void pil_point(Img img, const uint8_t lut[256]);
// ImageOps.autocontrast(img) (cutoff 0) and ImageOps.equalize(img), per band, in place
void pil_autocontrast(Img img);
void pil_equalize(Img img);
// ImageFilter.SMOOTH ((1 1 1; 1 5 1; 1 1 1) / 13, the border copied): out (h, w, c); rounding: Pillow's
// + 0.5 before truncating (false: plain truncation, as TF's sharpness casts its smoothed image)
void pil_smooth(uint8_t *out, Img in, bool rounding);
// torchvision's adjust_hue on a PIL image: RGB -> PIL HSV, H += uint8(hue * 255) modulo 256,
// HSV -> RGB; hue in [-0.5, 0.5]. "L" images are returned unchanged.
void pil_hue(Img img, float hue);

#endif
