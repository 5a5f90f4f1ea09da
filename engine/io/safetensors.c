/* engine/io/safetensors.c — safetensors writer and checking reader (safetensors.h). */
#include "safetensors.h"

#include <errno.h>  // errno
#include <stdio.h>  // FILE
#include <string.h> // strcmp, strerror
#include <zlib.h>   // crc32: a checksum per tensor

#include "atomic.h" // atomic_open, atomic_close: PATH.tmp, then rename
#include "scan.h"   // scan_ws, scan_eat, scan_str

// elements of a shape (1 for a scalar: ndim 0)
static size_t dims_numel(int ndim, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    return n;
}

size_t st_numel(const StEntry *e) { return dims_numel(e->ndim, e->dims); }

// ---------------------------------------------------------------------------------------------
// writing

typedef struct { char *s; size_t n, cap; } Buf;

static void put(Buf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        b->s = realloc(b->s, b->cap);
        CHECK(b->s, "safetensors: out of host memory");
    }
    memcpy(b->s + b->n, s, k + 1);
    b->n += k;
}

// a JSON string; our names and values are printable ASCII, anything else is escaped
static void put_str(Buf *b, const char *s)
{
    put(b, "\"");
    for (; *s; s++) {
        char c[8];
        if (*s == '"' || *s == '\\') snprintf(c, sizeof c, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) snprintf(c, sizeof c, "\\u%04x", (unsigned char)*s);
        else snprintf(c, sizeof c, "%c", *s);
        put(b, c);
    }
    put(b, "\"");
}

// the dtypes st_write writes: their names in the header and their sizes, indexed by StDtype
static const struct { const char *name; size_t size; } st_dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_I64] = {"I64", 8}};

static uint32_t tensor_crc(const void *data, size_t bytes)
{
    uLong c = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < bytes;) { // zlib takes a uInt length
        uInt k = (uInt)MIN(bytes - done, (size_t)1 << 30);
        c = crc32(c, (const Bytef *)data + done, k);
        done += k;
    }
    return (uint32_t)c;
}

int st_write(const char *path, const StTensor *t, int n, const char *const (*meta)[2], int n_meta)
{
    Buf h = {0};
    char num[64];
    size_t off = 0;
    put(&h, "{\"__metadata__\":{");
    for (int i = 0; i < n_meta; i++) {
        if (i) put(&h, ",");
        put_str(&h, meta[i][0]);
        put(&h, ":");
        put_str(&h, meta[i][1]);
    }
    for (int i = 0; i < n; i++) { // a checksum per tensor
        char key[160];
        snprintf(key, sizeof key, "crc32.%s", t[i].name);
        snprintf(num, sizeof num, "%08x",
                 tensor_crc(t[i].data, st_dtypes[t[i].dtype].size * dims_numel(t[i].ndim, t[i].dims)));
        if (i || n_meta) put(&h, ",");
        put_str(&h, key);
        put(&h, ":");
        put_str(&h, num);
    }
    put(&h, "}");
    for (int i = 0; i < n; i++) {
        CHECK(t[i].dtype >= ST_F32 && t[i].dtype <= ST_I64 && t[i].ndim >= 0 && t[i].ndim <= 8,
              "st_write %s: tensor %s has dtype %d, ndim %d", path, t[i].name, (int)t[i].dtype, t[i].ndim);
        put(&h, ",");
        put_str(&h, t[i].name);
        snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", st_dtypes[t[i].dtype].name);
        put(&h, num);
        for (int k = 0; k < t[i].ndim; k++) {
            snprintf(num, sizeof num, "%s%lld", k ? "," : "", (long long)t[i].dims[k]);
            put(&h, num);
        }
        size_t bytes = st_dtypes[t[i].dtype].size * dims_numel(t[i].ndim, t[i].dims);
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        put(&h, num);
        off += bytes;
    }
    put(&h, "}");
    while (h.n % 8) put(&h, " "); // the format pads the header with spaces to 8 bytes
    AtomicFile af;
    int rc = atomic_open(&af, path, "safetensors file");
    if (rc) {
        free(h.s);
        return rc;
    }
    uint64_t len = h.n;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(len >> (8 * i));
    bool ok = fwrite(le, 1, 8, af.f) == 8 && fwrite(h.s, 1, h.n, af.f) == h.n;
    for (int i = 0; ok && i < n; i++) { // little endian: this machine's layout (x86-64)
        size_t numel = dims_numel(t[i].ndim, t[i].dims);
        ok = fwrite(t[i].data, st_dtypes[t[i].dtype].size, numel, af.f) == numel;
    }
    free(h.s);
    return atomic_close(&af, ok);
}

