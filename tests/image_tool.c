/* tests/image_tool.c — the engine's image decoding and transforms on one file, for
 * tests/test_image.py to hold against Pillow, torchvision and timm:
 *   image_tool probe FILE                                  prints "format h w c"
 *   image_tool decode FILE OUT C DENOM [Y0 X0 H W]         the window (scaled coordinates; default
 *                                                          the whole scaled image) as raw uint8
 * Exit 0, or 1 with the decoder's one-line error (2: usage).
 */
#include <stdio.h>  // fopen
#include <stdlib.h> // atoi
#include <string.h> // strcmp

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
        fprintf(stderr, "usage: image_tool probe FILE | decode FILE OUT C DENOM [Y0 X0 H W]\n");
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
