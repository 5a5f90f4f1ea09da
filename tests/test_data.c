/* tests/test_data.c — the data side of the engine, on files and datasets the tests write:
 *   - the IDX reader: a valid pair (gzip and plain) and every kind of malformed file, each of which
 *     must fail with ERR_FORMAT or ERR_IO and leave nothing allocated;
 *   - augmentations, the sampler, and the bilinear resize against an independent formula;
 *   - the Dataset registry and the CIFAR-10/100 reader (pixel layout, labels, malformed files);
 *   - the threaded loader: every batch bitwise equal to a plain loop over augment.h for any number
 *     of workers and any depth, partial batches, ranges across epochs, restart and close mid-epoch,
 *     a decoding reader and its errors.
 * The real Fashion-MNIST is checked when its Debian package is installed.
 */
#include <criterion/criterion.h>
#include <stdio.h>  // fopen
#include <unistd.h> // unlink
#include <zlib.h>   // gzopen

#include "io/idx.h"

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

// Criterion runs the tests of this file in parallel processes: each test has its own file names
#define IMG(test) "/tmp/repro_test_" test "_images.idx"
#define LAB(test) "/tmp/repro_test_" test "_labels.idx"

static void pair(const char *img, const char *lab, uint32_t n_img, uint32_t n_lab, size_t img_bytes,
                 size_t lab_bytes, uint32_t img_magic, bool gz)
{
    write_idx(img, img_magic, 3, (const uint32_t[]){n_img, 4, 3}, img_bytes, gz);
    write_idx(lab, 0x801, 1, (const uint32_t[]){n_lab}, lab_bytes, gz);
}

Test(idx, valid_gzip_and_plain)
{
    for (int gz = 0; gz < 2; gz++) {
        pair(IMG("valid"), LAB("valid"), 5, 5, 5 * 12, 5, 0x803, gz);
        IdxSet s;
        cr_assert_eq(idx_load(&s, IMG("valid"), LAB("valid"), 10), 0);
        cr_expect(s.n == 5 && s.h == 4 && s.w == 3);
        cr_expect_eq(s.images[13], 13 % 7);
        cr_expect_eq(s.labels[4], 4);
        idx_free(&s);
    }
    unlink(IMG("valid"));
    unlink(LAB("valid"));
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
        pair(IMG("bad"), LAB("bad"), bad[i].ni, bad[i].nl, bad[i].ib, bad[i].lb, bad[i].magic, i % 2);
        IdxSet s;
        int rc = idx_load(&s, IMG("bad"), LAB("bad"), bad[i].classes);
        cr_expect_eq(rc, bad[i].want, "%s: got %d", bad[i].what, rc);
        cr_expect(s.images == NULL && s.labels == NULL, "%s: buffers left allocated", bad[i].what);
    }
    IdxSet s;
    cr_expect_eq(idx_load(&s, "/nonexistent/images", LAB("bad"), 10), ERR_IO);
    unlink(IMG("bad"));
    unlink(LAB("bad"));
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

// ---------------------------------------------------------------------------------------------
// augmentations and the sampler

#include <math.h> // fabsf, fabs, floor, fmax

#include "data/augment.h"

static void image(uint8_t *img, int h, int w, int c)
{
    for (int i = 0; i < h * w * c; i++) img[i] = (uint8_t)(37 * i + 11);
}

Test(augment, pure_function_of_seed_epoch_index)
{
    AugArgs a = {.pad = 4, .flip = true, .mean = {0.5f}, .std = {0.25f}, .erase_p = 0.5f,
                 .erase_area = {0.02f, 0.4f}, .erase_aspect = 0.3f, .erase_mode = ERASE_UNIFORM};
    uint8_t img[28 * 28];
    float x[28 * 28], y[28 * 28];
    image(img, 28, 28, 1);
    int differ_epoch = 0, differ_index = 0;
    for (int i = 0; i < 50; i++) {
        augment_sample(&a, x, img, 28, 28, 1, 7, 3, (uint64_t)i);
        augment_sample(&a, y, img, 28, 28, 1, 7, 3, (uint64_t)i);
        cr_expect(memcmp(x, y, sizeof x) == 0, "sample %d: two calls differ", i);
        augment_sample(&a, y, img, 28, 28, 1, 7, 4, (uint64_t)i);
        differ_epoch += memcmp(x, y, sizeof x) != 0;
        augment_sample(&a, y, img, 28, 28, 1, 7, 3, (uint64_t)i + 1000);
        differ_index += memcmp(x, y, sizeof x) != 0;
    }
    cr_expect_gt(differ_epoch, 40, "epochs should draw differently (%d of 50 differ)", differ_epoch);
    cr_expect_gt(differ_index, 40, "samples should draw differently (%d of 50 differ)", differ_index);
}

