/* engine/io/idx.h — the IDX file format of (Fashion-)MNIST, gzip-compressed or plain.
 *
 * An image file: magic 0x00000803 (unsigned bytes, 3 dimensions), count, rows, cols (big endian),
 * then count*rows*cols bytes; a label file: magic 0x00000801, count, then count bytes. The
 * reader checks magic numbers, counts, sizes, label range and the exact file length, and names
 * the file and the value that is wrong. The engine reaches it through dataset.h, whose registry
 * wraps fmnist_load as the dataset "fmnist" (c = 1).
 */
#ifndef IDX_H
#define IDX_H

#include "../core/core.h"

typedef struct {
    int      n, h, w;  // images and their size
    uint8_t *images;   // (n, h, w) row-major, 0..255
    uint8_t *labels;   // (n)
} IdxSet;

// loads an image file and its label file; labels must be < classes. 0, or ERR_IO / ERR_FORMAT
// with one line printed naming the file
int  idx_load(IdxSet *s, const char *images_path, const char *labels_path, int classes);
void idx_free(IdxSet *s);

// Fashion-MNIST from dir (NULL: $FMNIST_DIR, else /usr/share/datasets/fashion-mnist, as Debian's
// dataset-fashion-mnist installs it); train or test split
int  fmnist_load(IdxSet *s, const char *dir, bool train);

#endif
