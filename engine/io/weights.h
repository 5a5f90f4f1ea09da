/* engine/io/weights.h — a model's weights in and out, in timm's state-dict layout.
 *
 * The parameter table already uses timm's names (graph.h); what differs is the layout. The engine
 * stores conv weights (OC,KH,KW,C/G) — NHWC's natural order — where PyTorch has (OC,C/G,KH,KW);
 * linear weights (OUT,IN) and vectors agree. PyTorch's batch norms also carry an int64 scalar
 * `num_batches_tracked`, which the engine does not keep (its momentum is fixed). So:
 *
 *   export: every entry of the table (parameters and BN running statistics) by timm's name and
 *           shape, conv weights transposed, plus `<bn>.num_batches_tracked` (I64, shape []) for
 *           every batch norm (a module with a running_mean): the file loads in PyTorch with
 *           `model.load_state_dict(safetensors.torch.load_file(path), strict=True)`. Metadata:
 *           format pt, layout timm, model, source.
 *   load:   either layout. A file whose metadata says layout "repro", or that carries a run_id
 *           (our checkpoints, train/checkpoint.h) is in the engine's layout and may hold run state
 *           beside the weights (optimizer.*, ema.*, log.*, distill.*), skipped unless the EMA weights are
 *           asked for; any other file is a timm state dict (safetensors.torch.save_file of
 *           model.state_dict()) and must match the model exactly: a missing, extra or mis-shaped
 *           tensor is an error naming it and the shape expected. num_batches_tracked may be
 *           present (any integer scalar; its value is ignored) or absent.
 * Loading stages everything on the host and uploads only when the whole file matched, so a
 * failed load leaves the parameters as they were.
 */
#ifndef WEIGHTS_H
#define WEIGHTS_H

#include "../core/params.h"

typedef enum { WEIGHTS_TIMM, WEIGHTS_REPRO } WeightsLayout;

typedef struct {
    WeightsLayout layout;  // the file's
    long          step;    // a checkpoint's optimizer steps ("step" metadata); 0 otherwise
    int           tensors; // tensors read into the table
} WeightsInfo;

// writes p's ROLE_W buffer (weights and BN statistics) as timm's state dict for `model`;
// num_batches_tracked is the value of every BN's counter (the run's steps, 0 for a fresh init);
// source says where the weights came from (metadata). 0, or ERR_IO with one line (path untouched)
int weights_export(const char *path, const Params *p, const char *model, int64_t num_batches_tracked,
                   const char *source);
// fills p's ROLE_W buffer (allocated) from path, either layout; ema: a checkpoint's EMA weights
// ("ema.<name>") instead of its weights. model names the model in messages. info may be NULL.
// 0, or ERR_IO / ERR_FORMAT with one line naming the file, the first bad tensor and its expected
// shape, and how many more problems there are; p is unchanged on failure
int weights_load(Params *p, const char *path, bool ema, const char *model, WeightsInfo *info);

#endif
