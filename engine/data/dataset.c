/* engine/data/dataset.c — the registry of dataset.h and the in-memory dataset.
 *
 * The registry is one const table (name, split sizes, loader); dataset_names() is made from it.
 * The file formats are io's: Fashion-MNIST's IDX files (io/idx.h; the (n, 28, 28) images are
 * already (n, h, w, 1) HWC) and CIFAR's binary records (io/cifar.h), whose buffers move into the
 * Dataset.
 */
#include "dataset.h"

#include <stdio.h>  // snprintf
#include <string.h> // memset, strcmp

#include "../core/rng.h"  // the synthetic set's pixels
#include "../io/cifar.h" // cifar_load
#include "../io/idx.h"   // fmnist_load

// ---------------------------------------------------------------------------------------------
// in-memory datasets: images (n, h, w, c) and labels (n) owned by the Dataset

static const uint8_t *memory_get(const Dataset *ds, int i, uint8_t *buf, size_t buf_size, int *label)
{
    CHECK(i >= 0 && i < ds->n, "%s: sample %d outside 0..%d", ds->name, i, ds->n - 1);
    *label = ds->labels[i];
    return ds->images + (size_t)i * ds->h * ds->w * ds->c;
}

static void memory_release(Dataset *ds)
{
    free(ds->images);
    free(ds->labels);
    ds->images = ds->labels = NULL;
}

void dataset_init_memory(Dataset *ds, const char *name, int n, int classes, int h, int w, int c,
                         uint8_t *images, uint8_t *labels)
{
    CHECK(n > 0 && classes > 0 && h > 0 && w > 0 && c > 0 && images && labels,
          "dataset_init_memory: %s n=%d classes=%d (%d,%d,%d)", name, n, classes, h, w, c);
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->n = n;
    ds->classes = classes;
    ds->h = h;
    ds->w = w;
    ds->c = c;
    ds->images = images;
    ds->labels = labels;
    ds->get = memory_get;
    ds->release = memory_release;
}

// ---------------------------------------------------------------------------------------------
// the registry

static int fmnist_open(Dataset *ds, const char *dir, bool train)
{
    IdxSet s;
    int rc = fmnist_load(&s, dir, train);
    if (rc) return rc;
    dataset_init_memory(ds, "fmnist", s.n, 10, s.h, s.w, 1, s.images, s.labels); // takes the buffers
    return 0;
}

static int cifar_open(Dataset *ds, const char *dir, bool train, bool cifar100)
{
    CifarSet s;
    int rc = cifar_load(&s, dir, train, cifar100);
    if (rc) return rc;
    dataset_init_memory(ds, cifar100 ? "cifar100" : "cifar10", s.n, s.classes, 32, 32, 3, s.images, s.labels);
    return 0;
}

static int cifar10_open(Dataset *ds, const char *dir, bool train) { return cifar_open(ds, dir, train, false); }
static int cifar100_open(Dataset *ds, const char *dir, bool train) { return cifar_open(ds, dir, train, true); }

// random pixels, for benchmarks and smoke tests that need no files: 128x128 RGB (an Imagenette
// size), labels i mod 10, every pixel a Philox draw of (split, image, position)
enum { SYN_N_TRAIN = 2048, SYN_N_TEST = 1280, SYN_HW = 128 };

static int synthetic_open(Dataset *ds, const char *dir, bool train)
{
    int n = train ? SYN_N_TRAIN : SYN_N_TEST;
    size_t per = (size_t)SYN_HW * SYN_HW * 3;
    uint8_t *images = xmalloc((size_t)n * per), *labels = xmalloc((size_t)n);
    uint64_t key = rng_key(train ? 1 : 2, 0x53594e54); // "SYNT"
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        labels[i] = (uint8_t)(i % 10);
        for (size_t j = 0; j < per; j += 4) {
            Philox4 r = rng_block(key, (uint64_t)i, j / 4);
            for (size_t k = 0; k < 4 && j + k < per; k++) images[(size_t)i * per + j + k] = (uint8_t)(r.v[k] >> 24);
        }
    }
    dataset_init_memory(ds, "synthetic", n, 10, SYN_HW, SYN_HW, 3, images, labels);
    return 0;
}

static const DatasetInfo registry[] = {
    {"fmnist", 60000, 10000, fmnist_open},
    {"cifar10", 50000, 10000, cifar10_open},
    {"cifar100", 50000, 10000, cifar100_open},
    {"imagenet", 1281167, 50000, NULL}, // ILSVRC-2012: no folder reader yet
    {"synthetic", SYN_N_TRAIN, SYN_N_TEST, synthetic_open},
};

const DatasetInfo *dataset_info(const char *name)
{
    for (int i = 0; i < LEN(registry); i++)
        if (!strcmp(registry[i].name, name)) return &registry[i];
    return NULL;
}

const char *dataset_names(void)
{
    static char buf[256];
    if (!buf[0])
        for (int i = 0, at = 0; i < LEN(registry); i++)
            if (registry[i].open)
                at += snprintf(buf + at, sizeof buf - (size_t)at, "%s%s", at ? ", " : "", registry[i].name);
    return buf;
}

const char *dataset_names_all(void)
{
    static char buf[256];
    if (!buf[0])
        for (int i = 0, at = 0; i < LEN(registry); i++)
            at += snprintf(buf + at, sizeof buf - (size_t)at, "%s%s%s", i ? ", " : "", registry[i].name,
                           registry[i].open ? "" : " (no reader yet)");
    return buf;
}

bool dataset_known(const char *name)
{
    const DatasetInfo *d = dataset_info(name);
    return d && d->open;
}

int dataset_load(Dataset *ds, const char *name, const char *dir, bool train)
{
    CHECK(name, "dataset_load: name is NULL");
    memset(ds, 0, sizeof *ds);
    if (dir && !dir[0]) dir = NULL;
    const DatasetInfo *d = dataset_info(name);
    if (d && d->open) {
        int rc = d->open(ds, dir, train);
        if (rc) memset(ds, 0, sizeof *ds);
        return rc;
    }
    if (d) log_error("dataset '%s': this build has no reader for it (valid: %s)", name, dataset_names());
    else log_error("dataset '%s' is unknown (valid: %s)", name, dataset_names());
    return ERR_ARG;
}

void dataset_free(Dataset *ds)
{
    if (ds->release) ds->release(ds);
    memset(ds, 0, sizeof *ds);
}

void dataset_limit(Dataset *ds, int n)
{
    CHECK(n >= 0, "dataset_limit: %s: n = %d (0 keeps all samples)", ds->name, n);
    if (n > 0 && n < ds->n) ds->n = n;
}