Test(augment, crop_flip_and_normalize)
{
    uint8_t img[5 * 6 * 2];
    image(img, 5, 6, 2);
    float x[5 * 6 * 2];
    AugArgs plain = {.mean = {0.1f, 0.2f}, .std = {0.5f, 0.25f}};
    normalize_sample(&plain, x, img, 5, 6, 2);
    cr_expect(fabsf(x[7] - (img[7] / 255.0f - 0.2f) / 0.25f) < 1e-6f);
    // flip only: every sample is the image or its mirror
    AugArgs fl = {.flip = true, .mean = {0, 0}, .std = {1, 1}};
    int mirrored = 0;
    for (int i = 0; i < 40; i++) {
        augment_sample(&fl, x, img, 5, 6, 2, 1, 0, (uint64_t)i);
        bool same = true, mirror = true;
        for (int y = 0; y < 5; y++)
            for (int c = 0; c < 6; c++)
                for (int k = 0; k < 2; k++) {
                    float v = x[(y * 6 + c) * 2 + k];
                    same &= fabsf(v - img[(y * 6 + c) * 2 + k] / 255.0f) < 1e-6f;
                    mirror &= fabsf(v - img[(y * 6 + 5 - c) * 2 + k] / 255.0f) < 1e-6f;
                }
        cr_expect(same || mirror, "sample %d is neither the image nor its mirror", i);
        mirrored += mirror;
    }
    cr_expect(mirrored > 8 && mirrored < 32, "%d of 40 mirrored", mirrored);
    // crop with padding: a shifted copy, zeros (normalized) where it reaches past the border
    AugArgs cr = {.pad = 2, .mean = {0, 0}, .std = {1, 1}};
    for (int i = 0; i < 20; i++) {
        augment_sample(&cr, x, img, 5, 6, 2, 1, 0, (uint64_t)i);
        int found = 0;
        for (int oy = -2; oy <= 2 && !found; oy++)
            for (int ox = -2; ox <= 2 && !found; ox++) {
                bool ok = true;
                for (int y = 0; y < 5 && ok; y++)
                    for (int c = 0; c < 6 && ok; c++) {
                        int sy = y + oy, sx = c + ox;
                        float want = sy >= 0 && sy < 5 && sx >= 0 && sx < 6 ? img[(sy * 6 + sx) * 2] / 255.0f : 0;
                        ok = fabsf(x[(y * 6 + c) * 2] - want) < 1e-6f;
                    }
                found = ok;
            }
        cr_expect(found, "sample %d is no shift of the image within the padding", i);
    }
}

Test(augment, erasing_area_and_fill)
{
    uint8_t img[28 * 28];
    memset(img, 255, sizeof img);
    float x[28 * 28];
    AugArgs a = {.mean = {0}, .std = {1}, .erase_p = 1.0f, .erase_area = {0.02f, 0.4f},
                 .erase_aspect = 0.3f, .erase_mode = ERASE_CONST, .erase_value = {-7.0f}};
    int erased = 0;
    for (int i = 0; i < 200; i++) {
        augment_sample(&a, x, img, 28, 28, 1, 3, 0, (uint64_t)i);
        int n = 0;
        for (int j = 0; j < 28 * 28; j++) n += x[j] == -7.0f;
        if (!n) continue;
        erased++;
        cr_expect(n >= 0.015 * 784 && n <= 0.45 * 784, "sample %d: %d pixels erased", i, n);
    }
    cr_expect_gt(erased, 190, "p = 1 erased only %d of 200", erased);
}

Test(sampler, permutation_per_epoch)
{
    int p[1000], q[1000], seen[1000] = {0};
    sampler_permutation(p, 1000, 5, 0);
    sampler_permutation(q, 1000, 5, 0);
    cr_expect(memcmp(p, q, sizeof p) == 0);
    for (int i = 0; i < 1000; i++) seen[p[i]]++;
    for (int i = 0; i < 1000; i++) cr_expect_eq(seen[i], 1, "%d appears %d times", i, seen[i]);
    sampler_permutation(q, 1000, 5, 1);
    cr_expect(memcmp(p, q, sizeof p) != 0, "epochs 0 and 1 have the same order");
}

// ranks' shares: PyTorch's DistributedSampler on this permutation (padding from the head,
// strided by world), worked out here for n = 10, world = 3 and 4
Test(sampler, shards_cover_the_epoch)
{
    int p[10], out[10];
    sampler_permutation(p, 10, 3, 2);
    for (int world = 1; world <= 4; world++) {
        int seen[10] = {0}, total = 0;
        for (int r = 0; r < world; r++) {
            int k = sampler_shard(p, 10, r, world, out);
            cr_expect_eq(k, (10 + world - 1) / world);
            for (int i = 0; i < k; i++) {
                cr_expect_eq(out[i], p[(r + i * world) % 10], "world %d rank %d entry %d", world, r, i);
                seen[out[i]]++;
            }
            total += k;
        }
        for (int i = 0; i < 10; i++) cr_expect(seen[i] >= 1, "world %d: sample %d in no share", world, i);
        int dup = 0;
        for (int i = 0; i < 10; i++) dup += seen[i] - 1;
        cr_expect_eq(dup, total - 10, "world %d: %d repeats for %d padding slots", world, dup, total - 10);
        if (world == 3) cr_expect(seen[p[0]] == 2 && seen[p[1]] == 2, "the head pads the last shares");
    }
}