// ---------------------------------------------------------------------------------------------
// reading: a small JSON parser for exactly the header's grammar

typedef Scan Json; // the header parser's state (io/scan.h)

static bool integer(Json *j, int64_t *v)
{
    scan_ws(j);
    char *e;
    errno = 0;
    long long x = strtoll(j->p, &e, 10);
    if (e == j->p || e > j->end || errno || x < 0) { j->err = "expected a non-negative integer"; return false; }
    j->p = e;
    *v = x;
    return true;
}

static bool int_array(Json *j, int64_t *v, int cap, int *n)
{
    *n = 0;
    if (!scan_eat(j, '[')) { j->err = "expected ["; return false; }
    if (scan_eat(j, ']')) return true;
    do {
        if (*n == cap) { j->err = "too many dimensions"; return false; }
        if (!integer(j, &v[(*n)++])) return false;
    } while (scan_eat(j, ','));
    if (!scan_eat(j, ']')) { j->err = "expected ]"; return false; }
    return true;
}

static bool entry(Json *j, StEntry *e)
{
    if (!scan_eat(j, '{')) { j->err = "expected { after a tensor name"; return false; }
    bool dtype = false, shape = false, offs = false;
    do {
        char key[32];
        if (!scan_str(j, "\"", key, sizeof key) || !scan_eat(j, ':')) { if (!j->err) j->err = "expected :"; return false; }
        if (!strcmp(key, "dtype")) dtype = scan_str(j, "\"", e->dtype, sizeof e->dtype);
        else if (!strcmp(key, "shape")) shape = int_array(j, e->dims, 8, &e->ndim);
        else if (!strcmp(key, "data_offsets")) {
            int64_t o[2];
            int k;
            offs = int_array(j, o, 2, &k) && k == 2;
            if (offs) { e->begin = (size_t)o[0]; e->end = (size_t)o[1]; }
            else if (!j->err) j->err = "data_offsets needs two numbers";
        } else { j->err = "unknown tensor field (valid: dtype, shape, data_offsets)"; return false; }
        if (j->err) return false;
    } while (scan_eat(j, ','));
    if (!scan_eat(j, '}')) { j->err = "expected }"; return false; }
    if (!dtype || !shape || !offs) { j->err = "a tensor needs dtype, shape and data_offsets"; return false; }
    return true;
}

// scratch: room for any string of the header (its length + 1)
static bool metadata(Json *j, StFile *f, char *scratch, size_t cap)
{
    if (!scan_eat(j, '{')) { j->err = "expected { after __metadata__"; return false; }
    if (scan_eat(j, '}')) return true;
    do {
        f->meta = xrealloc(f->meta, (size_t)(f->n_meta + 1) * sizeof *f->meta);
        char **kv = f->meta[f->n_meta];
        kv[0] = kv[1] = NULL;
        f->n_meta++;
        for (int k = 0; k < 2; k++) {
            if (!scan_str(j, "\"", scratch, cap) || (k == 0 && !scan_eat(j, ':'))) {
                if (!j->err) j->err = "expected \"key\": \"value\" in __metadata__";
                return false;
            }
            kv[k] = xmalloc(strlen(scratch) + 1);
            strcpy(kv[k], scratch);
        }
    } while (scan_eat(j, ','));
    if (!scan_eat(j, '}')) { j->err = "expected } closing __metadata__"; return false; }
    return true;
}

static size_t dtype_size(const char *d)
{
    if (!strcmp(d, "F32") || !strcmp(d, "I32") || !strcmp(d, "U32")) return 4;
    if (!strcmp(d, "F64") || !strcmp(d, "I64") || !strcmp(d, "U64")) return 8;
    if (!strcmp(d, "F16") || !strcmp(d, "BF16") || !strcmp(d, "I16")) return 2;
    if (!strcmp(d, "U8") || !strcmp(d, "I8") || !strcmp(d, "BOOL")) return 1;
    return 0;
}

