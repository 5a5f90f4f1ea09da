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
 * failed load leaves the parameters as they were. A tensor whose bytes fail their checksum
 * (io/safetensors.h) or that holds a NaN or an infinity (or a negative running variance) is an
 * error naming it: such weights evaluate to noise, never to a number worth printing.
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
// 0 when the n values of tensor `name` read from file `path` are finite (and, for a batch norm's
// running variance, not negative); else ERR_FORMAT with one line naming the file, tensor, index
// and value. Every load checks what it reads (here and train/checkpoint.h)
int weights_check_values(const char *path, const char *name, const float *v, size_t n);
// the shape tensor `name` has in file `path` (either layout), in the engine's layout: *ndim 0 when
// the file lacks it. 0, or ERR_IO / ERR_FORMAT with one line. Commands take a model's input
// channels and classes from its weights this way (cli)
int weights_shape(const char *path, const char *name, int *ndim, int64_t dims[4]);
// the resolved recipe a checkpoint of ours stores (metadata "recipe", train/checkpoint.h) into
// *text as a malloc'd string, NULL when the file has none (a timm state dict, an older
// checkpoint). 0, or ERR_IO / ERR_FORMAT with one line (the file cannot be read)
int weights_recipe(const char *path, char **text);

#endif