// ---------------------------------------------------------------------------------------------
// resize: augment_resize against the align_corners=False rule written out independently here (in
// double, floor and clamp spelled out), a value worked by hand, and identity at equal sizes

// PyTorch's bilinear source coordinate of output o, and its two taps and weight of the second
static void taps_double(int o, int in, int out, int *i0, int *i1, double *l1)
{
    double src = ((double)o + 0.5) * in / out - 0.5;
    if (src < 0) src = 0;
    *i0 = (int)floor(src);
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *l1 = src - *i0;
}

Test(resize, bilinear_against_formula)
{
    const struct { int h, w, oh, ow; } sizes[] = {{3, 4, 5, 7}, {7, 3, 3, 2}, {5, 5, 16, 9}, {32, 32, 24, 40}};
    for (int t = 0; t < LEN(sizes); t++) {
        int h = sizes[t].h, w = sizes[t].w, oh = sizes[t].oh, ow = sizes[t].ow, c = 3;
        uint8_t *img = malloc((size_t)h * w * c);
        float *y = malloc(sizeof(float) * oh * ow * c);
        image(img, h, w, c);
        augment_resize(y, oh, ow, img, h, w, c);
        double worst = 0;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int k = 0; k < c; k++) {
                    int y0, y1, x0, x1;
                    double ly, lx;
                    taps_double(oy, h, oh, &y0, &y1, &ly);
                    taps_double(ox, w, ow, &x0, &x1, &lx);
#define PX(yy, xx) (double)img[((yy) * w + (xx)) * c + k]
                    double want = (1 - ly) * ((1 - lx) * PX(y0, x0) + lx * PX(y0, x1)) +
                                  ly * ((1 - lx) * PX(y1, x0) + lx * PX(y1, x1));
#undef PX
                    worst = fmax(worst, fabs(y[(oy * ow + ox) * c + k] - want));
                }
        cr_expect_lt(worst, 1e-3, "(%d,%d) -> (%d,%d): worst difference %g of 255", h, w, oh, ow, worst);
        free(img);
        free(y);
    }
    // 2x2 -> 4x4 by hand: output (1,1) sits at source (0.25, 0.25)
    uint8_t q[4] = {0, 100, 200, 250};
    float y[16];
    augment_resize(y, 4, 4, q, 2, 2, 1);
    cr_expect_eq(y[0], 0.0f);
    // .75 * .75 * 0 + .75 * .25 * 100 + .25 * .75 * 200 + .25 * .25 * 250, exact in float
    cr_expect_eq(y[1 * 4 + 1], 71.875f, "got %g", y[5]);
    cr_expect_eq(y[15], 250.0f);
}

Test(resize, identity_when_sizes_match)
{
    enum { H = 9, W = 11, C = 3 };
    uint8_t img[H * W * C];
    float r[H * W * C], x[H * W * C], z[H * W * C];
    image(img, H, W, C);
    augment_resize(r, H, W, img, H, W, C);
    for (int i = 0; i < H * W * C; i++) cr_expect_eq(r[i], (float)img[i], "pixel %d: %g", i, r[i]);
    // and the float pipeline on it is bitwise the uint8 pipeline
    AugArgs a = {.pad = 2, .flip = true, .mean = {0.4f, 0.5f, 0.6f}, .std = {0.2f, 0.3f, 0.25f},
                 .erase_p = 0.7f, .erase_area = {0.02f, 0.4f}, .erase_aspect = 0.3f,
                 .erase_mode = ERASE_PIXEL};
    for (int i = 0; i < 20; i++) {
        augment_sample(&a, x, img, H, W, C, 11, 2, (uint64_t)i);
        augment_sample_float(&a, z, r, H, W, C, 11, 2, (uint64_t)i);
        cr_expect(memcmp(x, z, sizeof x) == 0, "sample %d: float pipeline differs", i);
    }
    normalize_sample(&a, x, img, H, W, C);
    normalize_sample_float(&a, z, r, H, W, C);
    cr_expect(memcmp(x, z, sizeof x) == 0, "normalize: float pipeline differs");
}

