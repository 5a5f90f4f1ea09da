/* engine/io/cifar.c — the binary version of CIFAR-10 and CIFAR-100 (Krizhevsky 2009,
 * https://www.cs.toronto.edu/~kriz/cifar.html), read into memory (cifar.h).
 *
 * Records: CIFAR-10 1 label byte, CIFAR-100 2 (coarse 0..19, fine 0..99; we keep fine), then 3072
 * pixel bytes: the 1024 R, 1024 G and 1024 B values of the 32x32 image, each plane row-major. We
 * store HWC: pixel (y, x) channel k = record[label bytes + k*1024 + y*32 + x].
 * Files: CIFAR-10 data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin; CIFAR-100
 * train.bin and test.bin. The published files hold 10000 records per CIFAR-10 file and
 * 50000 / 10000 for CIFAR-100, but the record count is taken from the file size: any positive
 * whole number of records is accepted, so the tests can write small files; a size that is not a
 * whole number of records, an empty file or a label out of range is ERR_FORMAT naming the file.
 * The directory is the one holding the .bin files, or its parent as the archives extract
 * (cifar-10-batches-bin/, cifar-100-binary/ inside it).
 */
#include "cifar.h"

#include <errno.h>    // errno
#include <limits.h>   // INT_MAX
#include <stdio.h>    // fopen, fread, snprintf
#include <string.h>   // strerror
#include <sys/stat.h> // fstat
#include <unistd.h>   // access

enum { CIFAR_HW = 32, CIFAR_PIXELS = 3 * 32 * 32, CIFAR_MAX_FILES = 5 };

typedef struct {
    const char *name, *subdir; // registry name, the folder its archive extracts to
    int label_bytes, classes;  // the label we keep is the last label byte
    int n_train;               // train files: train[0 .. n_train)
    const char *train[CIFAR_MAX_FILES], *test;
} CifarKind;

