/* tests/op_cases.h — an op case: what tensors an op call needs, and the call itself.
 *
 * One description serves the op test (every backend against ref, ref against PyTorch fixtures
 * and finite differences) and the op benchmark (timing on ResNet shapes): a case lists its
 * tensors by role, and its call runs forward then backward on whatever device it is given.
 * Roles: IN inputs (random), DY upstream gradient of an OUT, OUT forward outputs (pre-filled with
 * NaN by the test), GRAD gradient outputs (pre-filled, must accumulate — unless the call's set
 * bits name them: activation gradients carry the bit that does, GradSet in ops.h), STATE buffers that are
 * read and updated (BN running stats), LABEL integer class labels, PROB rows of probabilities.
 */
#ifndef OP_CASES_H
#define OP_CASES_H

#include "backend/ops.h"

typedef enum { T_IN, T_DY, T_OUT, T_GRAD, T_STATE, T_LABEL, T_PROB } Role;

typedef struct {
    const char *name; // "x", "dw": also the fixture name "<case>/<name>"
    Role   role;
    size_t n;         // elements; 0 = absent (the call gets NULL)
    int    of;        // GRAD: index of the IN it differentiates; DY: index of its OUT
    int    classes;   // LABEL: values in [0, classes); PROB: row length
    float  lo, hi;    // IN, STATE: uniform range
    GradSet set_bit;  // GRAD of an activation: the set bit that makes the call write it (else 0)
} Tensor;

enum { MAX_TENSORS = 12 };
typedef struct { int count; Tensor t[MAX_TENSORS]; } Spec;

typedef struct OpCase OpCase;
struct OpCase {
    const char *name;
    void (*spec)(const OpCase *c, Spec *s);          // which tensors, by role
    void (*call)(const OpCase *c, Dev *d, float **t, GradSet set); // forward, then backward
                                                                    // with set; t[i] per spec
    double tol;      // max |got - ref| / max |ref| allowed against ref (and the fixture)
    bool   fd;       // also check ref by central differences
    bool   fixture;  // tests/ref/ops.fix holds PyTorch's outputs for this case
    union {
        Conv2d conv;
        Conv2dChain chain; // conv2d_chain_forward: 1x1 then depthwise
        BatchNorm bn;
        Act act;
        Add add;
        ChanMul cm;
        ChanPad cp;
        Pool2d pool;
        GlobalAvgPool gap;
        Linear lin;
        Drop drop;      // dropout and drop-path
        Xent xent;
        Softmax sm;
        KlDiv kl;
        Resize rs;
        Mul mul;
        OptimUpd opt;   // the optimizer's update
        Vec vec;        // axpy, scale, lerp, sumsq (the case's name ends in which)
    };
};

// the spec and call functions of each op, for case tables
void conv_spec(const OpCase *c, Spec *s);
void conv_call(const OpCase *c, Dev *d, float **t, GradSet set);
void conv_fused_spec(const OpCase *c, Spec *s);
void conv_fused_call(const OpCase *c, Dev *d, float **t, GradSet set);
void concat_spec(const OpCase *c, Spec *s);
void concat_call(const OpCase *c, Dev *d, float **t, GradSet set);
void chain_spec(const OpCase *c, Spec *s);
void chain_call(const OpCase *c, Dev *d, float **t, GradSet set);
void bn_spec(const OpCase *c, Spec *s);
void bn_call(const OpCase *c, Dev *d, float **t, GradSet set);
void act_spec(const OpCase *c, Spec *s);
void act_call(const OpCase *c, Dev *d, float **t, GradSet set);
void add_spec(const OpCase *c, Spec *s);
void add_call(const OpCase *c, Dev *d, float **t, GradSet set);
void mul_spec(const OpCase *c, Spec *s);
void optim_spec(const OpCase *c, Spec *s);
void optim_call(const OpCase *c, Dev *d, float **t, GradSet set);
void vec_spec(const OpCase *c, Spec *s);
void vec_call(const OpCase *c, Dev *d, float **t, GradSet set);
void mul_call(const OpCase *c, Dev *d, float **t, GradSet set);
void chanmul_spec(const OpCase *c, Spec *s);
void chanmul_call(const OpCase *c, Dev *d, float **t, GradSet set);
void chanpad_spec(const OpCase *c, Spec *s);
void chanpad_call(const OpCase *c, Dev *d, float **t, GradSet set);
void maxpool_spec(const OpCase *c, Spec *s);
void maxpool_call(const OpCase *c, Dev *d, float **t, GradSet set);
void avgpool_spec(const OpCase *c, Spec *s);
void avgpool_call(const OpCase *c, Dev *d, float **t, GradSet set);
void gap_spec(const OpCase *c, Spec *s);
void gap_call(const OpCase *c, Dev *d, float **t, GradSet set);
void linear_spec(const OpCase *c, Spec *s);
void linear_call(const OpCase *c, Dev *d, float **t, GradSet set);
void drop_spec(const OpCase *c, Spec *s); // dropout and drop-path
void dropout_call(const OpCase *c, Dev *d, float **t, GradSet set);
void droppath_call(const OpCase *c, Dev *d, float **t, GradSet set);
void xent_label_spec(const OpCase *c, Spec *s);
void xent_label_call(const OpCase *c, Dev *d, float **t, GradSet set);
void xent_soft_spec(const OpCase *c, Spec *s);
void xent_soft_call(const OpCase *c, Dev *d, float **t, GradSet set);
void softmax_spec(const OpCase *c, Spec *s);
void softmax_call(const OpCase *c, Dev *d, float **t, GradSet set);
void kldiv_spec(const OpCase *c, Spec *s);
void kldiv_call(const OpCase *c, Dev *d, float **t, GradSet set);
void resize_spec(const OpCase *c, Spec *s);
void resize_call(const OpCase *c, Dev *d, float **t, GradSet set);

// case i of a random family: convolutions, pooling, batch norm, resize, linear, channel gates of
// shapes drawn from (seed, i); name receives its description (op_cases.c)
OpCase op_case_random(uint64_t seed, int i, char name[160]);

// the op test's table (op_cases.c)
extern const OpCase op_cases[];
extern const int op_cases_count;

#endif