// ---------------------------------------------------------------------------------------------
// datasets: the registry, and the CIFAR reader on small files the tests write (the reader takes the
// record count from the file size, so a few records per file stand in for the 10000 of the real
// ones); Criterion runs tests in parallel processes, so each test writes into its own mkdtemp folder

#include <sys/stat.h> // mkdir

#include "data/dataset.h"

// the pixel the tests write for global record g, channel k, row y, column x
static uint8_t cifar_px(int g, int k, int y, int x) { return (uint8_t)(g * 7 + k * 50 + y * 3 + x * 5); }
static int cifar_coarse(int g) { return g % 20; }
static int cifar_fine(int g) { return (g * 37 + 3) % 100; }

// writes records g0 .. g0+n-1 to dir/name: label bytes (CIFAR-10: g % 10; CIFAR-100: coarse,
// fine), then the R, G, B planes, row-major
static void write_cifar(const char *dir, const char *name, int g0, int n, bool is100)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    for (int g = g0; g < g0 + n; g++) {
        if (is100) { fputc(cifar_coarse(g), f); fputc(cifar_fine(g), f); }
        else fputc(g % 10, f);
        for (int k = 0; k < 3; k++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) fputc(cifar_px(g, k, y, x), f);
    }
    fclose(f);
}

// overwrites one byte of dir/name at offset, or appends it when offset < 0
static void poke(const char *dir, const char *name, long offset, int value)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, offset < 0 ? "ab" : "r+b");
    cr_assert(f, "cannot open %s", path);
    if (offset >= 0) fseek(f, offset, SEEK_SET);
    fputc(value, f);
    fclose(f);
}

// a CIFAR-10 folder: 5 train files of 3, 1, 2, 4, 2 records (12 in all) and a test file of 2
static const int batch_sizes[5] = {3, 1, 2, 4, 2};
static void write_cifar10(const char *dir)
{
    char name[32];
    for (int i = 0, g = 0; i < 5; g += batch_sizes[i++]) {
        snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        write_cifar(dir, name, g, batch_sizes[i], false);
    }
    write_cifar(dir, "test_batch.bin", 100, 2, false);
}

// every pixel and label of ds against what write_cifar wrote for records g0 ..
static void expect_cifar(const Dataset *ds, int g0, bool is100)
{
    cr_assert(ds->h == 32 && ds->w == 32 && ds->c == 3, "%s: (%d,%d,%d)", ds->name, ds->h, ds->w, ds->c);
    int bad = 0;
    for (int i = 0; i < ds->n; i++) {
        int label = -1, g = g0 + i;
        const uint8_t *p = ds->get(ds, i, NULL, 0, &label);
        cr_expect_eq(label, is100 ? cifar_fine(g) : g % 10, "sample %d: label %d", i, label);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                for (int k = 0; k < 3; k++) bad += p[(y * 32 + x) * 3 + k] != cifar_px(g, k, y, x);
    }
    cr_expect_eq(bad, 0, "%s: %d pixels differ from the planar -> HWC conversion", ds->name, bad);
}

static void rm_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(dataset, cifar10_layout_and_labels)
{
    char dir[] = "/tmp/repro_cifar10_XXXXXX";
    cr_assert(mkdtemp(dir));
    write_cifar10(dir);
    Dataset ds;
    cr_assert_eq(dataset_load(&ds, "cifar10", dir, true), 0);
    cr_expect(ds.n == 12 && ds.classes == 10 && !strcmp(ds.name, "cifar10"), "n %d classes %d", ds.n, ds.classes);
    expect_cifar(&ds, 0, false);
    dataset_limit(&ds, 5);
    cr_expect_eq(ds.n, 5);
    dataset_limit(&ds, 0);
    cr_expect_eq(ds.n, 5, "limit 0 keeps all (of what is left)");
    dataset_free(&ds);
    cr_expect(ds.images == NULL && ds.n == 0);
    cr_assert_eq(dataset_load(&ds, "cifar10", dir, false), 0);
    cr_expect_eq(ds.n, 2);
    expect_cifar(&ds, 100, false);
    dataset_free(&ds);
    // the folder above, as the archive extracts (cifar-10-batches-bin/), through CIFAR_DIR
    char nested[128];
    snprintf(nested, sizeof nested, "%s/cifar-10-batches-bin", dir);
    cr_assert_eq(mkdir(nested, 0700), 0);
    write_cifar10(nested);
    char cmd[300]; // only the nested copy stays
    snprintf(cmd, sizeof cmd, "rm '%s'/*.bin", dir);
    cr_assert_eq(system(cmd), 0);
    setenv("CIFAR_DIR", dir, 1);
    cr_assert_eq(dataset_load(&ds, "cifar10", NULL, true), 0);
    cr_expect_eq(ds.n, 12);
    expect_cifar(&ds, 0, false);
    dataset_free(&ds);
    rm_dir(dir);
}

