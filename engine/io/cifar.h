/* engine/io/cifar.h — the binary version of CIFAR-10 and CIFAR-100, read into memory.
 *
 * Only the file format: data/dataset.h's registry wraps it as the datasets "cifar10" and
 * "cifar100" (HWC uint8 images, c = 3). The records, the folder rules and the errors are described
 * in cifar.c.
 */
#ifndef CIFAR_H
#define CIFAR_H

#include "../core/core.h"

typedef struct {
    int      n, classes;
    uint8_t *images;   // (n, 32, 32, 3) HWC, 0..255
    uint8_t *labels;   // (n): CIFAR-100's fine label
} CifarSet;

// the train (data_batch_1..5.bin; CIFAR-100 train.bin) or test split from dir, the folder of the
// .bin files or its parent as the archives extract; dir NULL or "": $CIFAR_DIR, else an error
// naming the variable. 0, or ERR_ARG / ERR_IO / ERR_FORMAT with one line naming the file; on error
// *s owns nothing. Free the arrays with free()
int cifar_load(CifarSet *s, const char *dir, bool train, bool cifar100);

#endif
