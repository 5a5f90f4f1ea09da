/* engine/io/safetensors.h — the safetensors format: checkpoints that timm and PyTorch read.
 *
 * A file is: u64 little-endian header length N, N bytes of JSON
 *   {"NAME": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the tensors' bytes (offsets relative to the end of the header), little endian, row-major.
 * The writer stores float32 tensors and string metadata; the reader checks every field (JSON
 * syntax, dtype, shape against the byte range, ranges inside the file, no overlap) and names the
 * file and tensor when something is wrong. Writes go to PATH.tmp, then rename.
 */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include "../core/core.h"

typedef struct {
    char        name[128];
    char        dtype[8];       // "F32" (the only dtype this suite writes), others are read as bytes
    int         ndim;
    int64_t     dims[8];
    size_t      begin, end;     // byte range in the data section
} StEntry;

typedef struct {
    StEntry *e;
    int      n;
    char   (*meta)[2][256];     // metadata key/value pairs
    int      n_meta;
    uint8_t *data;              // the data section
    size_t   data_len;
} StFile;

// a tensor to write: float32 data, or float64 when f64 (run logs that must keep every digit)
typedef struct { const char *name; int ndim; const int64_t *dims; const void *data; bool f64; } StTensor;

int  st_write(const char *path, const StTensor *t, int n, const char *const (*meta)[2], int n_meta);
int  st_read(StFile *f, const char *path);       // 0, or ERR_IO / ERR_FORMAT with one line
void st_free(StFile *f);
const StEntry *st_find(const StFile *f, const char *name);
const char    *st_meta(const StFile *f, const char *key); // NULL when absent
size_t         st_numel(const StEntry *e);

#endif
