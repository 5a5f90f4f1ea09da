/* tests/test_io.c — safetensors: a file written by the safetensors library reads back here, our
 * files round-trip (float32, float64, int64 scalars), and malformed files fail with ERR_FORMAT
 * (never a crash or a partial load); the same for .npy arrays, against the bytes numpy writes.
 */
#include <criterion/criterion.h>
#include <stdio.h>  // fopen
#include <unistd.h> // unlink, access

#include "io/npy.h"
#include "io/safetensors.h"

Test(safetensors, reads_the_reference_library_file)
{
    StFile f;
    cr_assert_eq(st_read(&f, "tests/ref/tiny.safetensors"), 0);
    const StEntry *w = st_find(&f, "layer1.0.conv1.weight"), *b = st_find(&f, "fc.bias");
    cr_assert(w && b && st_find(&f, "empty"));
    cr_expect(w->ndim == 4 && w->dims[0] == 2 && w->dims[1] == 3 && w->dims[3] == 2);
    const float *wd = (const float *)(f.data + w->begin), *bd = (const float *)(f.data + b->begin);
    for (int i = 0; i < 24; i++) cr_expect_eq(wd[i], (float)i);
    cr_expect(bd[0] == 1.5f && bd[1] == -2.0f && bd[2] == 3.25f);
    cr_expect_str_eq(st_meta(&f, "note"), "written by the safetensors library");
    st_free(&f);
}

Test(safetensors, round_trip)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {-7};
    int64_t da[2] = {2, 3}, db[1] = {1};
    StTensor t[2] = {{"x.weight", 2, da, a, ST_F32}, {"x.bias", 1, db, b, ST_F32}};
    const char *meta[][2] = {{"step", "1234"}, {"quote\"d", "back\\slash"}};
    const char *path = "/tmp/repro_test.safetensors";
    cr_assert_eq(st_write(path, t, 2, meta, 2), 0);
    StFile f;
    cr_assert_eq(st_read(&f, path), 0);
    cr_expect_eq(f.n, 2);
    const StEntry *e = st_find(&f, "x.weight");
    cr_assert(e && e->ndim == 2 && e->dims[1] == 3 && !strcmp(e->dtype, "F32"));
    cr_expect(memcmp(f.data + e->begin, a, sizeof a) == 0);
    cr_expect_str_eq(st_meta(&f, "step"), "1234");
    cr_expect_str_eq(st_meta(&f, "quote\"d"), "back\\slash");
    st_free(&f);
    unlink(path);
}

