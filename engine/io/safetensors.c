/* engine/io/safetensors.c — safetensors writer and checking reader (safetensors.h). */
#include "safetensors.h"

#include <errno.h>  // errno
#include <stdio.h>  // FILE
#include <string.h> // strcmp, strerror
#include <unistd.h> // fsync, unlink

size_t st_numel(const StEntry *e)
{
    size_t n = 1;
    for (int i = 0; i < e->ndim; i++) n *= (size_t)e->dims[i];
    return n;
}

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

int st_write(const char *path, const StTensor *t, int n, const char *const (*meta)[2], int n_meta)
{
    Buf h = {0};
    char num[64];
    size_t off = 0;
    put(&h, "{");
    if (n_meta) {
        put(&h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) put(&h, ",");
            put_str(&h, meta[i][0]);
            put(&h, ":");
            put_str(&h, meta[i][1]);
        }
        put(&h, "}");
    }
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        if (i || n_meta) put(&h, ",");
        put_str(&h, t[i].name);
        put(&h, t[i].f64 ? ":{\"dtype\":\"F64\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int k = 0; k < t[i].ndim; k++) {
            snprintf(num, sizeof num, "%s%lld", k ? "," : "", (long long)t[i].dims[k]);
            put(&h, num);
            numel *= (size_t)t[i].dims[k];
        }
        size_t es = t[i].f64 ? 8 : 4;
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + es * numel);
        put(&h, num);
        off += es * numel;
    }
    put(&h, "}");
    while (h.n % 8) put(&h, " "); // the format pads the header with spaces to 8 bytes
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int rc = ERR_IO;
    if (!f) {
        log_error("checkpoint %s: cannot create (%s)", tmp, strerror(errno));
        free(h.s);
        return ERR_IO;
    }
    uint64_t len = h.n;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(len >> (8 * i));
    bool ok = fwrite(le, 1, 8, f) == 8 && fwrite(h.s, 1, h.n, f) == h.n;
    for (int i = 0; ok && i < n; i++) { // float32 little endian: this machine's layout (x86-64)
        size_t numel = 1;
        for (int k = 0; k < t[i].ndim; k++) numel *= (size_t)t[i].dims[k];
        ok = fwrite(t[i].data, t[i].f64 ? 8 : 4, numel, f) == numel;
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = false;
    if (!ok) log_error("checkpoint %s: write failed (%s); the previous checkpoint is kept", tmp, strerror(errno));
    else if (rename(tmp, path) != 0) log_error("checkpoint %s: cannot rename (%s)", path, strerror(errno));
    else rc = 0;
    if (rc) unlink(tmp);
    free(h.s);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// reading: a small JSON parser for exactly the header's grammar

typedef struct { const char *p, *end, *path; const char *err; } Json;

static void ws(Json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')) j->p++;
}

static bool eat(Json *j, char c)
{
    ws(j);
    if (j->p < j->end && *j->p == c) { j->p++; return true; }
    return false;
}

static bool str(Json *j, char *out, size_t cap)
{
    ws(j);
    if (j->p >= j->end || *j->p != '"') { j->err = "expected a string"; return false; }
    size_t n = 0;
    for (j->p++; j->p < j->end && *j->p != '"'; j->p++) {
        char c = *j->p;
        if (c == '\\') {
            if (++j->p >= j->end) break;
            c = *j->p;
            if (c == 'u') { // \uXXXX: keep ASCII, replace the rest
                if (j->end - j->p < 5) { j->err = "bad \\u escape"; return false; }
                unsigned v = 0;
                for (int k = 1; k <= 4; k++) {
                    char h = j->p[k];
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
                }
                c = v < 128 ? (char)v : '?';
                j->p += 4;
            } else if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
        }
        if (n + 1 >= cap) { j->err = "string too long"; return false; }
        out[n++] = c;
    }
    if (j->p >= j->end) { j->err = "unterminated string"; return false; }
    j->p++;
    out[n] = 0;
    return true;
}

static bool integer(Json *j, int64_t *v)
{
    ws(j);
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
    if (!eat(j, '[')) { j->err = "expected ["; return false; }
    if (eat(j, ']')) return true;
    do {
        if (*n == cap) { j->err = "too many dimensions"; return false; }
        if (!integer(j, &v[(*n)++])) return false;
    } while (eat(j, ','));
    if (!eat(j, ']')) { j->err = "expected ]"; return false; }
    return true;
}

static bool entry(Json *j, StEntry *e)
{
    if (!eat(j, '{')) { j->err = "expected { after a tensor name"; return false; }
    bool dtype = false, shape = false, offs = false;
    do {
        char key[32];
        if (!str(j, key, sizeof key) || !eat(j, ':')) { if (!j->err) j->err = "expected :"; return false; }
        if (!strcmp(key, "dtype")) dtype = str(j, e->dtype, sizeof e->dtype);
        else if (!strcmp(key, "shape")) shape = int_array(j, e->dims, 8, &e->ndim);
        else if (!strcmp(key, "data_offsets")) {
            int64_t o[2];
            int k;
            offs = int_array(j, o, 2, &k) && k == 2;
            if (offs) { e->begin = (size_t)o[0]; e->end = (size_t)o[1]; }
            else if (!j->err) j->err = "data_offsets needs two numbers";
        } else { j->err = "unknown tensor field (valid: dtype, shape, data_offsets)"; return false; }
        if (j->err) return false;
    } while (eat(j, ','));
    if (!eat(j, '}')) { j->err = "expected }"; return false; }
    if (!dtype || !shape || !offs) { j->err = "a tensor needs dtype, shape and data_offsets"; return false; }
    return true;
}

static bool metadata(Json *j, StFile *f)
{
    if (!eat(j, '{')) { j->err = "expected { after __metadata__"; return false; }
    if (eat(j, '}')) return true;
    do {
        f->meta = realloc(f->meta, (size_t)(f->n_meta + 1) * sizeof *f->meta);
        CHECK(f->meta, "safetensors: out of host memory");
        if (!str(j, f->meta[f->n_meta][0], 256) || !eat(j, ':') || !str(j, f->meta[f->n_meta][1], 256)) {
            if (!j->err) j->err = "expected \"key\": \"value\" in __metadata__";
            return false;
        }
        f->n_meta++;
    } while (eat(j, ','));
    if (!eat(j, '}')) { j->err = "expected } closing __metadata__"; return false; }
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

int st_read(StFile *f, const char *path)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) { log_error("checkpoint %s: cannot open (%s)", path, strerror(errno)); return ERR_IO; }
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t le[8];
    char *hdr = NULL;
    int rc = ERR_FORMAT;
    if (size < 8 || fread(le, 1, 8, fp) != 8) { log_error("checkpoint %s: shorter than its 8-byte header length", path); goto out; }
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)le[i] << (8 * i);
    if (n < 2 || n > (uint64_t)size - 8 || n > (100u << 20)) {
        log_error("checkpoint %s: header length %llu does not fit a %ld-byte file", path, (unsigned long long)n, size);
        goto out;
    }
    hdr = xmalloc(n);
    if (fread(hdr, 1, n, fp) != n) { log_error("checkpoint %s: truncated header", path); goto out; }
    Json j = {hdr, hdr + n, path, NULL};
    if (!eat(&j, '{')) { log_error("checkpoint %s: the header is not a JSON object", path); goto out; }
    if (!eat(&j, '}'))
        do {
            char name[128];
            if (!str(&j, name, sizeof name) || !eat(&j, ':')) break;
            if (!strcmp(name, "__metadata__")) { if (!metadata(&j, f)) break; continue; }
            f->e = realloc(f->e, (size_t)(f->n + 1) * sizeof *f->e);
            CHECK(f->e, "safetensors: out of host memory");
            StEntry *e = &f->e[f->n];
            memset(e, 0, sizeof *e);
            snprintf(e->name, sizeof e->name, "%s", name);
            if (!entry(&j, e)) { log_error("checkpoint %s: tensor %s: %s", path, name, j.err); goto out; }
            f->n++;
        } while (eat(&j, ','));
    if (j.err || !eat(&j, '}')) {
        log_error("checkpoint %s: malformed header near byte %ld: %s", path, (long)(j.p - hdr),
                  j.err ? j.err : "expected , or }");
        goto out;
    }
    f->data_len = (size_t)size - 8 - n;
    f->data = xmalloc(f->data_len ? f->data_len : 1);
    if (fread(f->data, 1, f->data_len, fp) != f->data_len) { log_error("checkpoint %s: truncated data", path); goto out; }
    for (int i = 0; i < f->n; i++) {
        StEntry *e = &f->e[i];
        size_t es = dtype_size(e->dtype);
        if (!es) { log_error("checkpoint %s: tensor %s: unknown dtype %s", path, e->name, e->dtype); goto out; }
        if (e->end < e->begin || e->end > f->data_len || e->end - e->begin != st_numel(e) * es) {
            log_error("checkpoint %s: tensor %s: bytes [%zu, %zu) do not hold its shape of %zu %s values "
                      "inside the %zu data bytes", path, e->name, e->begin, e->end, st_numel(e), e->dtype, f->data_len);
            goto out;
        }
    }
    rc = 0;
out:
    fclose(fp);
    free(hdr);
    if (rc) st_free(f);
    return rc;
}

void st_free(StFile *f)
{
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