// every tensor against its "crc32.NAME" entry, when the file has such entries (st_write's)
static int verify_checksums(const StFile *f, const char *path)
{
    int with = 0;
    for (int i = 0; i < f->n_meta; i++) with += !strncmp(f->meta[i][0], "crc32.", 6);
    if (!with) return 0; // not written by st_write (timm's, PyTorch's): nothing to verify
    for (int i = 0; i < f->n; i++) {
        const StEntry *e = &f->e[i];
        char key[160];
        snprintf(key, sizeof key, "crc32.%s", e->name);
        const char *want = st_meta(f, key);
        char got[16];
        snprintf(got, sizeof got, "%08x", tensor_crc(f->data + e->begin, e->end - e->begin));
        if (!want) {
            log_error("safetensors file %s: tensor %s has no checksum (crc32.%s) though the file's other "
                      "tensors do: the file was altered after it was written", path, e->name, e->name);
            return ERR_FORMAT;
        }
        if (strcmp(want, got)) {
            log_error("safetensors file %s: tensor %s is damaged: its bytes have CRC-32 %s, the file "
                      "recorded %s when it was written (restore the file, or start the run over with --force)",
                      path, e->name, got, want);
            return ERR_FORMAT;
        }
    }
    return 0;
}

int st_read(StFile *f, const char *path)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) { log_error("safetensors file %s: cannot open (%s)", path, strerror(errno)); return ERR_IO; }
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t le[8];
    char *hdr = NULL, *scratch = NULL;
    int rc = ERR_FORMAT;
    if (size < 8 || fread(le, 1, 8, fp) != 8) { log_error("safetensors file %s: shorter than its 8-byte header length", path); goto out; }
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)le[i] << (8 * i);
    if (n < 2 || n > (uint64_t)size - 8 || n > (100u << 20)) {
        log_error("safetensors file %s: header length %llu does not fit a %ld-byte file", path, (unsigned long long)n, size);
        goto out;
    }
    hdr = xmalloc(n);
    scratch = xmalloc(n + 1);
    if (fread(hdr, 1, n, fp) != n) { log_error("safetensors file %s: truncated header", path); goto out; }
    Json j = {hdr, hdr + n, NULL};
    if (!scan_eat(&j, '{')) { log_error("safetensors file %s: the header is not a JSON object", path); goto out; }
    if (!scan_eat(&j, '}'))
        do {
            char name[128];
            if (!scan_str(&j, "\"", name, sizeof name) || !scan_eat(&j, ':')) break;
            if (!strcmp(name, "__metadata__")) { if (!metadata(&j, f, scratch, n + 1)) break; continue; }
            f->e = realloc(f->e, (size_t)(f->n + 1) * sizeof *f->e);
            CHECK(f->e, "safetensors: out of host memory");
            StEntry *e = &f->e[f->n];
            memset(e, 0, sizeof *e);
            snprintf(e->name, sizeof e->name, "%s", name);
            if (!entry(&j, e)) { log_error("safetensors file %s: tensor %s: %s", path, name, j.err); goto out; }
            f->n++;
        } while (scan_eat(&j, ','));
    if (j.err || !scan_eat(&j, '}')) {
        log_error("safetensors file %s: malformed header near byte %ld: %s", path, (long)(j.p - hdr),
                  j.err ? j.err : "expected , or }");
        goto out;
    }
    f->data_len = (size_t)size - 8 - n;
    f->data = xmalloc(f->data_len ? f->data_len : 1);
    if (fread(f->data, 1, f->data_len, fp) != f->data_len) { log_error("safetensors file %s: truncated data", path); goto out; }
    for (int i = 0; i < f->n; i++) {
        StEntry *e = &f->e[i];
        size_t es = dtype_size(e->dtype);
        if (!es) { log_error("safetensors file %s: tensor %s: unknown dtype %s", path, e->name, e->dtype); goto out; }
        if (e->end < e->begin || e->end > f->data_len || e->end - e->begin != st_numel(e) * es) {
            log_error("safetensors file %s: tensor %s: bytes [%zu, %zu) do not hold its shape of %zu %s values "
                      "inside the %zu data bytes", path, e->name, e->begin, e->end, st_numel(e), e->dtype, f->data_len);
            goto out;
        }
    }
    if (verify_checksums(f, path)) goto out;
    rc = 0;
out:
    fclose(fp);
    free(hdr);
    free(scratch);
    if (rc) st_free(f);
    return rc;
}

void st_free(StFile *f)
{
    for (int i = 0; i < f->n_meta; i++) free(f->meta[i][0]), free(f->meta[i][1]);
    free(f->e);
    free(f->meta);
    free(f->data);
    memset(f, 0, sizeof *f);
}

const StEntry *st_find(const StFile *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].name, name)) return &f->e[i];
    return NULL;
}

const char *st_meta(const StFile *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i][0], key)) return f->meta[i][1];
    return NULL;
}
