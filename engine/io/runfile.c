/* engine/io/runfile.c — writing run files with the HDF5 C API and its table layer (H5TB). */
#include "runfile.h"

#include <errno.h>    // errno
#include <math.h>     // NAN, isnan
#include <hdf5.h>     // H5F*, H5A*, H5G*
#include <hdf5_hl.h>  // H5TBmake_table
#include <stdio.h>    // rename, snprintf
#include <string.h>   // strlen, strerror
#include <time.h>     // time, gmtime_r: the updated attribute
#include <unistd.h>   // fsync, unlink
#include <zlib.h>     // crc32: the checksum attribute

// the units of the numbers in /epochs and /final (the same names in the CSVs: io/export.h)
static const char UNITS[] = "top1, top5, *_top1*, train_top1: percent of the test (or training) images; "
                            "*_loss: nats per image; lr: learning rate; image_size: pixels per side; "
                            "img_per_s: training images per second; seconds, wall_s: seconds of wall time; "
                            "params: trainable parameters; macs: multiply-accumulates per image, forward";

static uint32_t digest(const RunRecord *r);
static int set_checksum(const char *path);

static int attr_str(hid_t loc, const char *name, const char *v)
{
    if (!v) v = "";
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (t < 0 || s < 0 || H5Tset_size(t, strlen(v) + 1) < 0) goto out;
    if ((a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto out;
    rc = H5Awrite(a, t, v) < 0 ? -1 : 0;
out:
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return rc;
}

static int attr_num(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (s < 0 || (a = H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto out;
    rc = H5Awrite(a, type, v) < 0 ? -1 : 0;
out:
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    return rc;
}

#define ATTR_D(loc, name, v) attr_num(loc, name, H5T_NATIVE_DOUBLE, &(double){(v)})
#define ATTR_I(loc, name, v) attr_num(loc, name, H5T_NATIVE_INT64, &(int64_t){(int64_t)(v)})

typedef struct {
    int32_t epoch;
    float   lr;
    int32_t image_size;
    double  train_loss, train_top1, eval_loss, eval_top1, eval_top5, ema_top1, eval_top1_reparam,
            ema_top1_reparam, img_per_s, seconds;
} EpochRow;

static int write_epochs(hid_t f, const EpochLog *e, int n)
{
    EpochRow *rows = xcalloc((size_t)(n ? n : 1), sizeof *rows);
    for (int i = 0; i < n; i++)
        rows[i] = (EpochRow){e[i].epoch, e[i].lr, e[i].res, e[i].train_loss, e[i].train_top1, e[i].eval_loss,
                             e[i].eval_top1, e[i].eval_top5, e[i].ema_top1, e[i].eval_top1_reparam,
                             e[i].ema_top1_reparam, e[i].img_per_s, e[i].seconds};
    const char *names[] = {"epoch", "lr", "image_size", "train_loss", "train_top1", "eval_loss",
                           "eval_top1", "eval_top5", "ema_top1", "eval_top1_reparam", "ema_top1_reparam",
                           "img_per_s", "seconds"};
    size_t offsets[] = {HOFFSET(EpochRow, epoch), HOFFSET(EpochRow, lr), HOFFSET(EpochRow, image_size),
                        HOFFSET(EpochRow, train_loss), HOFFSET(EpochRow, train_top1),
                        HOFFSET(EpochRow, eval_loss), HOFFSET(EpochRow, eval_top1),
                        HOFFSET(EpochRow, eval_top5), HOFFSET(EpochRow, ema_top1),
                        HOFFSET(EpochRow, eval_top1_reparam), HOFFSET(EpochRow, ema_top1_reparam),
                        HOFFSET(EpochRow, img_per_s), HOFFSET(EpochRow, seconds)};
    hid_t types[] = {H5T_NATIVE_INT32, H5T_NATIVE_FLOAT, H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE,
                     H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE,
                     H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE,
                     H5T_NATIVE_DOUBLE};
    herr_t rc = H5TBmake_table("epochs", f, "epochs", LEN(names), (hsize_t)n, sizeof(EpochRow), names,
                               offsets, types, 16, NULL, 0, rows);
    free(rows);
    return rc < 0 ? -1 : 0;
}

int runfile_write(const char *path, const RunMeta *m, const EpochLog *epochs, int n_epochs,
                  const RunFinal *r)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); // our messages name the file; HDF5's stack would not
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), g = -1;
    if (f < 0) {
        log_error("run file %s: cannot create (is the folder there and writable?)", tmp);
        return ERR_IO;
    }
    int bad = 0;
    bad |= attr_str(f, "study", m->study) | attr_str(f, "run_id", m->run_id) | attr_str(f, "tier", m->tier);
    bad |= attr_str(f, "label", m->label);
    bad |= attr_str(f, "git_revision", m->git_revision) | attr_str(f, "backend", m->backend);
    bad |= attr_str(f, "device", m->device) | attr_str(f, "status", m->status) | attr_str(f, "recipe", m->recipe);
    bad |= ATTR_I(f, "seed", m->seed);
    char now[32];
    time_t t_now = time(NULL);
    struct tm tm;
    gmtime_r(&t_now, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bad |= attr_str(f, "started", m->started) | attr_str(f, "updated", now) | attr_str(f, "host", m->host);
    bad |= ATTR_I(f, "threads", m->threads) | attr_str(f, "segments", m->segments) | attr_str(f, "units", UNITS);
    if ((g = H5Gcreate2(f, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) bad = 1;
    else {
        bad |= attr_str(g, "name", m->model) | ATTR_I(g, "params", m->params) | ATTR_I(g, "macs", m->macs);
        bad |= ATTR_I(g, "train_res", m->train_res) | ATTR_I(g, "eval_res", m->eval_res);
        H5Gclose(g);
    }
    bad |= write_epochs(f, epochs, n_epochs);
    if (r) {
        if ((g = H5Gcreate2(f, "final", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) bad = 1;
        else {
            const EpochLog *last = n_epochs ? &epochs[n_epochs - 1] : NULL;
            bad |= ATTR_D(g, "top1", last ? last->eval_top1 : NAN) | ATTR_D(g, "top5", last ? last->eval_top5 : NAN);
            bad |= ATTR_D(g, "best_top1", r->best_top1) | ATTR_I(g, "best_epoch", r->best_epoch);
            bad |= ATTR_D(g, "wall_s", r->wall_s) | ATTR_D(g, "ema_top1", last ? last->ema_top1 : NAN);
            bad |= ATTR_D(g, "top1_reparam", last ? last->eval_top1_reparam : NAN);
            bad |= ATTR_D(g, "ema_top1_reparam", last ? last->ema_top1_reparam : NAN);
            H5Gclose(g);
        }
    }
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) bad = 1;
    if (H5Fclose(f) < 0) bad = 1;
    if (!bad && set_checksum(tmp)) bad = 1;
    if (bad) {
        log_error("run file %s: an HDF5 write failed (disk full?); %s left as it was", tmp, path);
        unlink(tmp);
        return ERR_IO;
    }
    FILE *fs = fopen(tmp, "rb"); // fsync before the rename: the new name never points at nothing
    if (fs) { fsync(fileno(fs)); fclose(fs); }
    if (rename(tmp, path) != 0) {
        log_error("run file %s: cannot rename %s over it (%s)", path, tmp, strerror(errno));
        unlink(tmp);
        return ERR_IO;
    }
    return 0;
}

// string attribute `name` of object loc into out; 0, 1 when absent, -1 when not a fixed string
static int read_str(hid_t loc, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    if (H5Aexists(loc, name) <= 0) return 1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    int rc = -1;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
        size_t n = H5Tget_size(t);
        char *buf = xcalloc(n + 1, 1);
        if (H5Aread(a, t, buf) >= 0) {
            snprintf(out, cap, "%s", buf);
            rc = 0;
        }
        free(buf);
    }
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

// numeric attribute `name` of loc as double; NAN when absent or not numeric
static double read_num(hid_t loc, const char *name)
{
    double v = NAN;
    if (H5Aexists(loc, name) <= 0) return v;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return v;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) v = NAN;
    H5Aclose(a);
    return v;
}

static hid_t open_quiet(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}

int runfile_read_status(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    if (access(path, F_OK) != 0) return ERR_IO;
    hid_t f = open_quiet(path);
    int rc = f >= 0 && read_str(f, "status", out, cap) == 0 ? 0 : ERR_FORMAT;
    if (rc) log_error("run file %s: not a readable run file (no status attribute)", path);
    if (f >= 0) H5Fclose(f);
    return rc;
}

int runfile_read_attr(const char *path, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    if (access(path, F_OK) != 0) return ERR_IO;
    hid_t f = open_quiet(path);
    if (f < 0) {
        log_error("run file %s: not an HDF5 file", path);
        return ERR_FORMAT;
    }
    read_str(f, name, out, cap);
    H5Fclose(f);
    return 0;
}

// a string attribute of any length as a malloc'd string ("" when absent or not a fixed string)
static char *read_text(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0) return xcalloc(1, 1);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a);
    size_t n = H5Tget_size(t);
    char *s = xcalloc(n + 1, 1);
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) || H5Aread(a, t, s) < 0) s[0] = 0;
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

// collects the numeric attributes of /final (H5Aiterate callback)
static herr_t add_final(hid_t loc, const char *name, const H5A_info_t *info, void *user)
{
    (void)info;
    RunRecord *r = user;
    double v = read_num(loc, name);
    if (isnan(v) && H5Aexists(loc, name) > 0) { // NAN stored (no EMA) is a value too; strings are not
        hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a);
        bool str = H5Tget_class(t) == H5T_STRING;
        H5Tclose(t);
        H5Aclose(a);
        if (str) return 0;
    }
    r->final_names = xrealloc(r->final_names, (size_t)(r->n_final + 1) * sizeof *r->final_names);
    r->final_vals = xrealloc(r->final_vals, (size_t)(r->n_final + 1) * sizeof *r->final_vals);
    snprintf(r->final_names[r->n_final], sizeof r->final_names[0], "%s", name);
    r->final_vals[r->n_final++] = v;
    return 0;
}

