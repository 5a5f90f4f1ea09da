/* engine/io/npy.c — the .npy reader and writer (npy.h).
 *
 * The header is parsed as exactly the dict numpy writes (any key order, either quote, optional
 * trailing comma); numpy itself rejects a header with other keys, and so do we.
 */
#include "npy.h"

#include <errno.h>  // errno
#include <stdio.h>  // FILE
#include <string.h> // memcmp, strcmp, strerror

#include "atomic.h" // atomic_open, atomic_close: PATH.tmp, then rename
#include "scan.h"   // scan_ws, scan_eat, scan_str

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
enum { NPY_ALIGN = 64 };          // numpy >= 1.14 aligns the data to 64 bytes
enum { NPY_MAX_HEADER = 1 << 16 }; // far above any float32 array's dict

// ---------------------------------------------------------------------------------------------
// the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

typedef Scan Lit; // the header parser's state (io/scan.h)

// True or False
static bool lit_bool(Lit *l, bool *v)
{
    scan_ws(l);
    size_t left = (size_t)(l->end - l->p);
    if (left >= 4 && !memcmp(l->p, "True", 4)) { *v = true; l->p += 4; return true; }
    if (left >= 5 && !memcmp(l->p, "False", 5)) { *v = false; l->p += 5; return true; }
    l->err = "fortran_order is neither True nor False";
    return false;
}

// a tuple of non-negative integers: (), (5,), (2, 3)
static bool lit_shape(Lit *l, int64_t *dims, int *ndim)
{
    *ndim = 0;
    if (!scan_eat(l, '(')) { l->err = "shape is not a tuple"; return false; }
    while (!scan_eat(l, ')')) {
        if (*ndim == NPY_MAX_DIMS) { l->err = "shape has more than 8 dimensions"; return false; }
        scan_ws(l);
        int64_t v = 0;
        const char *start = l->p;
        const int64_t big = (int64_t)1 << 40; // no array here has a side this long
        while (l->p < l->end && *l->p >= '0' && *l->p <= '9' && v < big) v = v * 10 + (*l->p++ - '0');
        if (l->p == start || v >= big) { l->err = "shape holds something other than sizes"; return false; }
        dims[(*ndim)++] = v;
        if (!scan_eat(l, ',')) {
            if (!scan_eat(l, ')')) { l->err = "shape tuple not closed"; return false; }
            break;
        }
    }
    return true;
}

// parses the dict into *descr, *fortran, dims; false with l->err on anything else
static bool lit_header(Lit *l, char descr[16], bool *fortran, int64_t *dims, int *ndim)
{
    bool has_descr = false, has_order = false, has_shape = false;
    if (!scan_eat(l, '{')) { l->err = "the header is not a dict"; return false; }
    while (!scan_eat(l, '}')) {
        char key[32];
        if (!scan_str(l, "'\"", key, sizeof key)) return false;
        if (!scan_eat(l, ':')) { l->err = "expected : after a key"; return false; }
        if (!strcmp(key, "descr")) has_descr = scan_str(l, "'\"", descr, 16);
        else if (!strcmp(key, "fortran_order")) has_order = lit_bool(l, fortran);
        else if (!strcmp(key, "shape")) has_shape = lit_shape(l, dims, ndim);
        else { l->err = "unknown key in the header (valid: descr, fortran_order, shape)"; return false; }
        if (l->err) return false;
        if (!scan_eat(l, ',')) {
            if (!scan_eat(l, '}')) { l->err = "expected , or } in the header dict"; return false; }
            break;
        }
    }
    if (!has_descr || !has_order || !has_shape) {
        l->err = "the header lacks descr, fortran_order or shape";
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------

void npy_free(NpyArray *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

int npy_read(NpyArray *a, const char *path)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_error("npy file %s: cannot open (%s)", path, strerror(errno));
        return ERR_IO;
    }
    int rc = ERR_FORMAT;
    char *hdr = NULL;
    uint8_t pre[12];
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    if (size < 10 || fread(pre, 1, 10, f) != 10 || memcmp(pre, NPY_MAGIC, 6)) {
        log_error("npy file %s: not a .npy file (it does not start with \\x93NUMPY)", path);
        goto out;
    }
    int major = pre[6], minor = pre[7];
    size_t hlen = pre[8] | (size_t)pre[9] << 8, start = 10;
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        log_error("npy file %s: format version %d.%d (readable: 1.0, 2.0, 3.0)", path, major, minor);
        goto out;
    }
    if (major >= 2) { // a u32 header length
        if (fread(pre + 10, 1, 2, f) != 2) { log_error("npy file %s: truncated header", path); goto out; }
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        start = 12;
    }
    if (hlen > NPY_MAX_HEADER || start + hlen > (size_t)size) {
        log_error("npy file %s: a header of %zu bytes does not fit the %ld-byte file", path, hlen, size);
        goto out;
    }
    hdr = xmalloc(hlen + 1);
    if (fread(hdr, 1, hlen, f) != hlen) { log_error("npy file %s: truncated header", path); goto out; }
    char descr[16] = "";
    bool fortran = false;
    Lit l = {hdr, hdr + hlen, NULL};
    if (!lit_header(&l, descr, &fortran, a->dims, &a->ndim)) {
        log_error("npy file %s: malformed header near byte %ld: %s", path, (long)(start + (size_t)(l.p - hdr)), l.err);
        goto out;
    }
    if (strcmp(descr, "<f4")) {
        log_error("npy file %s: dtype '%s'; only little-endian float32 '<f4' is read (numpy: "
                  "np.save(path, x.astype('<f4')))", path, descr);
        goto out;
    }
    a->numel = 1;
    for (int i = 0; i < a->ndim; i++) a->numel *= (size_t)a->dims[i];
    if (fortran && a->ndim > 1) {
        log_error("npy file %s: Fortran (column-major) order; only C order is read (numpy: "
                  "np.save(path, np.ascontiguousarray(x)))", path);
        goto out;
    }
    size_t have = (size_t)size - start - hlen, want = a->numel * sizeof(float);
    if (have != want) {
        log_error("npy file %s: shape %s needs %zu data bytes, the file has %zu (%s)", path,
                  DIMS_STR(a->ndim, a->dims), want, have, have < want ? "truncated" : "trailing bytes");
        goto out;
    }
    a->data = xmalloc(want ? want : 1);
    if (fread(a->data, 1, want, f) != want) {
        log_error("npy file %s: read failed (%s)", path, strerror(errno));
        rc = ERR_IO;
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    free(hdr);
    if (rc) npy_free(a);
    return rc;
}

int npy_write(const char *path, const float *data, int ndim, const int64_t *dims)
{
    CHECK(ndim >= 0 && ndim <= NPY_MAX_DIMS, "npy_write %s: %d dimensions (0 to %d)", path, ndim, NPY_MAX_DIMS);
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                     DIMS_STR(ndim, dims));
    while ((10 + n + 1) % NPY_ALIGN) hdr[n++] = ' '; // spaces, then '\n', to the data's alignment
    hdr[n++] = '\n';
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= (size_t)dims[i];
    uint8_t pre[10];
    memcpy(pre, NPY_MAGIC, 6);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (uint8_t)(n & 255);
    pre[9] = (uint8_t)(n >> 8);
    AtomicFile af;
    int rc = atomic_open(&af, path, "npy file");
    if (rc) return rc;
    bool ok = fwrite(pre, 1, 10, af.f) == 10 && fwrite(hdr, 1, (size_t)n, af.f) == (size_t)n &&
              fwrite(data, sizeof(float), numel, af.f) == numel;
    return atomic_close(&af, ok);
}
