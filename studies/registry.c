/* studies/registry.c — every study, for the commands that look at all of them (repro check). */
#include <string.h> // strcmp

#include "study.h"

extern const StudyDef study_re_fmnist, study_rs_additive, study_rs_weight_decay, study_rs_scaling;

const StudyDef *const study_registry[] = {&study_rs_additive, &study_rs_weight_decay, &study_rs_scaling,
                                          &study_re_fmnist, NULL};

const StudyDef *study_find(const char *name)
{
    for (int i = 0; study_registry[i]; i++)
        if (!strcmp(study_registry[i]->name, name)) return study_registry[i];
    return NULL;
}