// every member of the /epochs table, converted to double by HDF5 (members read by name)
static int read_epochs(hid_t f, RunRecord *r)
{
    hid_t d = H5Dopen2(f, "epochs", H5P_DEFAULT), ft = d >= 0 ? H5Dget_type(d) : -1, sp = -1;
    int rc = -1;
    if (ft < 0 || H5Tget_class(ft) != H5T_COMPOUND || (sp = H5Dget_space(d)) < 0) goto out;
    hsize_t n = 0;
    if (H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n, NULL) < 0) goto out;
    r->n_rows = (int)n;
    r->n_cols = H5Tget_nmembers(ft);
    r->cols = xcalloc((size_t)(r->n_cols ? r->n_cols : 1), sizeof *r->cols);
    r->rows = xcalloc((size_t)(n ? n : 1) * (size_t)(r->n_cols ? r->n_cols : 1), sizeof *r->rows);
    double *col = xcalloc(n ? n : 1, sizeof *col);
    rc = 0;
    for (int j = 0; j < r->n_cols && !rc; j++) {
        char *name = H5Tget_member_name(ft, (unsigned)j);
        snprintf(r->cols[j], sizeof r->cols[0], "%s", name);
        hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(double));
        H5Tinsert(mt, name, 0, H5T_NATIVE_DOUBLE);
        if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, col) < 0) rc = -1;
        for (hsize_t i = 0; i < n; i++) r->rows[i * (size_t)r->n_cols + (size_t)j] = col[i];
        H5Tclose(mt);
        H5free_memory(name);
    }
    free(col);
