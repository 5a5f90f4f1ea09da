/* tests/test_data.c — the IDX reader on files the test writes: a valid pair (gzip and plain),
 * and every kind of malformed file, each of which must fail with ERR_FORMAT or ERR_IO and leave
 * nothing allocated. The real Fashion-MNIST is checked when its Debian package is installed.
 */
#include <criterion/criterion.h>
#include <stdio.h>  // fopen
#include <unistd.h> // unlink
#include <zlib.h>   // gzopen

#include "data/idx.h"

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v;
}

// writes an IDX file: magic, dims, then `bytes` data bytes of value i % 7, optionally gzipped
static void write_idx(const char *path, uint32_t magic, int ndim, const uint32_t *dims,
                      size_t bytes, bool gz)
{
    uint8_t head[16];
    put32(head, magic);
    for (int i = 0; i < ndim; i++) put32(head + 4 * (i + 1), dims[i]);
    uint8_t *data = malloc(bytes + 1);
    for (size_t i = 0; i < bytes; i++) data[i] = (uint8_t)(i % 7);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, head, 4 * (1 + ndim));
        if (bytes) gzwrite(f, data, (unsigned)bytes);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(head, 1, 4 * (1 + ndim), f);
        fwrite(data, 1, bytes, f);
        fclose(f);
    }
    free(data);
}

static const char *IMG = "/tmp/repro_test_images.idx", *LAB = "/tmp/repro_test_labels.idx";

static void pair(uint32_t n_img, uint32_t n_lab, size_t img_bytes, size_t lab_bytes,
                 uint32_t img_magic, bool gz)
{
    write_idx(IMG, img_magic, 3, (const uint32_t[]){n_img, 4, 3}, img_bytes, gz);
    write_idx(LAB, 0x801, 1, (const uint32_t[]){n_lab}, lab_bytes, gz);
}

Test(idx, valid_gzip_and_plain)
{
    for (int gz = 0; gz < 2; gz++) {
        pair(5, 5, 5 * 12, 5, 0x803, gz);
        IdxSet s;
        cr_assert_eq(idx_load(&s, IMG, LAB, 10), 0);
        cr_expect(s.n == 5 && s.h == 4 && s.w == 3);
        cr_expect_eq(s.images[13], 13 % 7);
        cr_expect_eq(s.labels[4], 4);
        idx_free(&s);
    }
}

Test(idx, malformed_files_fail)
{
    struct { const char *what; uint32_t ni, nl; size_t ib, lb; uint32_t magic; int classes, want; } bad[] = {
        {"bad image magic", 5, 5, 60, 5, 0x804, 10, ERR_FORMAT},
        {"truncated images", 5, 5, 59, 5, 0x803, 10, ERR_FORMAT},
        {"trailing bytes", 5, 5, 61, 5, 0x803, 10, ERR_FORMAT},
        {"label count differs", 5, 4, 60, 4, 0x803, 10, ERR_FORMAT},
        {"label out of range", 5, 5, 60, 5, 0x803, 3, ERR_FORMAT},
        {"zero images", 0, 0, 0, 0, 0x803, 10, ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pair(bad[i].ni, bad[i].nl, bad[i].ib, bad[i].lb, bad[i].magic, i % 2);
        IdxSet s;
        int rc = idx_load(&s, IMG, LAB, bad[i].classes);
        cr_expect_eq(rc, bad[i].want, "%s: got %d", bad[i].what, rc);
        cr_expect(s.images == NULL && s.labels == NULL, "%s: buffers left allocated", bad[i].what);
    }
    IdxSet s;
    cr_expect_eq(idx_load(&s, "/nonexistent/images", LAB, 10), ERR_IO);
    unlink(IMG);
    unlink(LAB);
}

Test(idx, fashion_mnist_when_installed)
{
    FILE *f = fopen("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "rb");
    if (!f) cr_skip_test("dataset-fashion-mnist not installed");
    fclose(f);
    IdxSet s;
    cr_assert_eq(fmnist_load(&s, "/usr/share/datasets/fashion-mnist", false), 0);
    cr_expect(s.n == 10000 && s.h == 28 && s.w == 28);
    int count[10] = {0};
    for (int i = 0; i < s.n; i++) count[s.labels[i]]++;
    for (int k = 0; k < 10; k++) cr_expect_eq(count[k], 1000, "class %d: %d test images", k, count[k]);
    idx_free(&s);
}
