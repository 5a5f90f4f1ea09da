/* engine/core/arena.h — activations: planned from shapes, then allocated once.
 *
 * A model's plan pass (shape inference, no compute: darknet's parse loop, ggml's measure graph)
 * reserves every activation buffer by size and gets back a handle; arena_commit then allocates
 * one block for all of them. A new image size (progressive learning, resolution sweeps) means a
 * new plan: arena_begin, reserve again, arena_commit — the block is reallocated only when the
 * new plan needs more than it holds, and parameters are untouched (they live in Params).
 * Slots may declare a lifetime (arena_reserve_live): the planner numbers the steps of its
 * timeline (a graph: forward node i at step i, its backward at 2n-1-i), and slots whose
 * lifetimes do not overlap share memory — an inference plan then needs a few tensors' worth
 * instead of all of them, and a training step's activation gradients, each alive from its first
 * accumulation to its last read, a handful. Offsets are fixed at commit (largest slots first,
 * each at the lowest offset free over its whole lifetime: TFLite's greedy-by-size packing).
 * Handles are indices into the plan, so views never own memory; whoever commits calls arena_free.
 */
#ifndef ARENA_H
#define ARENA_H

#include "dev.h" // Dev, dev_alloc: the block lives on the arena's device

typedef struct { size_t numel, offset; int first, last; } ArenaReq; // offset set at commit

typedef struct {
    Dev      *dev;
    float    *base;      // the block, NULL before the first commit
    size_t    capacity;  // floats allocated
    size_t    planned;   // floats the current plan needs (after packing, once committed)
    size_t    reserved;  // floats of all its slots side by side (what packing saved: reserved - planned)
    int       n_plans;   // how many plans were committed (tests and logs)
    int       steps;     // timeline steps claimed in the current plan (arena_steps)
    bool      open;      // between arena_begin and arena_commit
    ArenaReq *req;       // the current plan's slots
    int       n_req, cap_req;
} Arena;

typedef struct { int id; size_t numel; int plan; } ArenaSlot; // plan: which commit it belongs to

enum { ARENA_FOREVER = 1 << 30 }; // a lifetime end after every step of any plan

void      arena_init(Arena *a, Dev *d);
void      arena_begin(Arena *a);                        // start a plan: forget all reservations
ArenaSlot arena_reserve(Arena *a, size_t numel);        // alive for the whole plan
// alive over steps [first, last] of the planner's timeline (first <= last); 32-float aligned,
// only while planning
ArenaSlot arena_reserve_live(Arena *a, size_t numel, int first, int last);
// claims n steps of the plan's timeline and returns the first: models planned into one arena
// that never run at the same time (a training batch, the last partial batch, evaluation) each
// claim their own range and so share memory
int       arena_steps(Arena *a, int n);
void      arena_commit(Arena *a);                       // allocate (grow) to fit the plan
float    *arena_at(const Arena *a, ArenaSlot s);        // only after commit
void      arena_free(Arena *a);

#endif