out:
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return rc;
}

int runfile_read(const char *path, RunRecord *r)
{
    memset(r, 0, sizeof *r);
    if (access(path, R_OK) != 0) {
        log_error("run file %s: cannot open (%s)", path, strerror(errno));
        return ERR_IO;
    }
    hid_t f = open_quiet(path), g = -1;
    const char *what = "not an HDF5 file";
    if (f < 0) goto bad;
    what = "no status attribute: not a run file";
    if (read_str(f, "status", r->status, sizeof r->status)) goto bad;
    read_str(f, "study", r->study, sizeof r->study);
    read_str(f, "run_id", r->run_id, sizeof r->run_id);
    read_str(f, "tier", r->tier, sizeof r->tier);
    read_str(f, "label", r->label, sizeof r->label);
    read_str(f, "git_revision", r->git_revision, sizeof r->git_revision);
    read_str(f, "backend", r->backend, sizeof r->backend);
    read_str(f, "device", r->device, sizeof r->device);
    r->seed = (uint64_t)read_num(f, "seed");
    r->recipe = read_text(f, "recipe");
    r->segments = read_text(f, "segments");
    read_str(f, "started", r->started, sizeof r->started);
    read_str(f, "updated", r->updated, sizeof r->updated);
    read_str(f, "host", r->host, sizeof r->host);
    read_str(f, "units", r->units, sizeof r->units);
    double threads = read_num(f, "threads");
    r->threads = isnan(threads) ? 0 : (int)threads;
    char stored[16] = "";
    bool has_sum = read_str(f, "checksum", stored, sizeof stored) == 0;
    what = "no /model group";
    if ((g = H5Gopen2(f, "model", H5P_DEFAULT)) < 0) goto bad;
    read_str(g, "name", r->model, sizeof r->model);
    r->params = (uint64_t)read_num(g, "params");
    r->macs = (uint64_t)read_num(g, "macs");
    r->train_res = (int)read_num(g, "train_res");
    r->eval_res = (int)read_num(g, "eval_res");
    H5Gclose(g);
    g = -1;
    what = "no readable /epochs table";
    if (read_epochs(f, r)) goto bad;
    if ((g = H5Gopen2(f, "final", H5P_DEFAULT)) >= 0) { // absent while a run has no epoch yet
        H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, NULL, add_final, r);
        H5Gclose(g);
        g = -1;
    }
    if (has_sum) {
        char got[16];
        snprintf(got, sizeof got, "%08x", digest(r));
        if (strcmp(got, stored)) {
            log_error("run file %s: damaged or altered after it was written: its contents have checksum %s, "
                      "the file recorded %s (restore it from git, or run it again with --force)", path, got, stored);
            H5Fclose(f);
            runfile_record_free(r);
            return ERR_FORMAT;
        }
    }
    H5Fclose(f);
    return 0;
