/* engine/io/npy.h — NumPy .npy arrays of float32: inputs and logits that numpy and torch read.
 *
 * A file is: magic "\x93NUMPY", version (major, minor) 1.0, 2.0 or 3.0, the header length
 * (u16 little endian for 1.0, u32 for 2.0 and 3.0), the header — a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 32, 32, 3), }
 * padded with spaces and ended by '\n' so the data starts at a multiple of 64 bytes — then the
 * elements, row-major. Only what this suite exchanges is accepted: little-endian float32 ('<f4')
 * in C order; anything else is an error naming the file and what is wrong, with the numpy call
 * that fixes it. The writer writes version 1.0 (at most 8 dimensions: the header always fits its
 * u16 length), to PATH.tmp, then renames (io/atomic.h).
 */
#ifndef NPY_H
#define NPY_H

#include "../core/core.h"

enum { NPY_MAX_DIMS = 8 };

typedef struct {
    int     ndim;                // 0 for a scalar
    int64_t dims[NPY_MAX_DIMS];
    size_t  numel;               // the product of dims (1 for a scalar)
    float  *data;                // numel values, owned (npy_free)
} NpyArray;

// reads a float32 C-order array; 0, or ERR_IO / ERR_FORMAT with one line naming the file and the
// problem (magic, version, header, dtype, order, shape, size); *a is empty on failure
int  npy_read(NpyArray *a, const char *path);
// writes data (host memory, row-major, shape dims[0..ndim)) as '<f4'; 0, or ERR_IO with one line
int  npy_write(const char *path, const float *data, int ndim, const int64_t *dims);
void npy_free(NpyArray *a);

#endif
