/* engine/io/safetensors.h — the safetensors format: checkpoints that timm and PyTorch read.
 *
 * A file is: u64 little-endian header length N, N bytes of JSON
 *   {"NAME": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the tensors' bytes (offsets relative to the end of the header), little endian, row-major.
 * The writer stores float32, float64 and int64 tensors (F32, F64, I64: weights, run logs, and
 * PyTorch's int64 num_batches_tracked) and string metadata; the reader checks every field (JSON
 * syntax, dtype, shape against the byte range, ranges inside the file) and names the file and
 * tensor when something is wrong. Writes go to PATH.tmp, then rename (io/atomic.h).
 * Checksums: the writer adds a metadata entry "crc32.NAME" (zlib's CRC-32 of the tensor's bytes, 8
 * hex digits) for every tensor; the reader verifies every tensor of a file that has them (a file
 * with one has them all; others, timm's or PyTorch's, have none), so one flipped bit in a tensor is
 * an error naming it, never numbers read silently.
 */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include "../core/core.h"

typedef struct {
    char        name[128];
    char        dtype[8];       // "F32", "F64", "I64" (what this suite writes); others are read as bytes
    int         ndim;
    int64_t     dims[8];
    size_t      begin, end;     // byte range in the data section
} StEntry;

typedef struct {
    StEntry *e;
    int      n;
    char    *(*meta)[2];        // metadata key/value pairs (owned strings)
    int      n_meta;
    uint8_t *data;              // the data section
    size_t   data_len;
} StFile;

// the element types st_write writes: float32 (weights), float64 (run logs that must keep every
// digit), int64 (PyTorch's num_batches_tracked)
typedef enum { ST_F32, ST_F64, ST_I64 } StDtype;

// a tensor to write: ndim 0 is a scalar (shape [], one element); data is host memory, little endian
typedef struct { const char *name; int ndim; const int64_t *dims; const void *data; StDtype dtype; } StTensor;

// writes the tensors in order, metadata first; 0, or ERR_IO with one line (PATH is then untouched)
int  st_write(const char *path, const StTensor *t, int n, const char *const (*meta)[2], int n_meta);
int  st_read(StFile *f, const char *path);       // 0, or ERR_IO / ERR_FORMAT with one line
void st_free(StFile *f);
const StEntry *st_find(const StFile *f, const char *name); // NULL when absent
const char    *st_meta(const StFile *f, const char *key);  // NULL when absent
size_t         st_numel(const StEntry *e);                  // elements (1 for a scalar)

#endif
