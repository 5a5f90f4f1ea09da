/* engine/data/photos.c — data sets of encoded photographs: one shard per split (io/shard.h).
 *
 * Two kinds, by what the shard holds:
 *   - images all of one size whose pixels fit in memory (CIFAR-10 as JPEG: 50,000 of 32x32, 150
 *     MB) are decoded once, in parallel, at full scale (Pillow's pixels) into an in-memory set:
 *     training then costs what the binary release costs;
 *   - the rest (Imagenette, ImageNet: sizes vary, 13 GB of pixels at 1.28M images) stay encoded in
 *     the mapped shard; the loader decodes each sample with the crop it takes
 *     (augment_train_encoded, augment_eval_encoded).
 * Output is RGB (c = 3): grayscale and CMYK files are converted as Pillow's convert("RGB") does.
 */
#include "photos.h"

#include <stdio.h>  // snprintf
#include <string.h> // memset

#include "../io/shard.h" // shard_open

enum { MEMORY_MAX = 256 << 20 }; // bytes of pixels decoded up front at most (CIFAR-10: 150 MB; Imagenette 160: 727 MB stays encoded)

typedef struct {
    Shard shard;
    int  *pick; // (n) shard entries of the samples after dataset_limit; NULL: sample i is entry i
} Photos;

static void photos_release(Dataset *ds)
{
    Photos *p = ds->impl;
    free(ds->images);
    free(ds->labels);
    ds->images = ds->labels = NULL;
    if (p) {
        shard_close(&p->shard);
        free(p->pick);
    }
    free(p);
    ds->impl = NULL;
}

static const uint8_t *photos_encoded(const Dataset *ds, int i, size_t *n, int *label, ImgInfo *info,
                                     const char **name)
{
    const Photos *p = ds->impl;
    CHECK(i >= 0 && i < ds->n, "%s: sample %d outside 0..%d", ds->name, i, ds->n - 1);
    if (p->pick) i = p->pick[i];
    const ShardEntry *e = &p->shard.index[i];
    *n = e->size;
    *label = e->label;
    *info = shard_info(&p->shard, i);
    *name = shard_name(&p->shard, i);
    return shard_bytes(&p->shard, i);
}

static const uint8_t *photos_memory_get(const Dataset *ds, int i, uint8_t *buf, size_t buf_size, int *label)
{
    CHECK(i >= 0 && i < ds->n, "%s: sample %d outside 0..%d", ds->name, i, ds->n - 1);
    *label = ds->labels[i];
    return ds->images + (size_t)i * ds->h * ds->w * ds->c;
}

// dataset_limit: samples floor(i n_all / n), i < n (the shard's files come class by class)
static void photos_limit(Dataset *ds, int n)
{
    Photos *p = ds->impl;
    int all = ds->n;
    int *pick = xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) pick[i] = (int)((int64_t)i * all / n);
    if (ds->images) { // in memory: move the kept samples to the front (pick[i] >= i)
        size_t per = (size_t)ds->h * ds->w * ds->c;
        for (int i = 0; i < n; i++) {
            memmove(ds->images + (size_t)i * per, ds->images + (size_t)pick[i] * per, per);
            ds->labels[i] = ds->labels[pick[i]];
        }
        free(pick);
    } else {
        if (p->pick)
            for (int i = 0; i < n; i++) pick[i] = p->pick[pick[i]];
        free(p->pick);
        p->pick = pick;
    }
    ds->n = n;
}

// every image decoded into ds->images; 0 or the first failing image's error, its line printed
// once (the threads' messages are captured, log_capture)
static int decode_all(Dataset *ds, const Shard *s)
{
    size_t per = (size_t)ds->h * ds->w * ds->c;
    ds->images = xmalloc((size_t)ds->n * per);
    ds->labels = xmalloc((size_t)ds->n);
    int err = 0, first = ds->n;
    char first_msg[1400] = "";
#pragma omp parallel for schedule(dynamic, 256)
    for (int i = 0; i < ds->n; i++) {
        int rc;
#pragma omp atomic read
        rc = err;
        if (rc) continue;
        char name[1200], msg[1400];
        snprintf(name, sizeof name, "%s: %s", s->path, shard_name(s, i));
        log_capture(msg, sizeof msg);
        rc = img_decode(shard_bytes(s, i), s->index[i].size, name, 1, (ImgRect){0, 0, ds->h, ds->w}, ds->c,
                        ds->images + (size_t)i * per, per);
        log_capture(NULL, 0);
        ds->labels[i] = (uint8_t)s->index[i].label;
        if (rc) {
#pragma omp critical(photos_decode_all)
            if (i < first) {
                first = i;
                err = rc;
                snprintf(first_msg, sizeof first_msg, "%s", msg);
            }
        }
    }
    if (err) fputs(first_msg, stderr);
    return err;
}

int photos_open(Dataset *ds, const char *name, const char *path, int classes)
{
    memset(ds, 0, sizeof *ds);
    Photos *p = xcalloc(1, sizeof *p);
    int rc = shard_open(&p->shard, path);
    if (rc) {
        free(p);
        return rc;
    }
    const Shard *s = &p->shard;
    if (classes > 0 && s->classes != classes) {
        log_error("dataset %s: %s has %d classes (class folders), the set has %d: a shard of another set?", name,
                  path, s->classes, classes);
        shard_close(&p->shard);
        free(p);
        return ERR_FORMAT;
    }
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->n = s->n;
    ds->classes = s->classes;
    ds->c = 3;
    ds->impl = p;
    ds->release = photos_release;
    ds->limit = photos_limit;
    ds->class_names = s->class_names;
    bool same = true;
    for (int i = 1; i < s->n && same; i++) same = s->index[i].h == s->index[0].h && s->index[i].w == s->index[0].w;
    if (same && (double)s->n * s->index[0].h * s->index[0].w * 3 <= MEMORY_MAX && s->classes <= 256) {
        ds->h = s->index[0].h;
        ds->w = s->index[0].w;
        ds->get = photos_memory_get;
        if ((rc = decode_all(ds, s))) {
            photos_release(ds);
            memset(ds, 0, sizeof *ds);
        }
        return rc;
    }
    ds->encoded = photos_encoded;
    return 0;
}
