/* studies/re_fmnist.c
 * Question: does Random Erasing lower the test error of ResNets on Fashion-MNIST, at every depth?
 *           (Zhong et al., "Random Erasing Data Augmentation", AAAI 2020, Table 1, Fashion-MNIST)
 * Grid:     ResNet-20, 32 (basic blocks), 44, 56, 110 (the authors' bottleneck nets, resnet44b..)
 *           x {baseline, erasing p = 0.5}; recipe re_fmnist (the authors' code's settings)
 * Tiers:    paper = the published setting itself (300 epochs, 5 seeds; it runs on a CPU, in days);
 *           cpu = the same schedule shortened proportionally to 4 epochs (x0.1 at 2 and 3, as
 *           150/225 of 300) on the first 20,000 of the 60,000 training images (all 10,000 test
 *           images), one seed: 60 min measured here (all 60,000 would take ~2.5 h, more than
 *           this tier's share of a session); smoke = 256 images, 2 epochs.
 * Output:   results/re_fmnist/<run>.h5 -> plots/re_fmnist/{erasing_effect,learning_curves}.gp
 */
#include "lib/study.h"

#define DEPTHS(X) X(20, "resnet20") X(32, "resnet32") X(44, "resnet44b") X(56, "resnet56b") X(110, "resnet110b")
#define POINTS(d, m) {"d" #d "_base", {"model.name=" m, "data.erase_p=0"}}, {"d" #d "_re", {"model.name=" m}},

static const StudyPoint grid[] = {DEPTHS(POINTS)};
static const StudyPoint smoke[] = {{"d20_base", {"model.name=resnet20", "data.erase_p=0"}},
                                   {"d20_re", {"model.name=resnet20"}}};

// "random erasing lowers the error at every depth" (Table 1: every row of the Fashion-MNIST column),
// on the best epoch's top-1, as the authors' code reports (best_acc) and Table 1 lists
static int erasing_helps_everywhere(const StudyResults *r, char *numbers, size_t cap)
{
#define RE(d, m) "d" #d "_re",
#define BASE(d, m) "d" #d "_base",
    static const char *const re[] = {DEPTHS(RE)}, *const base[] = {DEPTHS(BASE)};
    return study_claim_each(r, re, base, LEN(re), "best_top1", true, numbers, cap);
}

static const StudyClaim claims[] = {
    {"random erasing lowers the test error at every depth (Table 1)", erasing_helps_everywhere, NULL, NULL},
};

const StudyDef study_re_fmnist = {
    .name = "re_fmnist",
    .question = "does random erasing lower the error of ResNet-20..110 on Fashion-MNIST at every depth?",
    .paper = "Zhong et al. 2020, Random Erasing Data Augmentation, Table 1 (Fashion-MNIST)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/re_fmnist.recipe",
                        {"train.epochs=2", "schedule.milestones=1", "data.train_limit=256", "data.eval_limit=200",
                         "train.batch=64"},
                        smoke, LEN(smoke), 1, "256 images, 2 epochs: proves the path"},
        [TIER_CPU] = {"recipes/re_fmnist.recipe", {"train.epochs=4", "schedule.milestones=2, 3", "data.train_limit=20000"}, grid,
                      LEN(grid), 1, "300 epochs -> 4 (milestones 150, 225 -> 2, 3) on 20,000 training images: "
                      "the 10 runs took 60 min on 2 cores", {{"*", SANITY_LEARNS}, {"*_base", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/re_fmnist.recipe", {NULL}, grid, LEN(grid), 5,
                        "as published: 300 epochs, mean of 5 runs", {{"*", SANITY_LEARNS}, {"*_base", SANITY_OVERFITS}}},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_re_fmnist)