static const CifarKind cifar10 = {
    "cifar10", "cifar-10-batches-bin", 1, 10, 5,
    {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
    "test_batch.bin"};
static const CifarKind cifar100 = {"cifar100", "cifar-100-binary", 2, 100, 1, {"train.bin"}, "test.bin"};

// out = a/b (b NULL: a); ERR_ARG when it does not fit in size bytes
static int cifar_join(char *out, size_t size, const char *a, const char *b)
{
    int len = snprintf(out, size, "%s%s%s", a, b ? "/" : "", b ? b : "");
    if (len < 0 || (size_t)len >= size) {
        log_error("cifar: path %s/%s is longer than %zu bytes", a, b ? b : "", size - 1);
        return ERR_ARG;
    }
    return 0;
}

// the folder holding the files, into base: dir itself when its first file is there, else
// dir/subdir; ERR_IO naming both paths tried
static int cifar_find_dir(const CifarKind *k, const char *dir, const char *first, char *base, size_t size)
{
    char path[1024], nested[1024];
    int rc = cifar_join(path, sizeof path, dir, first);
    if (!rc && access(path, F_OK) == 0) return cifar_join(base, size, dir, NULL);
    if (!rc) rc = cifar_join(base, size, dir, k->subdir);
    if (!rc) rc = cifar_join(nested, sizeof nested, base, first);
    if (rc) return rc;
    if (access(nested, F_OK) == 0) return 0;
    log_error("%s: %s not found, nor %s (the binary version from "
              "https://www.cs.toronto.edu/~kriz/cifar.html; set CIFAR_DIR or data.dir)", k->name, path,
              nested);
    return ERR_IO;
}

// reads n records of file f (named path) into images (n, 32, 32, 3) and labels (n)
static int cifar_read_file(const CifarKind *k, FILE *f, const char *path, int n, uint8_t *images,
                           uint8_t *labels)
{
    uint8_t rec[2 + CIFAR_PIXELS];
    size_t size = (size_t)k->label_bytes + CIFAR_PIXELS;
    for (int r = 0; r < n; r++) {
        if (fread(rec, 1, size, f) != size) {
            log_error("%s: read failed at record %d of %d (%s)", path, r, n,
                      ferror(f) ? strerror(errno) : "file shrank while reading");
            return ERR_IO;
        }
        if (k->label_bytes == 2 && rec[0] >= 20) {
            log_error("%s: record %d has coarse label %d, outside 0..19", path, r, rec[0]);
            return ERR_FORMAT;
        }
        int label = rec[k->label_bytes - 1];
        if (label >= k->classes) {
            log_error("%s: record %d has label %d, outside 0..%d", path, r, label, k->classes - 1);
            return ERR_FORMAT;
        }
        labels[r] = (uint8_t)label;
        const uint8_t *planes = rec + k->label_bytes;
        uint8_t *img = images + (size_t)r * CIFAR_PIXELS;
        for (int p = 0; p < CIFAR_HW * CIFAR_HW; p++) // planar (3, 32, 32) -> interleaved (32, 32, 3)
            for (int c = 0; c < 3; c++) img[p * 3 + c] = planes[c * CIFAR_HW * CIFAR_HW + p];
    }
    return 0;
}

int cifar_load(CifarSet *s, const char *dir, bool train, bool is100)
{
    const CifarKind *k = is100 ? &cifar100 : &cifar10;
    memset(s, 0, sizeof *s);
    if (!dir || !dir[0]) dir = getenv("CIFAR_DIR");
    if (!dir || !dir[0]) {
        log_error("%s: no directory given and CIFAR_DIR is not set (set CIFAR_DIR to the folder of "
                  "the binary version, https://www.cs.toronto.edu/~kriz/cifar.html)", k->name);
        return ERR_ARG;
    }
    int n_files = train ? k->n_train : 1;
    const char *const *names = train ? k->train : &k->test;
    char base[1024], path[CIFAR_MAX_FILES][1024];
    FILE *f[CIFAR_MAX_FILES] = {0};
    int count[CIFAR_MAX_FILES] = {0};
    uint8_t *images = NULL, *labels = NULL;
    int rc = cifar_find_dir(k, dir, names[0], base, sizeof base);
    if (rc) return rc;

    // pass 1: open every file and take its record count from its size
    size_t rec = (size_t)k->label_bytes + CIFAR_PIXELS;
    long long n = 0;
    for (int i = 0; i < n_files; i++) {
        if ((rc = cifar_join(path[i], sizeof path[i], base, names[i]))) goto out;
        struct stat st;
        if (!(f[i] = fopen(path[i], "rb")) || fstat(fileno(f[i]), &st) != 0) {
            log_error("%s: cannot open (%s)", path[i], strerror(errno));
            rc = ERR_IO;
            goto out;
        }
        if (st.st_size <= 0 || (size_t)st.st_size % rec != 0) {
            log_error("%s: %lld bytes is not a positive whole number of %zu-byte %s records "
                      "(%d label byte%s + %d pixels)", path[i], (long long)st.st_size, rec, k->name,
                      k->label_bytes, k->label_bytes > 1 ? "s" : "", CIFAR_PIXELS);
            rc = ERR_FORMAT;
            goto out;
        }
        long long records = (long long)((size_t)st.st_size / rec);
        if (n + records > INT_MAX) {
            log_error("%s: %lld records in all, more than a Dataset indexes (%d)", path[i],
                      n + records, INT_MAX);
            rc = ERR_FORMAT;
            goto out;
        }
        count[i] = (int)records;
        n += records;
    }

    // pass 2: read and convert
    images = xmalloc((size_t)n * CIFAR_PIXELS);
    labels = xmalloc((size_t)n);
    for (int i = 0, first = 0; i < n_files; first += count[i++])
        if ((rc = cifar_read_file(k, f[i], path[i], count[i], images + (size_t)first * CIFAR_PIXELS,
                                  labels + first)))
            goto out;
    *s = (CifarSet){(int)n, k->classes, images, labels};
    images = labels = NULL; // owned by s now
out:
    for (int i = 0; i < n_files; i++)
        if (f[i]) fclose(f[i]);
    free(images);
    free(labels);
    return rc;
}
