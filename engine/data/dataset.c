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

#include <stdlib.h>   // getenv
#include <sys/stat.h> // stat: which files a folder holds

#include "../core/rng.h"  // the synthetic set's pixels
#include "../io/cifar.h" // cifar_load
#include "../io/idx.h"   // fmnist_load
#include "../io/shard.h" // shard_open: the splits' class names agree
#include "photos.h"      // the image-folder sets' shards

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

static bool is_file(const char *p) { struct stat st; return stat(p, &st) == 0 && S_ISREG(st.st_mode); }
static bool is_dir(const char *p) { struct stat st; return stat(p, &st) == 0 && S_ISDIR(st.st_mode); }

// the folder of set d: dir, else $env, else the default folder; NULL when none is given
static const char *location(const DatasetInfo *d, const char *dir)
{
    if (dir) return dir;
    const char *e = d->env ? getenv(d->env) : NULL;
    return e && e[0] ? e : d->dir;
}

// the other split's shard, when there, has the same class folders in the same order: a val tree
// without one class would shift every label after it. 0, or ERR_FORMAT (ds freed) with one line
static int same_classes(Dataset *ds, const DatasetInfo *d, const char *where, bool train)
{
    char other[1100];
    snprintf(other, sizeof other, "%s/%s.shard", where, d->splits[train ? 1 : 0]);
    Shard o;
    if (!is_file(other) || shard_open(&o, other)) return 0; // its own load will say what is wrong
    int k = 0;
    while (k < o.classes && k < ds->classes && !strcmp(o.class_names[k], ds->class_names[k])) k++;
    int rc = 0;
    if (k < o.classes || k < ds->classes) {
        log_error("dataset %s: the splits' class folders differ at class %d: '%s' in %s/%s.shard, '%s' in %s (labels "
                  "would not match)", d->name, k, k < ds->classes ? ds->class_names[k] : "(none)", where,
                  d->splits[train ? 0 : 1], k < o.classes ? o.class_names[k] : "(none)", other);
        dataset_free(ds);
        rc = ERR_FORMAT;
    }
    shard_close(&o);
    return rc;
}

// an image-folder set: DIR/<split>.shard (repro data pack DIR/<split> --out DIR/<split>.shard)
static int folder_open(Dataset *ds, const DatasetInfo *d, const char *dir, bool train)
{
    const char *where = location(d, dir), *split = d->splits[train ? 0 : 1];
    if (!where) {
        log_error("dataset %s: no folder: set data.dir or $%s to the folder of %s.shard and %s.shard (%s)", d->name,
                  d->env, d->splits[0], d->splits[1], d->about);
        return ERR_ARG;
    }
    char shard[1100], folder[1100];
    snprintf(shard, sizeof shard, "%s/%s.shard", where, split);
    snprintf(folder, sizeof folder, "%s/%s", where, split);
    if (is_file(shard)) {
        int rc = photos_open(ds, d->name, shard, d->classes);
        if (!rc) rc = same_classes(ds, d, where, train);
        return rc;
    }
    if (is_dir(folder))
        log_error("dataset %s: %s is an image folder without its shard; pack it once: bin/repro data pack %s --out %s "
                  "(make data does so for the shared sets)", d->name, folder, folder, shard);
    else
        log_error("dataset %s: neither %s nor a folder %s (%s; set data.dir or $%s)", d->name, shard, folder, d->about,
                  d->env);
    return ERR_IO;
}

static const DatasetInfo *info_of(const char *name);

bool dataset_present(const char *name, const char *dir)
{
    const DatasetInfo *d = dataset_info(name);
    if (!d || !d->open) return false;
    if (dir && !dir[0]) dir = NULL;
    const char *where = location(d, dir);
    if (!d->splits[0]) return true; // readers of fixed files say themselves what is missing
    if (!where) return false;
    char p[1100];
    bool any = false;
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s.shard", where, d->splits[k]);
        any = is_file(p);
        if (!any) break;
    }
    if (!any && !strcmp(name, "cifar10")) { // the binary release, read by cifar_load
        snprintf(p, sizeof p, "%s/data_batch_1.bin", where);
        if (is_file(p)) return true;
        snprintf(p, sizeof p, "%s/cifar-10-batches-bin/data_batch_1.bin", where);
        return is_file(p);
    }
    return any;
}

// CIFAR-10: the JPEG set's shards when the folder holds them (or their image folders), else the
// binary release's .bin files
static int cifar10_open(Dataset *ds, const char *dir, bool train)
{
    const DatasetInfo *d = info_of("cifar10");
    const char *where = location(d, dir);
    char p[1100];
    snprintf(p, sizeof p, "%s/%s", where, d->splits[train ? 0 : 1]);
    bool jpeg = is_dir(p);
    snprintf(p, sizeof p, "%s/%s.shard", where, d->splits[train ? 0 : 1]);
    if (jpeg || is_file(p)) return folder_open(ds, d, where, train);
    return cifar_open(ds, where, train, false);
}

static int cifar100_open(Dataset *ds, const char *dir, bool train) { return cifar_open(ds, dir, train, true); }
static int imagenette_open(Dataset *ds, const char *dir, bool train) { return folder_open(ds, info_of("imagenette"), dir, train); }
static int imagenet_open(Dataset *ds, const char *dir, bool train) { return folder_open(ds, info_of("imagenet"), dir, train); }

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

#define IMAGENET_STATS {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}
static const DatasetInfo registry[] = {
    {"fmnist", 60000, 10000, fmnist_open, 10, 1, {0.2860f}, {0.3530f}, "FMNIST_DIR", "/usr/share/datasets/fashion-mnist",
     {NULL, NULL}, "Debian's dataset-fashion-mnist (make deps)"},
    // the statistics usually quoted for CIFAR-10's original pixels
    {"cifar10", 50000, 10000, cifar10_open, 10, 3, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f},
     "CIFAR_DIR", "data/cifar10", {"train", "test"},
     "the JPEG set of ../shared/data (make data), or the binary release cifar-10-binary.tar.gz from the CIFAR page "
     "of the University of Toronto"},
    {"cifar100", 50000, 10000, cifar100_open, 100, 3, {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f},
     "CIFAR_DIR", NULL, {NULL, NULL}, "the binary release cifar-100-binary.tar.gz from the CIFAR page"},
    {"imagenette", 9469, 3925, imagenette_open, 10, 3, IMAGENET_STATS, "IMAGENETTE_DIR", "data/imagenette-160",
     {"train", "val"},
     "../shared/data's 160x160 set (make data), or fast.ai's imagenette2-160.tgz unpacked and packed"},
    {"imagenet", 1281167, 50000, imagenet_open, 1000, 3, IMAGENET_STATS, "IMAGENET_DIR", NULL, {"train", "val"},
     "ILSVRC-2012's train/ and val/ folders, the validation images sorted into class folders, packed"},
    {"synthetic", SYN_N_TRAIN, SYN_N_TEST, synthetic_open, 10, 3, {0.5f, 0.5f, 0.5f}, {0.2887f, 0.2887f, 0.2887f},
     NULL, NULL, {NULL, NULL}, "random pixels made here"},
};

static const DatasetInfo *info_of(const char *name)
{
    const DatasetInfo *d = dataset_info(name);
    CHECK(d, "dataset registry: no row %s", name);
    return d;
}

const DatasetInfo *dataset_infos(int *n)
{
    *n = LEN(registry);
    return registry;
}

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
    if (n > 0 && n < ds->n) {
        if (ds->limit) ds->limit(ds, n);
        else ds->n = n;
    }
}
