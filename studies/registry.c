/* studies/registry.c — every study, for the commands that look at all of them (repro check). */
#include <string.h> // strcmp

#include "study.h"

extern const StudyDef study_re_fmnist;

const StudyDef *const study_registry[] = {&study_re_fmnist, NULL};

const StudyDef *study_find(const char *name)
{
    for (int i = 0; study_registry[i]; i++)
        if (!strcmp(study_registry[i]->name, name)) return study_registry[i];
    return NULL;
}
