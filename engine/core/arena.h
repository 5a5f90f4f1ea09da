/* engine/core/arena.h — activations: planned from shapes, then allocated once.
 *
 * A model's plan pass (shape inference, no compute: darknet's parse loop, ggml's measure graph)
 * reserves every activation buffer by size and gets back a handle; arena_commit then allocates
 * one block for all of them. A new image size (progressive learning, resolution sweeps) means a
 * new plan: arena_begin, reserve again, arena_commit — the block is reallocated only when the
 * new plan needs more than it holds, and parameters are untouched (they live in Params).
 * Handles are offsets, so views never own memory; whoever commits calls arena_free.
 */
#ifndef ARENA_H
#define ARENA_H

#include "../backend/ops.h"

typedef struct {
    Dev   *dev;
    float *base;      // the block, NULL before the first commit
    size_t capacity;  // floats allocated
    size_t planned;   // floats reserved by the current plan
    int    n_plans;   // how many plans were committed (tests and logs)
    bool   open;      // between arena_begin and arena_commit
} Arena;

typedef struct { size_t offset, numel; int plan; } ArenaSlot; // plan: which commit it belongs to

void      arena_init(Arena *a, Dev *d);
void      arena_begin(Arena *a);                        // start a plan: forget all reservations
ArenaSlot arena_reserve(Arena *a, size_t numel);        // 32-float aligned, only while planning
void      arena_commit(Arena *a);                       // allocate (grow) to fit the plan
float    *arena_at(const Arena *a, ArenaSlot s);        // only after commit
void      arena_free(Arena *a);

#endif