Test(dataset, cifar100_fine_labels)
{
    char dir[] = "/tmp/repro_cifar100_XXXXXX";
    cr_assert(mkdtemp(dir));
    write_cifar(dir, "train.bin", 0, 7, true);
    write_cifar(dir, "test.bin", 40, 3, true);
    Dataset ds;
    cr_assert_eq(dataset_load(&ds, "cifar100", dir, true), 0);
    cr_expect(ds.n == 7 && ds.classes == 100, "n %d classes %d", ds.n, ds.classes);
    expect_cifar(&ds, 0, true);
    dataset_free(&ds);
    cr_assert_eq(dataset_load(&ds, "cifar100", dir, false), 0);
    cr_expect_eq(ds.n, 3);
    expect_cifar(&ds, 40, true);
    dataset_free(&ds);
    rm_dir(dir);
}

Test(dataset, cifar_malformed_files_fail)
{
    enum { R10 = 1 + 3072, R100 = 2 + 3072 };
    struct { const char *what, *name; bool is100; long offset; int value, want; } bad[] = {
        {"file missing", "data_batch_3.bin", false, -2, 0, ERR_IO},
        {"first file missing", "data_batch_1.bin", false, -2, 0, ERR_IO},
        {"one byte extra", "data_batch_4.bin", false, -1, 9, ERR_FORMAT},
        {"empty file", "data_batch_2.bin", false, -3, 0, ERR_FORMAT},
        {"label 10 in CIFAR-10", "data_batch_4.bin", false, 2L * R10, 10, ERR_FORMAT},
        {"fine label 100", "train.bin", true, 3L * R100 + 1, 100, ERR_FORMAT},
        {"coarse label 20", "train.bin", true, 0, 20, ERR_FORMAT},
        {"CIFAR-10 records in CIFAR-100", "train.bin", true, -4, 0, ERR_FORMAT},
    };
    for (int i = 0; i < LEN(bad); i++) {
        char dir[] = "/tmp/repro_cifarbad_XXXXXX", path[300];
        cr_assert(mkdtemp(dir));
        if (bad[i].is100) write_cifar(dir, "train.bin", 0, 5, true);
        else write_cifar10(dir);
        snprintf(path, sizeof path, "%s/%s", dir, bad[i].name);
        if (bad[i].offset == -2) unlink(path);
        else if (bad[i].offset == -3) fclose(fopen(path, "wb"));
        else if (bad[i].offset == -4) write_cifar(dir, "train.bin", 0, 3, false); // 3 * 3073 bytes
        else poke(dir, bad[i].name, bad[i].offset, bad[i].value);
        Dataset ds;
        int rc = dataset_load(&ds, bad[i].is100 ? "cifar100" : "cifar10", dir, true);
        cr_expect_eq(rc, bad[i].want, "%s: got %d (%s)", bad[i].what, rc, err_name(rc));
        cr_expect(ds.images == NULL && ds.labels == NULL && ds.n == 0 && ds.release == NULL,
                  "%s: the Dataset is not left empty", bad[i].what);
        dataset_free(&ds);
        rm_dir(dir);
    }
    unsetenv("CIFAR_DIR");
    Dataset ds;
    // cifar10 without a folder reads make data's data/cifar10 (the JPEG set) from the working folder
    char cwd[4096], tmp[] = "/tmp/repro_nodata_XXXXXX";
    cr_assert(mkdtemp(tmp) && getcwd(cwd, sizeof cwd) && chdir(tmp) == 0);
    cr_expect_eq(dataset_load(&ds, "cifar10", NULL, true), ERR_IO, "no folder, no CIFAR_DIR, no data/cifar10");
    cr_assert(chdir(cwd) == 0);
    rm_dir(tmp);
    cr_expect_eq(dataset_load(&ds, "cifar100", "", false), ERR_ARG, "\"\" means the default: CIFAR_DIR");
}

Test(dataset, registry_names)
{
    Dataset ds;
    cr_expect_eq(dataset_load(&ds, "imagenet-typo", NULL, true), ERR_ARG);
    cr_expect(ds.n == 0 && ds.get == NULL);
    // every listed name is registered: a missing folder is then ERR_IO, never "unknown" (ERR_ARG);
    // the synthetic set reads no folder
    char names[128];
    snprintf(names, sizeof names, "%s", dataset_names());
    int listed = 0;
    for (char *save = NULL, *t = strtok_r(names, ", ", &save); t; t = strtok_r(NULL, ", ", &save), listed++) {
        int rc = dataset_load(&ds, t, "/nonexistent/repro", true);
        if (!strcmp(t, "synthetic")) {
            cr_expect_eq(rc, 0);
            dataset_free(&ds);
        } else
            cr_expect_eq(rc, ERR_IO, "%s: got %s", t, err_name(rc));
    }
    cr_expect_eq(listed, 6, "dataset_names() lists %d names", listed);
    unsetenv("IMAGENET_DIR");
    cr_expect_eq(dataset_load(&ds, "imagenet", NULL, true), ERR_ARG, "no folder and no IMAGENET_DIR");
}

