/* engine/core/params.h — the parameter table: declared by builders, allocated once per role.
 *
 * A builder declares each parameter (name, shape, whether weight decay applies); params_alloc
 * then makes ONE buffer per role — weights, grads, each optimizer slot, EMA — with the same
 * layout, so the optimizer, weight decay, EMA, gradient norm, all-reduce and checkpoints are
 * loops over one table, never over layers (llm.c's ParameterTensors, made dynamic). Offsets are
 * rounded up to 32 floats (128 bytes) so every tensor starts on a vector- and cache-line boundary.
 * Buffers live on the table's device; the table itself is host memory. Host code (init, the
 * optimizer, EMA, checkpoints) reads and writes a role through params_pull / params_host /
 * params_push: on a device whose buffers are host memory (Dev.host: ref, cpu) those are the
 * buffers themselves and pull and push do nothing; elsewhere (cuda) they are host copies that
 * pull downloads and push uploads. params_at is the device pointer, for ops.
 */
#ifndef PARAMS_H
#define PARAMS_H

#include "dev.h" // Dev, dev_alloc: buffers on the table's device

typedef enum { ROLE_W, ROLE_GRAD, ROLE_EMA, ROLE_SLOT0 } ParamRole; // slots follow: SLOT0 + k

typedef struct {
    char   name[64];  // "s2.b0.conv1.w": also the name in checkpoints
    int    ndim;
    int    dims[4];   // as stored: conv w (OC,KH,KW,C/G), linear w (OUT,IN), vectors (C)
    size_t numel;
    size_t offset;    // in floats, a multiple of PARAMS_ALIGN; the same in every role's buffer
    bool   decay;     // false for BN and biases: recipes exclude them from weight decay
    bool   buffer;    // a non-trained buffer (BN running stats): no grads, not optimized
} ParamInfo;

enum { PARAMS_ALIGN = 32 };

typedef struct {
    ParamInfo *info;
    int        count, cap;
    size_t     total;     // floats per role buffer, padding included
    Dev       *dev;       // set by params_alloc
    int        n_slots;   // optimizer slots (0 SGD without momentum, 1 momentum, 2 Adam)
    bool       has_ema;
    float     *buf[ROLE_SLOT0 + 4]; // one allocation per role; NULL where the role is absent
    float     *host[ROLE_SLOT0 + 4]; // host copies of the roles, made by the first params_pull
                                     // on a device that is not host memory; NULL otherwise
} Params;

// declares a parameter; returns its index. Names must be unique (checked). ndim 1..4.
int    params_add(Params *p, const char *name, int ndim, const int *dims, bool decay);
int    params_add_buffer(Params *p, const char *name, int ndim, const int *dims);
int    params_find(const Params *p, const char *name);  // index, or -1
// allocates every role once (weights, grads, n_slots slots, EMA when ema); weights and grads
// zeroed. After this, params_add is an error. Returns 0 or ERR_NOMEM.
int    params_alloc(Params *p, Dev *d, int n_slots, bool ema);
// the weights alone, no gradients: a table only evaluated (a folded model, `repro eval`)
int    params_alloc_weights(Params *p, Dev *d);
float *params_at(const Params *p, ParamRole role, int i);   // pointer into a role's buffer
// host code's access to a role (see the top): pull returns the role's host base, fresh from the
// device; params_host points into it at parameter i (valid after a pull of that role); push
// writes the host copy back to the device
float *params_pull(Params *p, ParamRole role);
float *params_host(const Params *p, ParamRole role, int i);
void   params_push(Params *p, ParamRole role);
void   params_zero(Params *p, ParamRole role);              // e.g. grads once per step
size_t params_count(const Params *p, bool trainable_only);  // elements, without padding
void   params_free(Params *p);

#endif