bad:
    log_error("run file %s: %s", path, what);
    if (g >= 0) H5Gclose(g);
    if (f >= 0) H5Fclose(f);
    runfile_record_free(r);
    return ERR_FORMAT;
}

// CRC-32 of what a reader gets from the file: every field of the record in a fixed order
static uint32_t digest(const RunRecord *r)
{
    uLong c = crc32(0L, Z_NULL, 0);
#define TXT(s) c = crc32(c, (const Bytef *)(s), (uInt)strlen(s) + 1)
#define NUM(v) do { double v_ = (double)(v); c = crc32(c, (const Bytef *)&v_, sizeof v_); } while (0)
    TXT(r->study), TXT(r->run_id), TXT(r->tier), TXT(r->label), TXT(r->status), TXT(r->git_revision);
    TXT(r->backend), TXT(r->model), TXT(r->device), TXT(r->recipe), TXT(r->segments), TXT(r->started);
    TXT(r->host);
    TXT(r->units);
    NUM(r->seed);
    NUM(r->params);
    NUM(r->macs);
    NUM(r->train_res);
    NUM(r->eval_res);
    NUM(r->threads);
    for (int j = 0; j < r->n_cols; j++) TXT(r->cols[j]);
    if (r->n_rows && r->n_cols)
        c = crc32(c, (const Bytef *)r->rows, (uInt)((size_t)r->n_rows * r->n_cols * sizeof *r->rows));
    for (int i = 0; i < r->n_final; i++) {
        TXT(r->final_names[i]);
        NUM(r->final_vals[i]);
    }
#undef TXT
#undef NUM
    return (uint32_t)c;
}

