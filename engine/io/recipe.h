/* engine/io/recipe.h — training recipes: INI files (read with inih) into a TrainConfig.
 *
 * Sections and keys are one table (recipe.c): an unknown section or key, or a value that does
 * not parse, is an error naming the file, line, key and what would be valid. `--set
 * section.key=value` overrides apply after the file, with the same checks. recipe_format writes
 * the fully resolved recipe (every key, defaults included) — what a run prints at start and
 * stores verbatim in its run file. Keys whose 0 means "the model's / the optimizer's own" (beta2,
 * eps) are resolved to the value used, so the resolved recipe says what ran.
 */
#ifndef RECIPE_H
#define RECIPE_H

#include "../train/train.h"

// defaults, then the file, then the overrides ("section.key=value"); 0 or ERR_FORMAT / ERR_IO
int  recipe_load(TrainConfig *c, const char *path, int n_sets, char *const *sets);
// recipe_load for `repro recipe --check`: every key, value and agreement is checked alike, but
// what only this build may lack (data.dataset's reader, a teacher in distill.teachers that is not
// a registered model) is no error: one "needs: ..." line each goes to `needs`. So a paper-tier
// recipe (data.dataset = imagenet before its reader exists) is checked everywhere but there.
// Returns how many needs lines it wrote (0: trainable here), or ERR_FORMAT / ERR_IO
int  recipe_check(TrainConfig *c, const char *path, int n_sets, char *const *sets, FILE *needs);
// the resolved recipe as INI text into buf (NUL-terminated); returns the length
size_t recipe_format(const TrainConfig *c, char *buf, size_t cap);
// every key, one a line: section.key, its default, what is valid (range, names) and what it means
// (`repro recipe --keys`)
void   recipe_print_keys(FILE *f);
// a run id from the resolved recipe text: 16 hex digits of its FNV-1a hash
void   run_id_of(const char *recipe_text, char out[17]);

#endif