Test(dataset, synthetic_is_the_same_every_time)
{
    Dataset a, b;
    cr_assert_eq(dataset_load(&a, "synthetic", NULL, true), 0);
    cr_assert_eq(dataset_load(&b, "synthetic", NULL, false), 0);
    cr_expect(a.n == 2048 && b.n == 1280 && a.h == 128 && a.w == 128 && a.c == 3 && a.classes == 10);
    Dataset a2;
    cr_assert_eq(dataset_load(&a2, "synthetic", NULL, true), 0);
    cr_expect(!memcmp(a.images, a2.images, (size_t)a.n * 128 * 128 * 3), "the same pixels on every load");
    cr_expect(memcmp(a.images, b.images, (size_t)b.n * 128 * 128 * 3), "train and test differ");
    long sum = 0;
    for (size_t i = 0; i < (size_t)128 * 128 * 3; i++) sum += a.images[i];
    cr_expect(sum > 100L * 128 * 128 * 3 && sum < 155L * 128 * 128 * 3, "pixels spread over 0..255 (mean %ld)",
              sum / (128 * 128 * 3));
    dataset_free(&a), dataset_free(&a2), dataset_free(&b);
}

Test(dataset, fmnist_when_installed)
{
    FILE *f = fopen("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "rb");
    if (!f) cr_skip_test("dataset-fashion-mnist not installed");
    fclose(f);
    Dataset ds;
    IdxSet s;
    cr_assert_eq(dataset_load(&ds, "fmnist", "/usr/share/datasets/fashion-mnist", false), 0);
    cr_assert_eq(fmnist_load(&s, "/usr/share/datasets/fashion-mnist", false), 0);
    cr_expect(ds.n == 10000 && ds.h == 28 && ds.w == 28 && ds.c == 1 && ds.classes == 10);
    cr_expect(memcmp(ds.images, s.images, (size_t)s.n * 28 * 28) == 0);
    int label;
    const uint8_t *p = ds.get(&ds, 1234, NULL, 0, &label);
    cr_expect(p == ds.images + 1234 * 784 && label == s.labels[1234]);
    idx_free(&s);
    dataset_free(&ds);
}

// ---------------------------------------------------------------------------------------------
// the loader: batches against a plain loop over augment.h, for 1 worker / depth 1 and 3 workers /
// depth 4, at the dataset's size and resized; partial last batches; ranges across epochs; restart
// and close mid-epoch; a decoding reader, and its errors

#include "data/loader.h"

// an in-memory dataset of n (h, w, c) images: pixel p of sample i is 37p + 11 + 101i (mod 256),
// label 3i mod classes
static void synthetic(Dataset *ds, int n, int h, int w, int c, int classes)
{
    size_t sz = (size_t)h * w * c;
    uint8_t *images = malloc((size_t)n * sz), *labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        for (size_t p = 0; p < sz; p++) images[i * sz + p] = (uint8_t)(37 * p + 11 + 101 * i);
        labels[i] = (uint8_t)(3 * i % classes);
    }
    dataset_init_memory(ds, "synthetic", n, classes, h, w, c, images, labels);
}

// batch (epoch, step) straight from augment.h: x (n, oh, ow, c), labels (n); returns n
static int reference_batch(const Dataset *ds, const AugArgs *a, uint64_t seed, int batch, bool train,
                           int oh, int ow, int epoch, int step, float *x, int *labels)
{
    int *perm = malloc(sizeof(int) * ds->n);
    sampler_permutation(perm, ds->n, seed, epoch);
    int n = MIN(batch, ds->n - step * batch), c = ds->c;
    float *r = malloc(sizeof(float) * oh * ow * c);
    for (int j = 0; j < n; j++) {
        int i = train ? perm[step * batch + j] : step * batch + j;
        const uint8_t *px = ds->get(ds, i, NULL, 0, &labels[j]);
        float *dst = x + (size_t)j * oh * ow * c;
        bool rs = oh != ds->h || ow != ds->w;
        if (rs) augment_resize(r, oh, ow, px, ds->h, ds->w, c);
        if (train && rs) augment_sample_float(a, dst, r, oh, ow, c, seed, epoch, (uint64_t)i);
        else if (train) augment_sample(a, dst, px, oh, ow, c, seed, epoch, (uint64_t)i);
        else if (rs) normalize_sample_float(a, dst, r, oh, ow, c);
        else normalize_sample(a, dst, px, oh, ow, c);
    }
    free(perm);
    free(r);
    return n;
}

