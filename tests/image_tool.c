/* tests/image_tool.c — the engine's image decoding and transforms on one file, for
 * tests/test_image.py to hold against Pillow, torchvision and timm:
 *   image_tool probe FILE                                  prints "format h w c"
 *   image_tool decode FILE OUT C DENOM [Y0 X0 H W]         the window (scaled coordinates; default
 *                                                          the whole scaled image) as raw uint8
 *   image_tool crop FILE OUT Y X H W OH OW FILTER          RandomResizedCrop's pixels of that box
 *                                                          (augment_crop_encoded), raw uint8 RGB;
 *                                                          prints "oh ow 3 denom"
 *   image_tool eval FILE OUT RES CROP_PCT FILTER           timm's eval transform (augment_eval_encoded),
 *                                                          float32 RGB on [0, 1] (mean 0, std 1)
 * FILTER: bilinear or bicubic.
 * Exit 0, or 1 with the decoder's one-line error (2: usage).
 */
#include <stdio.h>  // fopen
#include <stdlib.h> // atoi
#include <string.h> // strcmp

#include "data/augment.h"
#include "io/image.h"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = xmalloc((size_t)(len > 0 ? len : 1));
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: image_tool probe FILE | decode FILE OUT C DENOM [Y0 X0 H W] | crop FILE OUT Y X H W "
                        "OH OW FILTER | eval FILE OUT RES CROP_PCT FILTER\n");
        return 2;
    }
    size_t n = 0;
    uint8_t *buf = slurp(argv[2], &n);
    if (!buf) {
        fprintf(stderr, "image_tool: cannot read %s\n", argv[2]);
        return 1;
    }
    ImgInfo info;
    if (img_probe(buf, n, argv[2], &info)) return 1;
    if (!strcmp(argv[1], "probe")) {
        printf("%s %d %d %d\n", info.format == IMG_JPEG ? "jpeg" : "png", info.h, info.w, info.c);
        return 0;
    }
    if (!strcmp(argv[1], "crop") && argc == 11) {
        int box[4] = {atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7])}, oh = atoi(argv[8]), ow = atoi(argv[9]);
        PilFilter f = strcmp(argv[10], "bicubic") ? PIL_BILINEAR : PIL_BICUBIC;
        Img out = {xmalloc((size_t)oh * ow * 3), oh, ow, 3};
        AugScratch *s = augment_scratch_new();
        if (augment_crop_encoded(out, buf, n, argv[2], &info, box, f, s)) return 1;
        FILE *fo = fopen(argv[3], "wb");
        if (!fo || fwrite(out.px, 1, (size_t)oh * ow * 3, fo) != (size_t)oh * ow * 3) return 1;
        fclose(fo);
        printf("%d %d 3 %d\n", oh, ow, augment_dct_denom(box[2], box[3], oh, ow, img_max_denom(&info)));
        return 0;
    }
    if (!strcmp(argv[1], "eval") && argc == 7) {
        int res = atoi(argv[4]);
        AugArgs a = {0};
        a.std[0] = a.std[1] = a.std[2] = 1;
        a.crop_pct = (float)atof(argv[5]);
        a.interpolation = strcmp(argv[6], "bicubic") ? INTERP_BILINEAR : INTERP_BICUBIC;
        if (augment_resolve(&a)) return 1;
        float *out = xmalloc((size_t)res * res * 3 * sizeof(float));
        AugScratch *s = augment_scratch_new();
        if (augment_eval_encoded(&a, out, res, res, 3, buf, n, argv[2], &info, s)) return 1;
        FILE *fo = fopen(argv[3], "wb");
        if (!fo || fwrite(out, sizeof(float), (size_t)res * res * 3, fo) != (size_t)res * res * 3) return 1;
        fclose(fo);
        printf("%d %d 3\n", res, res);
        return 0;
    }
    if (strcmp(argv[1], "decode") || argc < 6) return 2;
    int c = atoi(argv[4]), denom = atoi(argv[5]), sh, sw;
    img_scaled_size(&info, denom, &sh, &sw);
    ImgRect r = {0, 0, sh, sw};
    if (argc >= 10) r = (ImgRect){atoi(argv[6]), atoi(argv[7]), atoi(argv[8]), atoi(argv[9])};
    size_t cap = (size_t)r.h * r.w * c;
    uint8_t *out = xmalloc(cap);
    if (img_decode(buf, n, argv[2], denom, r, c, out, cap)) return 1;
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(out, 1, cap, f) != cap) return 1;
    fclose(f);
    printf("%d %d %d\n", r.h, r.w, c);
    free(out);
    free(buf);
    return 0;
}