// the checksum attribute of the (closed) file at path, computed from what it reads back as
static int set_checksum(const char *path)
{
    RunRecord r;
    if (runfile_read(path, &r)) return -1;
    char sum[16];
    snprintf(sum, sizeof sum, "%08x", digest(&r));
    runfile_record_free(&r);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    int rc = f < 0 ? -1 : 0;
    if (!rc && H5Aexists(f, "checksum") > 0 && H5Adelete(f, "checksum") < 0) rc = -1;
    if (!rc) rc = attr_str(f, "checksum", sum);
    if (f >= 0 && (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 || H5Fclose(f) < 0)) rc = -1;
    return rc;
}

void runfile_record_free(RunRecord *r)
{
    free(r->segments);
    free(r->recipe);
    free(r->final_names);
    free(r->final_vals);
    free(r->cols);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

double run_final(const RunRecord *r, const char *name)
{
    for (int i = 0; i < r->n_final; i++)
        if (!strcmp(r->final_names[i], name)) return r->final_vals[i];
    return NAN;
}

double run_reported_top1(const RunRecord *r)
{
    double ema = run_final(r, "ema_top1");
    return isnan(ema) ? run_final(r, "top1") : ema;
}

int run_col(const RunRecord *r, const char *name)
{
    for (int j = 0; j < r->n_cols; j++)
        if (!strcmp(r->cols[j], name)) return j;
    return -1;
}

int runfile_set_status(const char *path, const char *status)
{
    RunRecord check; // a damaged file keeps failing its checksum: never signed anew
    if (runfile_read(path, &check)) {
        log_error("run file %s: not set to %s: it cannot be read as it is (above)", path, status);
        return ERR_FORMAT;
    }
    runfile_record_free(&check);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *in = fopen(path, "rb"), *o = in ? fopen(tmp, "wb") : NULL;
    bool ok = in && o;
    char buf[1 << 16];
    for (size_t n; ok && (n = fread(buf, 1, sizeof buf, in)) > 0;) ok = fwrite(buf, 1, n, o) == n;
    ok = ok && !ferror(in);
    if (in) fclose(in);
    if (o && fclose(o) != 0) ok = false;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = ok ? H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT) : -1;
    bool had_sum = f >= 0 && H5Aexists(f, "checksum") > 0;
    ok = f >= 0 && H5Adelete(f, "status") >= 0 && attr_str(f, "status", status) == 0;
    if (ok && had_sum) ok = H5Adelete(f, "checksum") >= 0; // recomputed below
    if (f >= 0 && (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 || H5Fclose(f) < 0)) ok = false;
    if (ok && had_sum) ok = set_checksum(tmp) == 0; // the status is part of what it covers
    if (ok) {
        FILE *fs = fopen(tmp, "rb");
        if (fs) { fsync(fileno(fs)); fclose(fs); }
        ok = rename(tmp, path) == 0;
    }
    if (!ok) {
        log_error("run file %s: cannot set its status to %s; left as it was", path, status);
        unlink(tmp);
        return ERR_IO;
    }
    return 0;
}
