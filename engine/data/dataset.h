/* engine/data/dataset.h — datasets by name, behind one small interface.
 *
 * A Dataset hands out sample i as (h, w, c) uint8 pixels (HWC) and its label through get(); the
 * loader (loader.h) talks to nothing else, so a new source is one reader file plus one row of the
 * registry in dataset.c (Caffe's layer factory: an unknown name is an error listing the valid
 * ones). Two kinds of reader fit:
 *   - in-memory sets (Fashion-MNIST through io/idx.h, CIFAR-10/100 through io/cifar.h) hold every pixel
 *     in `images` and return pointers into it; buf is not touched.
 *   - readers that decode on demand leave images and labels NULL, write sample i into the
 *     caller's buf and return buf;
 *   - readers of encoded images whose sizes vary (photos.c: a shard of ImageNet, Imagenette) set
 *     h = w = 0 and hand out the encoded bytes through encoded() instead: the loader decodes them
 *     with the crop it is about to take (augment_train_encoded), which is most of the speed.
 * get() must be safe to call from several threads at once (the loader's workers do): in-memory
 * sets are read-only, and a decoding reader keeps per-call state on the stack or in buf.
 */
#ifndef DATASET_H
#define DATASET_H

#include "../core/core.h"
#include "../io/image.h" // ImgInfo

typedef struct Dataset Dataset;
struct Dataset {
    char name[32];            // "fmnist", "cifar10", "cifar100"
    int  n, classes;          // samples, labels are 0 .. classes-1
    int  h, w, c;             // fixed image size (HWC, uint8); 0, 0 for a reader of varying sizes
    uint8_t *images, *labels; // in-memory sets: (n, h, w, c) and (n); NULL for decoding readers
    // sample i (0 <= i < n): its pixels (h, w, c) and *label. In-memory sets return a pointer into
    // images; decoding readers write into buf (buf_size bytes) and return buf. NULL with one line
    // printed on error.
    const uint8_t *(*get)(const Dataset *ds, int i, uint8_t *buf, size_t buf_size, int *label);
    // readers of encoded images (h = w = 0; get is NULL): sample i's bytes (*n of them), label,
    // header and a name for messages (its path in the packed folder)
    const uint8_t *(*encoded)(const Dataset *ds, int i, size_t *n, int *label, ImgInfo *info, const char **name);
    const char *const *class_names; // (classes) when the files name them (image folders), else NULL
    void (*release)(Dataset *ds); // frees what the reader owns (dataset_free calls it)
    // keeps n samples spread over the whole set (readers whose order is sorted by class: the
    // first n would be one class); NULL: the first n (dataset_limit)
    void (*limit)(Dataset *ds, int n);
    void *impl;                   // reader-private state
};

// the registry: every data set the suite knows by name, with its published split sizes (budgets
// before any data is read) and its reader. A set without a reader in this build (ImageNet, until
// its folder reader lands) is known by its sizes but cannot be loaded
typedef struct {
    const char *name;               // "fmnist", "cifar10", "cifar100", "imagenet"
    int         n_train, n_test;    // the published splits
    // loads a split from dir (NULL: the set's default location); NULL: no reader here
    int (*open)(Dataset *ds, const char *dir, bool train);
    int         classes, channels;
    float       mean[3], std[3];    // the usual normalization statistics, on [0,1] pixels
    const char *env, *dir;          // the variable naming its folder, and the default folder
    const char *splits[2];          // image folders: the train and eval splits' folder names
    const char *about;              // where it comes from (repro data list)
} DatasetInfo;

// the registry's row of `name`, NULL when it has none
const DatasetInfo *dataset_info(const char *name);
// the registry's rows, *n of them (repro data list)
const DatasetInfo *dataset_infos(int *n);
// loads the train or test split of dataset `name` from dir; dir NULL or "" is the default
// location: fmnist $FMNIST_DIR, else /usr/share/datasets/fashion-mnist (Debian's
// dataset-fashion-mnist); cifar10 $CIFAR_DIR, else data/cifar10 (make data: the JPEG set's
// shards; a folder of the binary release's .bin files is read as well); cifar100 $CIFAR_DIR, else
// an error naming the variable; imagenette $IMAGENETTE_DIR, else data/imagenette-160; imagenet
// $IMAGENET_DIR, else an error. Image-folder sets read <folder>/<split>.shard (repro data pack). Returns 0, ERR_ARG
// for a name without a reader (the line lists the valid ones) or a missing location, ERR_IO or
// ERR_FORMAT from the reader, with one line printed; on error *ds is zeroed and owns nothing.
int  dataset_load(Dataset *ds, const char *name, const char *dir, bool train);
const char *dataset_names(void);      // the names dataset_load reads: "fmnist, cifar10, cifar100, ..."
const char *dataset_names_all(void);  // every registry name, those without a reader marked so
bool dataset_known(const char *name); // can dataset_load read it? (recipes check it early)
// are `name`'s files at dir (NULL: the default location)? The image-folder sets: both splits'
// shards; the others: true (their readers say what is missing when they load)
bool dataset_present(const char *name, const char *dir);
void dataset_free(Dataset *ds);  // releases and zeroes *ds; a zeroed Dataset is fine
// keeps n samples (0 = all; n > ds->n keeps all): the first n, or for the image-folder sets, whose
// files come class by class, samples floor(i ds->n / n) for i < n (every class in proportion)
void dataset_limit(Dataset *ds, int n);

// an in-memory dataset that takes ownership of images (n, h, w, c) and labels (n), both xmalloc'd
// (what the registry's readers of io/ give)
void dataset_init_memory(Dataset *ds, const char *name, int n, int classes, int h, int w, int c,
                         uint8_t *images, uint8_t *labels);

#endif
