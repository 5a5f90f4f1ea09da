/* engine/io/export.h — run files as CSV (libcsv writes the fields, quoting where needed), for
 * gnuplot and spreadsheets: `repro export FILE.h5|DIR`, the studies' summaries, `make plots`.
 *
 * A run's CSV (<run>.csv beside <run>.h5): the /epochs table, one row per epoch, every column the
 * file holds, in its order. A folder's summary.csv: one row per run file (sorted by name) with
 * SUMMARY_COLS: identity (file, study, tier, label, seed, run_id, status, git_revision), the model
 * (model, params, macs, train_res), and the result (epochs, top1, top5, best_top1, best_epoch,
 * ema_top1, top1_reparam, img_per_s = mean training throughput over epochs, wall_s), and what it
 * ran on (device: the CPU model and its threads, or the GPU; older files say only the backend);
 * numbers a file lacks are empty fields.
 */
#ifndef EXPORT_H
#define EXPORT_H

#include "runfile.h"

#define SUMMARY_COLS "file,study,tier,label,seed,run_id,status,git_revision,model,params,macs,train_res," \
                     "epochs,top1,top5,best_top1,best_epoch,ema_top1,top1_reparam,img_per_s,wall_s,device"

// the epochs of run file h5 into csv (replaced atomically); 0 or ERR_IO / ERR_FORMAT
int    export_run_csv(const char *h5, const char *csv);
// every DIR/*.h5 -> DIR/<stem>.csv, and DIR/summary.csv; the count of runs written, or -1 (an
// unreadable run file is named and skipped; a folder without run files is an error)
int    export_dir(const char *dir);
// the mean of column `name` over the epochs (NAN without rows or column)
double run_col_mean(const RunRecord *r, const char *name);

#endif