static const AugArgs test_aug = {.pad = 2, .flip = true, .mean = {0.4f, 0.5f, 0.6f},
                                 .std = {0.2f, 0.3f, 0.25f}, .erase_p = 0.5f,
                                 .erase_area = {0.02f, 0.4f}, .erase_aspect = 0.3f,
                                 .erase_mode = ERASE_UNIFORM};

// every batch of the range (epoch, first_step, n_steps) from loader l against the reference;
// returns the batches seen
static int expect_range(Loader *l, int epoch, int first_step, int n_steps, bool drop_last, const char *what)
{
    int spe = loader_steps_per_epoch(l, drop_last);
    size_t out = (size_t)l->out_h * l->out_w * l->c;
    float *x = malloc(sizeof(float) * l->batch * out);
    int *labels = malloc(sizeof(int) * l->batch), seen = 0;
    loader_start(l, epoch, first_step, n_steps, drop_last);
    const Batch *b;
    for (;;) {
        cr_assert_eq(loader_next(l, &b), 0);
        if (!b) break;
        int e = epoch + (first_step + seen) / spe, s = (first_step + seen) % spe;
        int n = reference_batch(l->ds, &l->aug, l->seed, l->batch, l->train, l->out_h, l->out_w, e, s, x, labels);
        cr_expect(b->epoch == e && b->step == s && b->n == n, "%s: batch %d is epoch %d step %d n %d, "
                  "expected %d %d %d", what, seen, b->epoch, b->step, b->n, e, s, n);
        cr_expect(memcmp(b->labels, labels, sizeof(int) * n) == 0, "%s: batch %d labels differ", what, seen);
        cr_expect(memcmp(b->x, x, sizeof(float) * n * out) == 0, "%s: batch %d pixels differ", what, seen);
        seen++;
    }
    free(x);
    free(labels);
    return seen;
}

Test(loader, bitwise_for_any_workers_and_depth)
{
    Dataset ds;
    synthetic(&ds, 37, 8, 8, 3, 5);
    const struct { bool train; int oh, ow; bool drop_last; } cfg[] = {
        {true, 0, 0, false}, {true, 12, 10, true}, {false, 0, 0, false}, {false, 6, 5, false},
    };
    const struct { int workers, depth; } pools[] = {{1, 1}, {3, 4}, {2, 2}};
    for (int c = 0; c < LEN(cfg); c++) {
        float *first[16] = {0};
        for (int p = 0; p < LEN(pools); p++) {
            Loader l;
            cr_assert_eq(loader_open(&l, &ds, &test_aug, 42, 8, cfg[c].train, cfg[c].oh, cfg[c].ow,
                                     pools[p].workers, pools[p].depth), 0);
            char what[96];
            snprintf(what, sizeof what, "%s %dx%d, %d workers depth %d", cfg[c].train ? "train" : "eval",
                     l.out_h, l.out_w, pools[p].workers, pools[p].depth);
            // 9 steps from epoch 1 step 2: crosses into epochs 2 and 3
            cr_expect_eq(expect_range(&l, 1, 2, 9, cfg[c].drop_last, what), 9, "%s", what);
            // and bitwise equal across pools, batch by batch
            loader_start(&l, 1, 2, 9, cfg[c].drop_last);
            size_t bytes = sizeof(float) * 8 * l.out_h * l.out_w * l.c;
            const Batch *b;
            for (int k = 0; loader_next(&l, &b) == 0 && b; k++) {
                if (p == 0) first[k] = memcpy(malloc(bytes), b->x, bytes);
                else cr_expect(memcmp(first[k], b->x, sizeof(float) * b->n * l.out_h * l.out_w * l.c) == 0,
                               "%s: batch %d differs from 1 worker depth 1", what, k);
            }
            loader_close(&l);
            cr_expect(l.st == NULL);
        }
        for (int k = 0; k < 16; k++) free(first[k]);
    }
    dataset_free(&ds);
}

Test(loader, partial_last_batch_and_epoch_range)
{
    Dataset ds;
    synthetic(&ds, 37, 8, 8, 3, 5);
    Loader l;
    for (int train = 0; train < 2; train++) {
        cr_assert_eq(loader_open(&l, &ds, &test_aug, 7, 8, train, 0, 0, 2, 2), 0);
        cr_expect_eq(loader_steps_per_epoch(&l, false), 5);
        cr_expect_eq(loader_steps_per_epoch(&l, true), 4);
        // n_steps 0: to the end of the epoch; drop_last false ends with 37 - 32 = 5 samples
        cr_expect_eq(expect_range(&l, 3, 0, 0, false, "to the end"), 5);
        cr_expect_eq(expect_range(&l, 3, 2, 0, true, "from step 2, drop_last"), 2);
        loader_start(&l, 0, 0, 0, false);
        const Batch *b;
        int sizes[5], k = 0, seen[37] = {0};
        while (loader_next(&l, &b) == 0 && b) {
            sizes[k++] = b->n;
            for (int j = 0; j < b->n; j++) seen[b->labels[j]]++;
        }
        cr_expect(k == 5 && sizes[0] == 8 && sizes[4] == 5, "%d batches, last of %d", k, sizes[4]);
        cr_expect_eq(loader_next(&l, &b), 0, "next after the end stays at the end");
        cr_expect_null(b);
        int total = 0;
        for (int j = 0; j < 5; j++) total += seen[j];
        cr_expect_eq(total, 37, "one epoch visits every sample once (%d labels seen)", total);
        loader_close(&l);
    }
    dataset_free(&ds);
}

