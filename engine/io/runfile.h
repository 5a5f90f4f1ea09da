/* engine/io/runfile.h — a run's HDF5 file: results/<study>/<run>.h5 (DESIGN §6).
 *
 * Root attributes: study, run_id, tier, label (the study's grid point; "" outside studies),
 * git_revision, backend, device, seed, status (running|done|diverged|failed|interrupted), recipe
 * (the resolved recipe text, verbatim), started and updated (UTC, ISO 8601: the run's first start,
 * this file's writing), host and threads (of the latest segment), segments (every process that
 * trained it, a line each: train/train.h), units (of the numbers below), checksum (CRC-32 of
 * everything runfile_read reads but `updated`, which a status change rewrites: a file altered or
 * damaged after it was written is an error; runfile_set_status refuses a file that fails it, so
 * a damaged file is never signed anew). Group /model:
 * name, params, macs, train_res, eval_res. Table /epochs (compound, one row per epoch: epoch, lr,
 * image_size, train_loss, train_top1, eval_loss, eval_top1, eval_top5, ema_top1,
 * eval_top1_reparam, ema_top1_reparam, img_per_s, seconds; the _reparam columns are the folded
 * form's top-1 of a model with re-parameterizable branches, NaN for others, as ema_top1 without
 * EMA). Group /final: top1, top5, best_top1, best_epoch, wall_s, ema_top1, top1_reparam,
 * ema_top1_reparam (the last epoch's; percent, seconds).
 * The whole file is rewritten at every epoch end to PATH.tmp, flushed, and renamed over PATH, so a
 * reader or a crash never sees a half-written file; h5py, h5dump and HDFView read it unaided.
 */
#ifndef RUNFILE_H
#define RUNFILE_H

#include "runlog.h" // EpochLog, RunFinal: the rows and final numbers

typedef struct {
    const char *study, *run_id, *tier, *label, *git_revision, *backend, *device, *status, *recipe;
    const char *started, *host, *segments; // provenance ("" when unknown)
    int         threads;
    uint64_t    seed;
    const char *model;
    uint64_t    params, macs;
    int         train_res, eval_res;
} RunMeta;

// writes (replaces) the run file at path, /final when final is not NULL; 0, or ERR_IO with one
// line naming the path and cause
int runfile_write(const char *path, const RunMeta *m, const EpochLog *epochs, int n_epochs,
                  const RunFinal *final);

// the status attribute of an existing run file into out (NUL-terminated); 0, ERR_IO when the
// file is missing (quietly) or ERR_FORMAT when it is not a readable run file (one line printed)
int runfile_read_status(const char *path, char *out, size_t cap);
// rewrites only the status of an existing run file (copy to PATH.tmp, change, rename); 0 or ERR_IO
int runfile_set_status(const char *path, const char *status);
// a string attribute of the file's root into out ("" when absent); 0, ERR_IO when the file is
// missing (quietly), ERR_FORMAT when it is not an HDF5 file (one line printed)
int runfile_read_attr(const char *path, const char *name, char *out, size_t cap);

// a run file read back whole (export, summaries, the check). Columns and /final attributes are
// read by name, whatever the file holds, so files of older or newer writers read alike
typedef struct {
    char     study[64], run_id[17], tier[16], label[128], status[32], git_revision[64], backend[16];
    char     model[64], device[160];
    char    *recipe;         // owned
    char    *segments;       // owned ("" in files written before segments were kept)
    char     started[32], updated[32], host[128], units[512];
    int      threads;        // 0 when the file does not say
    uint64_t seed, params, macs;
    int      train_res, eval_res;
    int      n_final;        // /final's numeric attributes
    char   (*final_names)[32];
    double  *final_vals;
    int      n_rows, n_cols; // /epochs, every column as double
    char   (*cols)[32];
    double  *rows;           // n_rows x n_cols
} RunRecord;

// 0, or ERR_IO / ERR_FORMAT with one line naming the path and what is missing or damaged (a
// checksum that does not match the contents). Files written before checksums existed have none
// and read as they are (git holds the committed ones)
int    runfile_read(const char *path, RunRecord *r);
void   runfile_record_free(RunRecord *r);
// /final's attribute `name`, NAN when the file lacks it
double run_final(const RunRecord *r, const char *name);
// the top-1 a run reports: its EMA weights' when it keeps an EMA (as the papers evaluate them),
// else the trained weights' (/final's ema_top1, else top1)
double run_reported_top1(const RunRecord *r);
// the index of /epochs column `name`, -1 when absent
int    run_col(const RunRecord *r, const char *name);


#endif
