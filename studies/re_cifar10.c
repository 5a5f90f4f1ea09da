/* studies/re_cifar10.c
 * Question: does Random Erasing lower the test error of ResNets on CIFAR-10?
 *           (Zhong et al., "Random Erasing Data Augmentation", AAAI 2020, Table 1, CIFAR-10 column:
 *           ResNet-20 7.21 -> 6.73%, mean of 5 runs, std 0.17 and 0.09)
 * Grid:     {baseline, erasing p = 0.5} x ResNet-20 (cpu) or ResNet-20, 32, 44, 56, 110 (paper: the
 *           authors' nets, bottleneck blocks from 44 on); recipe re_cifar10 (the authors' code's
 *           settings) on the JPEG set of ../shared/data (make data).
 * Tiers:    paper = the published setting (300 epochs, steps at 150 and 225, 5 seeds); on these
 *           JPEG re-encodes only the effect compares with the paper's, never the error itself.
 *           cpu = ResNet-20 with and without erasing, 3 seeds, on 25,000 of the 50,000 training
 *           images (2,500 of each class: train_limit spreads them) for 50 epochs, the schedule's steps
 *           at the same fractions (25, 38): the same 1.25M images a run as 25 full epochs, but a
 *           regime that overfits as the paper's 300 epochs do (training top-1 well above test
 *           top-1, which the sanity line checks), where a regularizer can show its effect.
 *           All 10,000 test images. smoke = 256 images, 2 epochs.
 * Output:   results/re_cifar10/<run>.h5
 */
#include "lib/study.h"

#define DEPTHS(X) X(20, "resnet20") X(32, "resnet32") X(44, "resnet44b") X(56, "resnet56b") X(110, "resnet110b")
#define POINTS(d, m) {"d" #d "_base", {"model.name=" m, "data.erase_p=0"}}, {"d" #d "_re", {"model.name=" m}},

static const StudyPoint paper[] = {DEPTHS(POINTS)};
static const StudyPoint d20[] = {{"d20_base", {"model.name=resnet20", "data.erase_p=0"}},
                                 {"d20_re", {"model.name=resnet20"}}};

// Table 1 lists the best epoch's error (the code's best_acc); the final epoch's is the stricter
// reading and is the second claim
static int erasing_helps_best(const StudyResults *r, char *numbers, size_t cap)
{
#define RE(d, m) "d" #d "_re",
#define BASE(d, m) "d" #d "_base",
    static const char *const re[] = {DEPTHS(RE)}, *const base[] = {DEPTHS(BASE)};
    // the depths a tier runs: the cpu tier ResNet-20 only
    int n = study_stat(r, "d32_base", "best_top1").n || study_stat(r, "d32_re", "best_top1").n ? LEN(re) : 1;
    return study_claim_each(r, re, base, n, "best_top1", true, numbers, cap);
}

static int erasing_helps_final(const StudyResults *r, char *numbers, size_t cap)
{
    static const char *const re[] = {DEPTHS(RE)}, *const base[] = {DEPTHS(BASE)};
    int n = study_stat(r, "d32_base", "top1").n || study_stat(r, "d32_re", "top1").n ? LEN(re) : 1;
    return study_claim_each(r, re, base, n, "top1", true, numbers, cap);
}

static const StudyClaim claims[] = {
    {"random erasing lowers the best-epoch test error (Table 1: ResNet-20 7.21 -> 6.73, -0.48 points)",
     erasing_helps_best, NULL, NULL},
    {"random erasing lowers the final-epoch test error", erasing_helps_final, NULL, NULL},
};

const StudyDef study_re_cifar10 = {
    .name = "re_cifar10",
    .question = "does random erasing lower the test error of ResNets on CIFAR-10?",
    .paper = "Zhong et al. 2020, Random Erasing Data Augmentation, Table 1 (CIFAR-10)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/re_cifar10.recipe",
                        {"train.epochs=2", "schedule.milestones=1", "data.train_limit=256", "data.eval_limit=200",
                         "train.batch=64"},
                        d20, LEN(d20), 1, "256 images, 2 epochs: proves the path"},
        [TIER_CPU] = {"recipes/re_cifar10.recipe",
                      {"train.epochs=50", "schedule.milestones=25, 38", "data.train_limit=25000"}, d20, LEN(d20), 3,
                      "ResNet-20 +- erasing, 3 seeds: 300 epochs -> 50 (steps 150, 225 -> 25, 38) on 25,000 "
                      "training images (half of each class), all 10,000 test images: about 27 min a run, "
                      "2.7 h for the 6 on 2 cores",
                      {{"*", SANITY_LEARNS}, {"*_base", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/re_cifar10.recipe", {NULL}, paper, LEN(paper), 5,
                        "as published: 300 epochs, mean of 5 runs (on the JPEG set: compare the effect only)",
                        {{"*", SANITY_LEARNS}, {"*_base", SANITY_OVERFITS}}},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_re_cifar10)