Test(loader, restart_and_close_mid_epoch)
{
    Dataset ds;
    synthetic(&ds, 500, 16, 16, 3, 10);
    Loader l;
    cr_assert_eq(loader_open(&l, &ds, &test_aug, 3, 32, true, 0, 0, 3, 3), 0);
    loader_close(&l); // never started
    for (int round = 0; round < 20; round++) {
        cr_assert_eq(loader_open(&l, &ds, &test_aug, 3, 32, true, 20, 20, 3, 3), 0);
        loader_start(&l, round, 0, 0, false);
        const Batch *b;
        for (int k = 0; k < round % 4; k++) cr_assert(loader_next(&l, &b) == 0 && b);
        if (round % 2) { // restart elsewhere with batches in flight: nothing stale may come out
            cr_expect_eq(expect_range(&l, round + 1, 3, 4, true, "after a restart"), 4);
            loader_start(&l, 0, 0, 0, false);
        }
        loader_close(&l); // workers mid-epoch
    }
    dataset_free(&ds);
}

// a decoding reader: no images in memory; sample i is written into buf (pixel p = 13i + p),
// label i mod 4; sample 13 fails as a corrupt file would
static const uint8_t *decoding_get(const Dataset *ds, int i, uint8_t *buf, size_t buf_size, int *label)
{
    size_t sz = (size_t)ds->h * ds->w * ds->c;
    cr_assert_geq(buf_size, sz);
    if (i == 13) {
        log_error("decoding test reader: sample %d is corrupt (on purpose)", i);
        return NULL;
    }
    for (size_t p = 0; p < sz; p++) buf[p] = (uint8_t)(13 * i + p);
    *label = i % 4;
    return buf;
}

Test(loader, decoding_reader_and_its_errors)
{
    Dataset ds = {.name = "decoding", .n = 20, .classes = 4, .h = 5, .w = 6, .c = 2, .get = decoding_get};
    Loader l;
    cr_assert_eq(loader_open(&l, &ds, &test_aug, 1, 4, false, 0, 0, 2, 2), 0);
    loader_start(&l, 0, 0, 0, false);
    const Batch *b;
    uint8_t px[60];
    float want[60];
    for (int k = 0; k < 3; k++) { // samples 0 .. 11
        cr_assert_eq(loader_next(&l, &b), 0);
        cr_assert_not_null(b);
        for (int j = 0; j < 4; j++) {
            int i = 4 * k + j;
            for (int p = 0; p < 60; p++) px[p] = (uint8_t)(13 * i + p);
            normalize_sample(&test_aug, want, px, 5, 6, 2);
            cr_expect(memcmp(b->x + j * 60, want, sizeof want) == 0, "sample %d differs", i);
            cr_expect_eq(b->labels[j], i % 4);
        }
    }
    cr_expect_eq(loader_next(&l, &b), ERR_IO, "the batch with sample 13 must fail");
    cr_expect_null(b);
    loader_close(&l);
    Dataset varying = ds;
    varying.h = varying.w = 0;
    cr_expect_eq(loader_open(&l, &varying, &test_aug, 1, 4, false, 32, 32, 1, 1), ERR_ARG,
                 "a reader of varying sizes is not supported yet");
    cr_expect(l.st == NULL);
}

Test(loader, fashion_mnist_resized_when_installed)
{
    Dataset ds;
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("dataset-fashion-mnist not installed");
    cr_assert_eq(dataset_load(&ds, "fmnist", NULL, true), 0);
    AugArgs a = {.pad = 4, .flip = true, .mean = {0.2860f}, .std = {0.3530f}, .erase_p = 0.5f,
                 .erase_area = {0.02f, 0.4f}, .erase_aspect = 0.3f, .erase_mode = ERASE_UNIFORM};
    Loader l;
    cr_assert_eq(loader_open(&l, &ds, &a, 1, 128, true, 32, 32, 2, 2), 0);
    cr_expect_eq(expect_range(&l, 0, 467, 3, false, "fmnist 32x32"), 3,
                 "467, 468 (96 samples) and step 0 of epoch 1");
    loader_close(&l);
    dataset_free(&ds);
}