static void write_raw(const char *path, const char *header, size_t data_bytes, long claim)
{
    FILE *f = fopen(path, "wb");
    uint64_t n = claim >= 0 ? (uint64_t)claim : strlen(header);
    for (int i = 0; i < 8; i++) fputc((int)(n >> (8 * i)) & 255, f);
    fputs(header, f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    fclose(f);
}

Test(safetensors, malformed_files_fail)
{
    const char *path = "/tmp/repro_bad.safetensors";
    struct { const char *header; size_t data; long claim; const char *what; } bad[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, -1, "data truncated"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, -1, "shape vs bytes"},
        {"{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, -1, "missing offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8, -1, "unclosed"},
        {"[1,2]", 0, -1, "not an object"},
        {"{}", 0, 999999, "header length past the end"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, -1, "negative dim"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_raw(path, bad[i].header, bad[i].data, bad[i].claim);
        StFile f;
        int rc = st_read(&f, path);
        cr_expect_eq(rc, ERR_FORMAT, "%s: got %d", bad[i].what, rc);
        cr_expect(f.e == NULL && f.data == NULL, "%s: buffers left", bad[i].what);
    }
    StFile f;
    cr_expect_eq(st_read(&f, "/nonexistent.safetensors"), ERR_IO);
    unlink(path);
}

// int64 tensors (PyTorch's num_batches_tracked: a scalar, shape []) and float64 next to float32
Test(safetensors, i64_and_f64_round_trip)
{
    int64_t nbt = 123456789012345ll, v[3] = {-1, 0, INT64_MAX};
    double d[2] = {0.1, -1e300};
    float w[2] = {1.5f, -2.5f};
    int64_t dv[1] = {3}, dd[1] = {2}, dw[2] = {1, 2};
    StTensor t[4] = {{"bn1.num_batches_tracked", 0, NULL, &nbt, ST_I64}, {"v", 1, dv, v, ST_I64},
                     {"d", 1, dd, d, ST_F64}, {"w", 2, dw, w, ST_F32}};
    const char *path = "/tmp/repro_test_i64.safetensors";
    cr_assert_eq(st_write(path, t, 4, NULL, 0), 0);
    StFile f;
    cr_assert_eq(st_read(&f, path), 0);
    const StEntry *e = st_find(&f, "bn1.num_batches_tracked");
    cr_assert(e && !strcmp(e->dtype, "I64") && e->ndim == 0 && st_numel(e) == 1 && e->end - e->begin == 8);
    cr_expect_eq(*(const int64_t *)(f.data + e->begin), nbt);
    e = st_find(&f, "v");
    cr_assert(e && !strcmp(e->dtype, "I64") && e->ndim == 1 && e->dims[0] == 3);
    cr_expect(memcmp(f.data + e->begin, v, sizeof v) == 0);
    e = st_find(&f, "d");
    cr_assert(e && !strcmp(e->dtype, "F64"));
    cr_expect(memcmp(f.data + e->begin, d, sizeof d) == 0);
    e = st_find(&f, "w");
    cr_assert(e && !strcmp(e->dtype, "F32") && e->dims[0] == 1 && e->dims[1] == 2);
    cr_expect(memcmp(f.data + e->begin, w, sizeof w) == 0);
    st_free(&f);
    unlink(path);
}

// a failed write (the folder does not exist) leaves nothing behind, not even PATH.tmp
Test(safetensors, failed_write_leaves_nothing)
{
    float a[1] = {1};
    int64_t da[1] = {1};
    StTensor t[1] = {{"a", 1, da, a, ST_F32}};
    cr_expect_eq(st_write("/nonexistent_dir/x.safetensors", t, 1, NULL, 0), ERR_IO);
    cr_expect(access("/nonexistent_dir/x.safetensors.tmp", F_OK) != 0);
}

// ---------------------------------------------------------------------------------------------
// .npy (io/npy.h)

Test(npy, round_trip)
{
    const char *path = "/tmp/repro_test.npy";
    float x[2 * 3 * 4];
    for (int i = 0; i < LEN(x); i++) x[i] = (float)i * 0.25f - 1;
    int64_t dims[3] = {2, 3, 4};
    cr_assert_eq(npy_write(path, x, 3, dims), 0);
    NpyArray a;
    cr_assert_eq(npy_read(&a, path), 0);
    cr_expect(a.ndim == 3 && a.dims[0] == 2 && a.dims[1] == 3 && a.dims[2] == 4 && a.numel == 24);
    cr_expect(memcmp(a.data, x, sizeof x) == 0);
    npy_free(&a);
    // numpy's layout: the data starts on a 64-byte boundary, the header ends with '\n'
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    cr_assert(f && fread(pre, 1, 10, f) == 10);
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    char hdr[256] = {0};
    cr_assert(hlen < sizeof hdr && fread(hdr, 1, hlen, f) == hlen);
    fclose(f);
    cr_expect((10 + hlen) % 64 == 0 && hdr[hlen - 1] == '\n');
    cr_expect(strstr(hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }") == hdr);
    // a scalar and a 1-tuple, as Python writes them
    cr_assert_eq(npy_write(path, x, 0, NULL), 0);
    cr_assert_eq(npy_read(&a, path), 0);
    cr_expect(a.ndim == 0 && a.numel == 1 && a.data[0] == x[0]);
    npy_free(&a);
    cr_assert_eq(npy_write(path, x, 1, (int64_t[]){5}), 0);
    cr_assert_eq(npy_read(&a, path), 0);
    cr_expect(a.ndim == 1 && a.dims[0] == 5 && a.data[4] == x[4]);
    npy_free(&a);
    unlink(path);
}

// a .npy file: preamble (magic, version, header length), header, data bytes
static void write_npy_raw(const char *path, const char *magic, int major, const char *header, size_t data)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(header);
    fwrite(magic, 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    fputc((int)(n & 255), f);
    fputc((int)(n >> 8), f);
    if (major >= 2) fputc(0, f), fputc(0, f);
    fputs(header, f);
    for (size_t i = 0; i < data; i++) fputc(0, f);
    fclose(f);
}

// what numpy writes for other arrays, and damaged files: ERR_FORMAT, a message naming the file and
// the problem, no buffer left
Test(npy, malformed_files_fail)
{
    const char *path = "/tmp/repro_bad.npy", *M = "\x93NUMPY";
    struct { const char *magic; int major; const char *header; size_t data; const char *what; } bad[] = {
        {"\x93NUMPX", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "magic"},
        {M, 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "version 4.0"},
        {M, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16, "float64"},
        {M, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "big endian"},
        {M, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16, "Fortran order"},
        {M, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20, "truncated data"},
        {M, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 12, "trailing bytes"},
        {M, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", 8, "negative size"},
        {M, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, }\n", 8, "unclosed tuple"},
        {M, 1, "{'descr': '<f4', 'shape': (2,), }\n", 8, "no fortran_order"},
        {M, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", 8, "extra key"},
        {M, 1, "['<f4', False, (2,)]\n", 8, "not a dict"},
    };
    for (int i = 0; i < LEN(bad); i++) {
        write_npy_raw(path, bad[i].magic, bad[i].major, bad[i].header, bad[i].data);
        NpyArray a;
        int rc = npy_read(&a, path);
        cr_expect_eq(rc, ERR_FORMAT, "%s: got %d", bad[i].what, rc);
        cr_expect(a.data == NULL, "%s: buffer left", bad[i].what);
    }
    // version 2.0 (u32 header length) reads
    write_npy_raw(path, M, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8);
    NpyArray a;
    cr_expect_eq(npy_read(&a, path), 0);
    npy_free(&a);
    // a header length past the end of the file
    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00\xff\x7f{}", 1, 12, f);
    fclose(f);
    cr_expect_eq(npy_read(&a, path), ERR_FORMAT);
    cr_expect_eq(npy_read(&a, "/nonexistent.npy"), ERR_IO);
    unlink(path);
}
