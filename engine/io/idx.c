/* engine/io/idx.c — the IDX reader of idx.h, through zlib (gzread reads plain files too). */
#include "idx.h"

#include <stdio.h>  // snprintf
#include <string.h> // memset
#include <zlib.h>   // gzopen, gzread

static uint32_t be32(const uint8_t b[4])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

// reads a whole IDX file: magic must be `magic`, ndim big-endian sizes into dims, then the data
static int read_idx(const char *path, uint32_t magic, int ndim, uint32_t *dims, uint8_t **data)
{
    int rc = ERR_FORMAT;
    *data = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        log_error("%s: cannot open (is dataset-fashion-mnist installed? run make deps, or set "
                  "FMNIST_DIR)", path);
        return ERR_IO;
    }
    uint8_t head[16];
    size_t want = 4 * (size_t)(1 + ndim);
    if (gzread(f, head, (unsigned)want) != (int)want) {
        log_error("%s: truncated header (%zu bytes expected)", path, want);
        goto out;
    }
    if (be32(head) != magic) {
        log_error("%s: magic 0x%08x, expected 0x%08x (an IDX file of %d dimensions)", path,
                  be32(head), magic, ndim);
        goto out;
    }
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(head + 4 * (i + 1));
        if (dims[i] == 0 || dims[i] > (1u << 24)) {
            log_error("%s: dimension %d is %u (expected 1..%u)", path, i, dims[i], 1u << 24);
            goto out;
        }
        total *= dims[i];
    }
    *data = xmalloc(total);
    if ((size_t)gzread(f, *data, (unsigned)total) != total) {
        log_error("%s: truncated data (%zu bytes expected after the header)", path, total);
        goto out;
    }
    uint8_t extra;
    if (gzread(f, &extra, 1) != 0) {
        log_error("%s: trailing bytes after %zu data bytes", path, total);
        goto out;
    }
    rc = 0;
out:
    gzclose(f);
    if (rc) { free(*data); *data = NULL; }
    return rc;
}

int idx_load(IdxSet *s, const char *images_path, const char *labels_path, int classes)
{
    memset(s, 0, sizeof *s);
    uint32_t di[3], dl[1];
    int rc = read_idx(images_path, 0x00000803u, 3, di, &s->images);
    if (rc) return rc;
    rc = read_idx(labels_path, 0x00000801u, 1, dl, &s->labels);
    if (rc) { idx_free(s); return rc; }
    if (dl[0] != di[0]) {
        log_error("%s has %u labels but %s has %u images", labels_path, dl[0], images_path, di[0]);
        idx_free(s);
        return ERR_FORMAT;
    }
    for (uint32_t i = 0; i < dl[0]; i++)
        if (s->labels[i] >= classes) {
            log_error("%s: label %u of sample %u outside 0..%d", labels_path, s->labels[i], i,
                      classes - 1);
            idx_free(s);
            return ERR_FORMAT;
        }
    s->n = (int)di[0];
    s->h = (int)di[1];
    s->w = (int)di[2];
    return 0;
}

void idx_free(IdxSet *s)
{
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

int fmnist_load(IdxSet *s, const char *dir, bool train)
{
    if (!dir) dir = getenv("FMNIST_DIR");
    if (!dir) dir = "/usr/share/datasets/fashion-mnist";
    char img[1024], lab[1024];
    const char *split = train ? "train" : "t10k";
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    return idx_load(s, img, lab, 10);
}
