/* engine/models/models.h — every named model of every family, behind one registry.
 *
 * A model is a name (timm's, where timm has it) plus the knobs a study sweeps. Each family keeps
 * its own builder and table of named configurations (resnet.h; efficientnet.h for MobileNet V1-V4,
 * EfficientNet and EfficientNetV2; ghostnet.h for GhostNetV3) and describes itself to the
 * registry with one ModelFamily entry (which knobs it takes, how it builds from them); models.c
 * holds the table of families and finds a name's family there, so `repro model`, recipes and the
 * trainer work for any of them. A new family is a builder file with its entry and one line in
 * that table.
 */
#ifndef MODELS_H
#define MODELS_H

#include "../nn/graph.h"

// what a recipe's [model] section and `repro model --set` can change on a named model
typedef struct {
    float width;       // channel multiplier on the named model (1 = as named)
    float depth;       // block-count multiplier on the named model (1 = as named; families that
                       // scale depth, e.g. EfficientNet)
    float dropout;     // before the classifier
    float drop_path;   // stochastic depth at the last block, rising linearly from 0
    float se_ratio;    // squeeze-excitation ratio; 0 = the named model's own
    int   in_chans, num_classes; // 0: the named model's own (3 and 1000 ImageNet, 3 and 10 CIFAR)
    bool  reparam;     // the inference form: re-parameterizable branches folded into single
                       // convs (GhostNetV3); families without such branches refuse it
    int   fused_stages; // EfficientNet family: the first N stages Fused-MBConv, the rest MBConv
                        // (EfficientNetV2's boundary); -1 = the named model's own
    float bn_eps;       // every batch norm's epsilon (EfficientNetV2 1e-3); 0 = the model's own
    float bn_momentum;  // every batch norm's running-statistics momentum, in the convention
                        // bn_momentum_tf names; 0 without bn_momentum_tf = the model's own
                        // (PyTorch's 0.1 for all so far; PyTorch's 0, frozen statistics, is TF's 1)
    bool  no_bn;        // every batch norm left out (ResNets only): the plain-conv network, whose
                        // data-parallel training must equal one process's up to the sums' order
                        // (tests/test_dp.c); no timm model has this form
    int   branches;     // GhostNetV3: the parallel conv-BN branches of each re-parameterizable conv
                        // (the paper's ablation); 0 = the named model's own (timm's 3)
    bool  bn_momentum_tf; // bn_momentum in TF's convention: running = m*running + (1-m)*batch, so
                          // PyTorch's momentum is 1 - m (TF 0.9 = PyTorch 0.1; ResNet-RS's 0 = the
                          // last batch's statistics, PyTorch 1); else PyTorch's (running moves by m)
} ModelKnobs;

ModelKnobs  model_knobs_default(void);  // the model as named: multipliers 1, fused_stages -1,
                                        // the rest 0
// the PyTorch-convention momentum the knobs give every BN, or `own` when they leave it
float       model_bn_momentum(const ModelKnobs *k, float own);
bool        model_known(const char *name);
const char *model_names(void);           // "resnet18, resnet34, ...", for messages
int         model_default_res(const char *name); // 0 for an unknown name
// 0 when the named model takes these knobs; else ERR_ARG with one line naming what it does not
int         model_check(const char *name, const ModelKnobs *k);
// 0 when the named model (a registered one) can take inputs of res x res, else ERR_ARG with one
// line naming the smallest it takes (GhostNet: its last stage's DFC attention pools 2x2, res >= 33)
int         model_check_res(const char *name, int res);
// the side of the feature map the named model's global pool reads at input res x res (its last
// stage's: EfficientNetV2-S at 32 px 1, at 33 px 2), 0 for a model without one; builds the model
// (name and knobs as model_build)
int         model_final_map(const char *name, const ModelKnobs *k, int res);
// builds the named model for input (batch, res, res, in_chans); returns the logits tensor. The
// name and knobs must pass model_check (a programmer error otherwise)
int         model_build(Graph *g, const char *name, const ModelKnobs *k, int batch, int res);

// a family of named models, as the registry sees it (each family's file defines its entry)
typedef struct {
    const char *plural;                 // "ResNets", for messages
    bool (*known)(const char *name);    // is name one of the family's configurations?
    const char *(*names)(void);         // "resnet18, resnet34, ...", for messages
    int  (*default_res)(const char *name);
    bool takes_depth;                   // the depth knob (else depth is chosen by name)
    bool takes_fused_stages;            // the fused_stages knob (EfficientNet family)
    // what else the family refuses of these knobs, one line naming it, ERR_ARG; NULL: nothing
    int  (*check)(const char *name, const ModelKnobs *k);
    // ERR_ARG with one line when name cannot take res x res inputs; NULL: any res
    int  (*check_res)(const char *name, int res);
    // the family's builder with the knobs applied (the graph's BN settings already set)
    int  (*build)(Graph *g, const char *name, const ModelKnobs *k, int batch, int res);
    // re-parameterizable branches: folds the trained table into the inference form's p (BN
    // epsilon eps); NULL for a family without branches (the reparam knob is refused then)
    void (*fold)(Params *p, const Params *trained, float eps);
} ModelFamily;

extern const ModelFamily resnet_family, effnet_family, ghostnet_family;
// the inference form of a trained model: builds `name` with k->reparam set into g over the empty
// table p for input (batch, res, res, in_chans), allocates p on trained's device and fills it
// from `trained` (the training form's table, same name and knobs, allocated): every set of
// parallel conv-BN branches folded into one conv with bias, as timm's reparameterize(); every
// other entry copied by name. Returns the logits tensor. The name must pass model_check with
// reparam set (a programmer error otherwise)
int         model_reparameterize(Graph *g, Params *p, const char *name, const ModelKnobs *k,
                                 const Params *trained, int batch, int res);
// true when the named model has re-parameterizable branches (reparam is a knob it takes)
bool        model_has_reparam(const char *name);
// refolds: fills p, the allocated table of g (the named model built with reparam set), from
// `trained` (the training form's table, same name and knobs): what model_reparameterize does
// after building, for a caller that keeps the folded model and folds new weights into it (every
// epoch's eval)
void        model_fold(const char *name, const Graph *g, Params *p, const Params *trained);

#endif
