/* engine/run/recipe.h — training recipes: INI files (read with inih) into a TrainConfig, and the
 * run id.
 *
 * Sections and keys are one table (recipe.c): an unknown section or key, or a value that does
 * not parse, is an error naming the file, line, key and what would be valid. `--set
 * section.key=value` overrides apply after the file, with the same checks. recipe_text writes
 * the fully resolved recipe (every key, defaults included) — what a run prints at start and
 * stores verbatim in its run file. Keys whose 0 means "the model's / the optimizer's own" (beta2,
 * eps) are resolved to the value used, so the resolved recipe says what ran.
 * The run id (recipe_run_id) is a hash of the resolved keys that identify a configuration: every
 * key of the first schema, and a key added since only when it is set to something else than the
 * value that means "as before it existed", so adding a key with a default leaves every stored
 * run's id as it was (recipe.c, RecipeKey.id_neutral). This layer sits above train/: resolving a
 * recipe checks the model, the data set and the trainer's settings.
 */
#ifndef RECIPE_H
#define RECIPE_H

#include <stdio.h> // FILE

#include "../train/train.h"

// defaults, then the file (path NULL: none), then the overrides ("section.key=value"); 0 or
// ERR_FORMAT / ERR_IO
int  recipe_load(TrainConfig *c, const char *path, int n_sets, char *const *sets);
// recipe_load of INI text (a run file's stored recipe); name stands for the file in messages.
// needs not NULL: what this build lacks goes there as recipe_check's lines, and is no error
int  recipe_parse(TrainConfig *c, const char *name, const char *text, int n_sets, char *const *sets,
                  FILE *needs);
// recipe_load for `repro recipe --check`: every key, value and agreement is checked alike, but
// what only this build or machine may lack (data.dataset's reader or its files, a teacher in
// distill.teachers that is not a registered model) is no error: one "needs: ..." line each goes
// to `needs`. So a paper-tier recipe (data.dataset = imagenet, whose shards only some machines
// hold) is checked everywhere.
// Returns how many needs lines it wrote (0: trainable here), or ERR_FORMAT / ERR_IO
int  recipe_check(TrainConfig *c, const char *path, int n_sets, char *const *sets, FILE *needs);
// the defaults of every key, unresolved (what recipe_load starts from)
void recipe_defaults(TrainConfig *c);
// one override "section.key=value" into c, checked as a recipe line (not resolved: the caller
// checks what it uses); where: what the message names as its origin ("--set:2", "--res").
// 0 or ERR_FORMAT with one line
int  recipe_set(TrainConfig *c, const char *set, const char *where);
// the resolved recipe as INI text (every key; malloc'd, NUL-terminated: free it)
char *recipe_text(const TrainConfig *c);
// the run id of a resolved recipe: 16 hex digits of the FNV-1a hash of its identifying keys' text
void recipe_run_id(const TrainConfig *c, char out[17]);
// every key, one a line: section.key, its default, what is valid (range, names) and what it means
// (`repro recipe --keys`)
void recipe_print_keys(FILE *f);

#endif
