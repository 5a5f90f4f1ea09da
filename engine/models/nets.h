/* engine/models/nets.h — a model at the batch sizes a pass needs, planned into one arena.
 *
 * A pass over n images in batches of b runs one model for the full batches and one for the last
 * partial batch (n % b), unless that batch is dropped. The trainer (its training, eval and folded
 * eval models), distillation's teachers and `repro logits` all need that; this is the one way to
 * build them: each Net is a named model's graph over a parameter table for one (batch, size,
 * mode), fused (BN-ReLU and add-ReLU one op each way), and a NetSet plans every Net into ONE arena
 * on disjoint stretches of its timeline, since they never run at the same time: the arena holds
 * the largest of them, not their sum. Nets of several models and tables may share a set (the
 * teachers). Evaluation nets run batch norm folded into the convolution before it (graph.h,
 * graph_fold_bn): net_refresh makes those weights, before the net runs and after weights change. Parameters are the caller's: the first Net built over an empty table declares it,
 * and the caller allocates it (weights only, or with optimizer slots).
 */
#ifndef NETS_H
#define NETS_H

#include "models.h"

typedef struct {
    Graph       g;
    const char *model;   // registry name (the caller's string, kept alive by it)
    Params     *p;       // the table it runs over
    ModelKnobs  k;
    int         batch, res, out, classes; // out: the logits tensor (batch, classes)
    GraphMode   mode;
} Net;

enum { NETSET_MAX = 24 };

typedef struct {
    Net   net[NETSET_MAX];
    int   n;
    Arena a;             // every net's activations
} NetSet;

void netset_init(NetSet *s, Dev *d);
// the batch sizes of a pass over n images in batches of `batch` into sizes: min(batch, n), and
// n % batch when n > batch and the last partial batch is kept (!drop_last); returns 1 or 2
int  net_batches(int n, int batch, bool drop_last, int sizes[2]);
// builds `model` with knobs k over p for input (batch, res, res, k's channels); returns it. The
// name and knobs must pass model_check
Net *netset_add(NetSet *s, Params *p, const char *model, const ModelKnobs *k, int batch, int res,
                GraphMode mode);
// the set's net over p for (batch, mode), NULL when there is none
Net *netset_find(NetSet *s, const Params *p, int batch, GraphMode mode);
// builds n again with knobs k at res (progressive learning's stages); plan the set again after
void netset_rebuild(NetSet *s, Net *n, const ModelKnobs *k, int res);
// plans every net into the arena and commits it; after each net's graph, reserve (when not NULL)
// adds slots of its own for net i (the trainer's loss buffers)
void netset_plan(NetSet *s, void (*reserve)(NetSet *s, int i, void *user), void *user);
// x (host, n->batch images as the net takes them) up, and the forward pass (train: batch
// statistics, dropout and drop-path drawn from (seed, sample0 + i)); the logits stay on the device
void net_forward(NetSet *s, Net *n, const float *x, bool train, uint64_t seed, uint64_t sample0);
// eval-mode logits of host images x into host logits (n->batch, n->classes)
void net_logits(NetSet *s, Net *n, const float *x, float *logits);
// an evaluation net's folded convolutions (graph_fold_bn: every batch norm folded into the conv
// before it) made again from its table's current weights and running statistics: after every
// plan and whenever they change, before it runs; netset_refresh: every evaluation net over p
void net_refresh(NetSet *s, Net *n);
void netset_refresh(NetSet *s, const Params *p);
void netset_free(NetSet *s);

#endif
