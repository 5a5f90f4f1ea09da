/* engine/io/export.h — run files as CSV (libcsv writes the fields, quoting where needed), for
 * gnuplot and spreadsheets: `repro export FILE.h5|DIR`, the studies' summaries, `make plots`.
 *
 * A run's CSV (<run>.csv beside <run>.h5): the /epochs table, one row per epoch, every column the
 * file holds, in its order. A folder's summary.csv: one row per run file (sorted by name) with
 * SUMMARY_COLS: identity (file, study, tier, label, seed, run_id, status, git_revision), the model
 * (model, params, macs, train_res), and the result (epochs, top1, top5, best_top1, best_epoch,
 * ema_top1, top1_reparam, img_per_s = mean training throughput over epochs, wall_s), and what it
 * ran on (device: the CPU model and its threads, or the GPU; older files say only the backend),
 * and when and where (started, updated: UTC ISO 8601; host, threads: of the latest segment), and
 * the data set it trained on (dataset: data.dataset of its stored recipe);
 * numbers and text a file lacks are empty fields. Units: top1, top5, best_top1, ema_top1,
 * top1_reparam in percent; img_per_s training images per second; wall_s seconds (every segment of
 * a resumed run); macs per image, forward; the per-run CSV's columns as the run file's /epochs
 * (its `units` attribute: io/runfile.h).
 */
#ifndef EXPORT_H
#define EXPORT_H

#include "runfile.h"

#define SUMMARY_COLS "file,study,tier,label,seed,run_id,status,git_revision,model,params,macs,train_res," \
                     "epochs,top1,top5,best_top1,best_epoch,ema_top1,top1_reparam,img_per_s,wall_s,device," \
                     "started,updated,host,threads,dataset"

// DIR/points.csv, what the figures draw: one row per (study, tier, label) of the `done` runs of a
// study's grid (runs without a label, repro train's, are not points), over their seeds: n, then mean and sample std (empty with one seed) of top1 (the EMA weights' when the run
// keeps an EMA, as the papers report), best_top1 and wall_s; macs, params, train_res, epochs, the
// study and the data set (its first run's)
#define POINTS_COLS "tier,label,model,n,top1,top1_std,best_top1,best_top1_std,wall_s,wall_s_std,macs,params," \
                    "train_res,epochs,study,dataset"

// the epochs of run file h5 into csv (replaced atomically); 0 or ERR_IO / ERR_FORMAT
int    export_run_csv(const char *h5, const char *csv);
// every DIR/*.h5 -> DIR/<stem>.csv, DIR/summary.csv and DIR/points.csv; the count of runs written, or -1 (a
// folder without run files, or a run file that cannot be read: each named, and then nothing is
// written, so summary.csv never silently lacks a run)
int    export_dir(const char *dir);
// the mean of column `name` over the epochs (NAN without rows or column)
double run_col_mean(const RunRecord *r, const char *name);

#endif
