/* engine/io/image.h — encoded images (JPEG, PNG) to uint8 pixels: the file formats of photograph
 * data sets (ImageNet's folders, Imagenette, CIFAR-10 as JPEG), read by data/'s folder data sets.
 *
 * JPEG through libjpeg-turbo with the library's defaults — the settings Pillow uses (islow DCT,
 * fancy upsampling), so a full-scale decode equals PIL's Image.open(f).convert(mode) bit for
 * bit — and two of its shortcuts for training crops, as FFCV and DALI use them:
 *   - a DCT scale 1/2, 1/4 or 1/8 decodes an image at that fraction of its size for about that
 *     fraction of the work (the caller picks the smallest that still covers its output);
 *   - only the rows and columns of a window are decoded (jpeg_skip_scanlines, jpeg_crop_scanline).
 * PNG (a "PNG named .JPEG" in ImageNet) through libpng, whole. Output is HWC uint8 with 1 channel
 * (PIL's "L") or 3 ("RGB"): a grayscale file becomes RGB by copying its plane, RGB becomes L by
 * PIL's ITU-R 601 weights, CMYK JPEGs (Adobe's inverted CMYK, as Photoshop writes them) become RGB
 * as Pillow converts them. A file that does not decode — truncated data included, which libjpeg
 * would otherwise fill with gray — is an error with one line naming it and what is wrong; libjpeg's
 * other warnings (extraneous bytes, unknown markers) pass, as they do in Pillow. PNGs are
 * transformed as Pillow converts them (image.c: palette, low bit depths, 16 bits, alpha dropped,
 * no gamma).
 */
#ifndef IMAGE_H
#define IMAGE_H

#include "../core/core.h"

typedef enum { IMG_JPEG = 0, IMG_PNG = 1 } ImgFormat;

// Pillow's decompression-bomb limit: it refuses an image of more than 2 x 89,478,485 pixels, and
// so does every function here (a damaged header could otherwise ask for gigabytes)
enum { IMG_MAX_PIXELS = 178956970 };

typedef struct {
    ImgFormat format;
    int       h, w;    // full size
    int       c;       // channels in the file: 1 gray, 3 color, 4 CMYK (JPEG)
} ImgInfo;

// a rectangle of rows y0 .. y0+h-1 and columns x0 .. x0+w-1
typedef struct { int y0, x0, h, w; } ImgRect;

// the format and size of an encoded image (header only); 0, or ERR_FORMAT with one line naming
// `name` (neither JPEG nor PNG by its first bytes, an empty or malformed header, more than
// IMG_MAX_PIXELS pixels)
int  img_probe(const uint8_t *buf, size_t n, const char *name, ImgInfo *info);
// decodes the rows and columns `want` of the image scaled by 1/denom (JPEG's DCT scaling: denom 1,
// 2, 4 or 8, the scaled size ceil(h / denom) x ceil(w / denom), img_scaled_size; PNG: 1 only,
// img_max_denom) into out ((want.h, want.w, out_c) uint8, cap bytes), out_c 1 or 3. want must lie
// inside the scaled image (else ERR_FORMAT: the caller's size, a shard index's, is not the
// file's). 0, or ERR_FORMAT with one line
int  img_decode(const uint8_t *buf, size_t n, const char *name, int denom, ImgRect want, int out_c, uint8_t *out,
                size_t cap);
// the scaled size of an image at 1/denom (what img_decode's want is within)
void img_scaled_size(const ImgInfo *info, int denom, int *h, int *w);
// the largest denom img_decode takes for the format: 8 (JPEG), 1 (PNG)
int  img_max_denom(const ImgInfo *info);

#endif
