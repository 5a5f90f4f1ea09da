/* engine/io/image.c — JPEG (libjpeg-turbo) and PNG (libpng) decoding of image.h. */
#include "image.h"

#include <stdio.h>   // FILE (jpeglib.h needs it first), snprintf
#include <string.h>  // memcpy
#include <setjmp.h>  // setjmp, longjmp: libjpeg's errors come back here instead of exit()
#include <jpeglib.h> // jpeg_decompress_struct, jpeg_crop_scanline, jpeg_skip_scanlines
#include <jerror.h>  // JWRN_JPEG_EOF: the one warning that is an error
#include <png.h>     // png_struct: libpng's own API, no colour management

static bool is_jpeg(const uint8_t *b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
static bool is_png(const uint8_t *b, size_t n) { return n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8); }


static int pixels_ok(const ImgInfo *info, const char *name)
{
    if ((double)info->h * info->w <= IMG_MAX_PIXELS && info->h > 0 && info->w > 0) return 0;
    log_error("%s: %dx%d pixels (more than %d: a decompression bomb, as Pillow calls it, or a damaged header)", name,
              info->h, info->w, IMG_MAX_PIXELS);
    return ERR_FORMAT;
}

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

// truncated data is an error: libjpeg warns (JWRN_JPEG_EOF) and fills the rest with gray, where
// Pillow says "image file is truncated". Other warnings (extraneous bytes before a marker, an
// unknown JFIF revision ...) pass, as in Pillow, which reads such files. level -1 is a warning,
// >= 0 trace messages
static void jpeg_warn(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(cinfo);
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

// is want inside an h x w image? Else one line: the caller's idea of the size (a shard's index)
// disagrees with the file
static bool window_inside(ImgRect want, int h, int w, const char *name, int denom)
{
    if (want.y0 >= 0 && want.x0 >= 0 && want.h > 0 && want.w > 0 && want.y0 + want.h <= h && want.x0 + want.w <= w)
        return true;
    log_error("%s: rows %d+%d, columns %d+%d asked of an image of %dx%d at 1/%d (its index entry does not match "
              "the file?)", name, want.y0, want.h, want.x0, want.w, h, w, denom);
    return false;
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
    if (!window_inside(want, (int)cinfo.output_height, (int)cinfo.output_width, name, denom)) {
        jpeg_destroy_decompress(&cinfo);
        return ERR_FORMAT;
    }
    // libjpeg's window is not the full decode's at its edges when chroma is subsampled: fancy
    // upsampling interpolates chroma from the neighbouring samples, which a cropped or skipped
    // decode does not have (it replicates its own edge), and the first rows after
    // jpeg_skip_scanlines lack their upsampling context. A margin of one iMCU on each side (its
    // size at the scale: 8 or 16 pixels at full scale, 1 or 2 at 1/8), decoded and thrown away,
    // makes the wanted pixels exact.
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
// PNG: libpng's own API, transformed to 8-bit gray or RGB as Pillow's convert() gives them: a
// palette expanded, 1/2/4-bit gray scaled to 0..255, alpha and transparency dropped, 16-bit
// samples cut to their high byte (Pillow's "RGB;16B"; a 16-bit grayscale file is the one case
// where Pillow differs: its "I;16" image converts to L by clipping at 255), no gamma or colour
// management (Pillow applies none)

typedef struct {
    const uint8_t *p;
    size_t n, at;
    char msg[200];
} PngIo;

static void png_read_mem(png_structp png, png_bytep out, size_t len)
{
    PngIo *io = png_get_io_ptr(png);
    if (len > io->n - io->at) png_error(png, "truncated: the file ends inside a chunk");
    memcpy(out, io->p + io->at, len);
    io->at += len;
}

static void png_fail(png_structp png, png_const_charp msg)
{
    PngIo *io = png_get_error_ptr(png);
    snprintf(io->msg, sizeof io->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

// the decoder on buf with its header read and the transforms set; 0, or ERR_FORMAT with one line
#define PNG_OPEN(png, info, io, buf, n, name, on_fail)                                                \
    do {                                                                                              \
        (io) = (PngIo){(buf), (n), 0, ""};                                                            \
        (png) = png_create_read_struct(PNG_LIBPNG_VER_STRING, &(io), png_fail, png_warn);             \
        (info) = (png) ? png_create_info_struct(png) : NULL;                                          \
        CHECK((png) && (info), "libpng: cannot create a reader");                                     \
        if (setjmp(png_jmpbuf(png))) {                                                                \
            log_error("%s: not a readable PNG (%s)", name, (io).msg);                                 \
            png_destroy_read_struct(&(png), &(info), NULL);                                           \
            on_fail;                                                                                  \
            return ERR_FORMAT;                                                                        \
        }                                                                                             \
        png_set_read_fn((png), &(io), png_read_mem);                                                  \
        png_read_info((png), (info));                                                                 \
    } while (0)

static int png_decode(const uint8_t *buf, size_t n, const char *name, ImgRect want, int out_c, uint8_t *out)
{
    png_structp png;
    png_infop info;
    PngIo io;
    uint8_t *volatile all = NULL;   // volatile: freed after a longjmp from libpng
    png_bytep *volatile rows = NULL;
    PNG_OPEN(png, info, io, buf, n, name, (free((void *)all), free((void *)rows)));
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    int h = (int)png_get_image_height(png, info), w = (int)png_get_image_width(png, info);
    ImgInfo whole = {IMG_PNG, h, w, 3};
    if (pixels_ok(&whole, name)) {
        png_destroy_read_struct(&png, &info, NULL);
        return ERR_FORMAT;
    }
    if (depth == 16) png_set_strip_16(png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int inc = (int)png_get_channels(png, info);
    if (inc != 1 && inc != 3) png_error(png, "unexpected channel count after its transforms");
    if (!window_inside(want, h, w, name, 1)) {
        png_destroy_read_struct(&png, &info, NULL);
        return ERR_FORMAT;
    }
    size_t stride = (size_t)w * inc;
    all = xmalloc(stride * h);
    rows = xmalloc((size_t)h * sizeof *rows);
    for (int y = 0; y < h; y++) rows[y] = all + (size_t)y * stride;
    png_read_image(png, rows);
    for (int y = 0; y < want.h; y++)
        convert_row(out + (size_t)y * want.w * out_c, all + (size_t)(want.y0 + y) * stride + (size_t)want.x0 * inc,
                    want.w, inc, out_c);
    png_destroy_read_struct(&png, &info, NULL);
    free((void *)all);
    free((void *)rows);
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
        return pixels_ok(info, name);
    }
    if (is_png(buf, n)) {
        png_structp png;
        png_infop pinfo;
        PngIo io;
        PNG_OPEN(png, pinfo, io, buf, n, name, (void)0);
        int type = png_get_color_type(png, pinfo);
        *info = (ImgInfo){IMG_PNG, (int)png_get_image_height(png, pinfo), (int)png_get_image_width(png, pinfo),
                          (type & PNG_COLOR_MASK_COLOR) || type == PNG_COLOR_TYPE_PALETTE ? 3 : 1};
        png_destroy_read_struct(&png, &pinfo, NULL);
        return pixels_ok(info, name);
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
        if (denom != 1) { // a caller that took it for a JPEG: a shard entry that does not match its bytes
            log_error("%s: a PNG asked for at scale 1/%d (PNGs decode whole; is its index entry a JPEG's?)", name, denom);
            return ERR_FORMAT;
        }
        return png_decode(buf, n, name, want, out_c, out);
    }
    log_error("%s: %s", name, n == 0 ? "an empty file" : "neither a JPEG nor a PNG");
    return ERR_FORMAT;
}
