/* engine/io/image.c — JPEG (libjpeg-turbo) and PNG (libpng) decoding of image.h. */
#include "image.h"

#include <stdio.h>   // FILE (jpeglib.h needs it first), snprintf
#include <string.h>  // memcpy
#include <setjmp.h>  // setjmp, longjmp: libjpeg's errors come back here instead of exit()
#include <jpeglib.h> // jpeg_decompress_struct, jpeg_crop_scanline, jpeg_skip_scanlines
#include <png.h>     // png_image: the simplified API

static bool is_jpeg(const uint8_t *b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
static bool is_png(const uint8_t *b, size_t n) { return n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8); }

// ---------------------------------------------------------------------------------------------
// JPEG

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_fail(j_common_ptr cinfo)
{
    JpegErr *e = (JpegErr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

// a warning is an error: libjpeg warns and fills the rest with gray on truncated data (Pillow
// says "image file is truncated" there); level -1 is a warning, >= 0 trace messages
static void jpeg_warn(j_common_ptr cinfo, int level)
{
    if (level < 0) jpeg_fail(cinfo);
}

// the decompressor on buf with its header read; 0, or ERR_FORMAT with one line (then destroyed)
#define JPEG_OPEN(cinfo, err, buf, n, name, on_fail)                                                  \
    do {                                                                                              \
        (cinfo).err = jpeg_std_error(&(err).pub);                                                     \
        (err).pub.error_exit = jpeg_fail;                                                             \
        (err).pub.emit_message = jpeg_warn;                                                           \
        (err).msg[0] = 0;                                                                             \
        if (setjmp((err).jump)) {                                                                     \
            log_error("%s: not a readable JPEG (%s)", name, (err).msg);                               \
            jpeg_destroy_decompress(&(cinfo));                                                        \
            on_fail;                                                                                  \
            return ERR_FORMAT;                                                                        \
        }                                                                                             \
        jpeg_create_decompress(&(cinfo));                                                             \
        jpeg_mem_src(&(cinfo), (buf), (unsigned long)(n));                                            \
        jpeg_read_header(&(cinfo), TRUE);                                                             \
    } while (0)

// Pillow's CMYK -> RGB of a CMYK JPEG: it reads every one as Adobe's inverted CMYK ("CMYK;I":
// libjpeg's values are 255 - C ...), then cmyk2rgb: with nk = 255 - K, R = nk - MULDIV255(C, nk),
// MULDIV255(a, b) = ((a*b + 128) + ((a*b + 128) >> 8)) >> 8
static int muldiv255(int a, int b)
{
    int t = a * b + 128;
    return (t + (t >> 8)) >> 8;
}

static uint8_t cmyk_channel(int raw_c, int raw_k)
{
    int nk = raw_k, v = nk - muldiv255(255 - raw_c, nk); // K = 255 - raw_k, C = 255 - raw_c
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

// one decoded row of `inc` channels (w pixels; 4: CMYK) into out_c channels
static void convert_row(uint8_t *out, const uint8_t *in, int w, int inc, int out_c)
{
    if (inc == out_c) { // RGB to RGB, L to L: as decoded
        memcpy(out, in, (size_t)w * inc);
        return;
    }
    if (inc == 1) { // L to RGB
        for (int x = 0; x < w; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
        return;
    }
    for (int x = 0; x < w; x++) {
        const uint8_t *p = in + (size_t)x * inc;
        uint8_t r, g, b;
        if (inc == 1) r = g = b = p[0];
        else if (inc == 3) r = p[0], g = p[1], b = p[2];
        else r = cmyk_channel(p[0], p[3]), g = cmyk_channel(p[1], p[3]), b = cmyk_channel(p[2], p[3]);
        if (out_c == 3) out[3 * x] = r, out[3 * x + 1] = g, out[3 * x + 2] = b;
        else if (inc == 1) out[x] = r;
        else out[x] = (uint8_t)((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16); // Pillow's L of RGB
    }
}

static int jpeg_decode(const uint8_t *buf, size_t n, const char *name, int denom, ImgRect want, int out_c,
                       uint8_t *out)
{
    struct jpeg_decompress_struct cinfo;
    JpegErr err;
    uint8_t *volatile row = NULL; // volatile: freed after a longjmp from libjpeg
    JPEG_OPEN(cinfo, err, buf, n, name, free((void *)row));
    int inc = cinfo.num_components == 4 ? 4 : cinfo.num_components == 1 ? 1 : 3;
    cinfo.out_color_space = inc == 4 ? JCS_CMYK : inc == 1 ? JCS_GRAYSCALE : JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned)denom;
    jpeg_start_decompress(&cinfo);
    CHECK(want.y0 >= 0 && want.x0 >= 0 && want.h > 0 && want.w > 0 && want.y0 + want.h <= (int)cinfo.output_height &&
              want.x0 + want.w <= (int)cinfo.output_width,
          "img_decode: %s: rows %d+%d, columns %d+%d outside its %ux%u at 1/%d", name, want.y0, want.h, want.x0,
          want.w, cinfo.output_height, cinfo.output_width, denom);
    // libjpeg's window is not the full decode's at its edges when chroma is subsampled: fancy
    // upsampling interpolates chroma from the neighbouring samples, which a cropped or skipped
    // decode does not have (it replicates its own edge), and the first rows after
    // jpeg_skip_scanlines lack their upsampling context. A margin of one iMCU (8 to 16 pixels at
    // the scale) on each side, decoded and thrown away, makes the wanted pixels exact.
    int mx = (int)(cinfo.max_h_samp_factor * (unsigned)cinfo.min_DCT_scaled_size);
    int my = (int)(cinfo.max_v_samp_factor * (unsigned)cinfo.min_DCT_scaled_size);
    int y0 = want.y0 - my < 0 ? 0 : want.y0 - my;
    int x0 = want.x0 - mx < 0 ? 0 : want.x0 - mx;
    int x1 = want.x0 + want.w + mx > (int)cinfo.output_width ? (int)cinfo.output_width : want.x0 + want.w + mx;
    // the columns: libjpeg widens the window to whole iMCUs; `skip` of them come first
    JDIMENSION xoff = (JDIMENSION)x0, width = (JDIMENSION)(x1 - x0);
    if (x0 > 0 || x1 < (int)cinfo.output_width) jpeg_crop_scanline(&cinfo, &xoff, &width);
    int skip = want.x0 - (int)xoff;
    row = xmalloc((size_t)width * inc);
    if (y0 > 0) jpeg_skip_scanlines(&cinfo, (JDIMENSION)y0);
    for (int y = y0; y < want.y0 + want.h; y++) {
        JSAMPROW rp = row;
        jpeg_read_scanlines(&cinfo, &rp, 1);
        if (y >= want.y0)
            convert_row(out + (size_t)(y - want.y0) * want.w * out_c, row + (size_t)skip * inc, want.w, inc, out_c);
    }
    // the rest of the file is not decoded: stop here (jpeg_finish_decompress would insist on
    // reading every remaining scanline)
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free((void *)row);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// PNG: whole, through libpng's simplified API as 8-bit RGBA (gray expanded, palette resolved),
// the alpha dropped as Pillow's convert("RGB") drops it

static int png_decode(const uint8_t *buf, size_t n, const char *name, ImgRect want, int out_c, uint8_t *out)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, buf, n)) {
        log_error("%s: not a readable PNG (%s)", name, im.message);
        return ERR_FORMAT;
    }
    im.format = PNG_FORMAT_RGBA;
    size_t stride = (size_t)im.width * 4;
    uint8_t *all = xmalloc(stride * im.height);
    if (!png_image_finish_read(&im, NULL, all, (png_int_32)stride, NULL)) {
        log_error("%s: not a readable PNG (%s)", name, im.message);
        png_image_free(&im);
        free(all);
        return ERR_FORMAT;
    }
    CHECK(want.y0 >= 0 && want.x0 >= 0 && want.h > 0 && want.w > 0 && want.y0 + want.h <= (int)im.height &&
              want.x0 + want.w <= (int)im.width,
          "img_decode: %s: rows %d+%d, columns %d+%d outside its %ux%u", name, want.y0, want.h, want.x0, want.w,
          im.height, im.width);
    for (int y = 0; y < want.h; y++) {
        uint8_t *o = out + (size_t)y * want.w * out_c;
        const uint8_t *p = all + (size_t)(want.y0 + y) * stride + (size_t)want.x0 * 4;
        for (int x = 0; x < want.w; x++) { // RGBA -> RGB, then as a 3-channel row
            uint8_t rgb[3] = {p[4 * x], p[4 * x + 1], p[4 * x + 2]};
            convert_row(o + (size_t)x * out_c, rgb, 1, 3, out_c);
        }
    }
    free(all);
    return 0;
}

// ---------------------------------------------------------------------------------------------

int img_probe(const uint8_t *buf, size_t n, const char *name, ImgInfo *info)
{
    memset(info, 0, sizeof *info);
    if (is_jpeg(buf, n)) {
        struct jpeg_decompress_struct cinfo;
        JpegErr err;
        JPEG_OPEN(cinfo, err, buf, n, name, (void)0);
        int c = cinfo.num_components;
        *info = (ImgInfo){IMG_JPEG, (int)cinfo.image_height, (int)cinfo.image_width, c};
        jpeg_destroy_decompress(&cinfo);
        if (c != 1 && c != 3 && c != 4) {
            log_error("%s: a JPEG of %d color components (1 gray, 3 color or 4 CMYK are read)", name, c);
            return ERR_FORMAT;
        }
        return 0;
    }
    if (is_png(buf, n)) {
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        if (!png_image_begin_read_from_memory(&im, buf, n)) {
            log_error("%s: not a readable PNG (%s)", name, im.message);
            return ERR_FORMAT;
        }
        *info = (ImgInfo){IMG_PNG, (int)im.height, (int)im.width, (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1};
        png_image_free(&im);
        return 0;
    }
    log_error("%s: %s (a JPEG starts with FF D8 FF, a PNG with 89 50 4E 47)", name,
              n == 0 ? "an empty file" : "neither a JPEG nor a PNG");
    return ERR_FORMAT;
}

void img_scaled_size(const ImgInfo *info, int denom, int *h, int *w)
{
    *h = (info->h + denom - 1) / denom;
    *w = (info->w + denom - 1) / denom;
}

int img_max_denom(const ImgInfo *info) { return info->format == IMG_JPEG ? 8 : 1; }

int img_decode(const uint8_t *buf, size_t n, const char *name, int denom, ImgRect want, int out_c, uint8_t *out,
               size_t cap)
{
    CHECK(out_c == 1 || out_c == 3, "img_decode: %s: %d output channels (1 or 3)", name, out_c);
    CHECK((size_t)want.h * want.w * out_c <= cap, "img_decode: %s: %dx%dx%d pixels for a buffer of %zu bytes", name,
          want.h, want.w, out_c, cap);
    CHECK(denom == 1 || denom == 2 || denom == 4 || denom == 8, "img_decode: %s: scale 1/%d (1, 2, 4, 8)", name, denom);
    if (is_jpeg(buf, n)) return jpeg_decode(buf, n, name, denom, want, out_c, out);
    if (is_png(buf, n)) {
        CHECK(denom == 1, "img_decode: %s: a PNG decodes at full size only (img_max_denom)", name);
        return png_decode(buf, n, name, want, out_c, out);
    }
    log_error("%s: %s", name, n == 0 ? "an empty file" : "neither a JPEG nor a PNG");
    return ERR_FORMAT;
}
