/* engine/cli/cli.h — what the commands of bin/repro share: their signature and the options of
 * every command that builds a named model.
 *
 * One file per command group: cmd_model.c (model, export, logits: a named model and its weights),
 * cmd_train.c (train, eval: a recipe's data), cmd_recipe.c (recipe --keys | --check), cmd_results.c
 * (check, verify, export of run files), cmd_data.c (data list | pack | info); main.c dispatches. Every
 * command prints its usage with --help
 * (exit 0), on a bad argument to stderr (exit 2); it returns 0 done, 1 failed (one line naming the
 * cause), 2 usage.
 * Model options: the model's knobs are the recipe's [model] keys, through the recipe key table
 * (run/recipe.h), so every command takes and checks them alike: --set model.width=0.5 (or
 * width=0.5: the section may be left out), --res N, --classes K, --in-chans C (model.res,
 * model.classes, model.in_chans). What a command builds from a name alone takes the named model's
 * own resolution, channels and classes unless told otherwise.
 */
#ifndef CLI_H
#define CLI_H

#include <stdio.h> // FILE

#include "run/recipe.h" // TrainConfig, recipe_set: the key table

typedef int CommandFn(int argc, char **argv, const char *prog);
CommandFn cmd_model, cmd_export, cmd_logits, cmd_train, cmd_eval, cmd_recipe, cmd_check, cmd_verify, cmd_data;

// the recipe's defaults with the model's knobs as named (its own channels, classes; res 0 = its own)
void cli_model_defaults(TrainConfig *c);
// where the model's knobs start when a command is given weights: when `weights` is one of our
// checkpoints that stores its run's recipe (train/checkpoint.h) for model `name`, that recipe's
// [model] keys (the options then override them); else nothing changes. 0, or 1 when the weights
// cannot be read (said why: the command stops there)
int  cli_model_base(TrainConfig *c, const char *name, const char *weights);
// after the options: input channels and classes still the model's own (0) are taken from the
// weights (the stem conv's input channels, the classifier's rows), so every command builds the
// model its weights were trained as. 0, or 1 when the weights cannot be read (said why)
int  cli_model_from_weights(TrainConfig *c, const char *name, const char *weights);
// the model options above: 1 when argv[*i] is one (its value consumed, *i moved past it), 0 when it
// is not, 2 when its value is bad (said why). n counts the --set seen so far (for messages)
int  cli_model_option(int argc, char **argv, int *i, TrainConfig *c, int *n);
// 0 when name is a registered model that takes the knobs k, else 2 with the message
int  cli_check_model(const char *name, const ModelKnobs *k);
// a positive integer argument of flag into *out; 0, or 2 with a message naming flag and value
int  cli_positive_arg(const char *flag, const char *v, int *out);
// --reparam of a command: true when the named model has branches to fold; else says that the
// flag changes nothing (a ResNet is its own inference form) and returns false
bool cli_reparam_or_noop(const char *name, const char *cmd);
// export's first argument when it names run files (RUN.h5, or a folder): their CSV and the exit
// status; -1 when it names none, a model's name then (cmd_results.c)
int  cli_export_runs(const char *what);
// the usage lines of the model options, for a command's --help
#define CLI_MODEL_OPTIONS_HELP \
    "  model options: --res N, --classes K, --in-chans C, --set model.KEY=VALUE (or KEY=VALUE):\n" \
    "  the recipe's [model] keys (width, depth, dropout, drop_path, se_ratio, fused_stages, bn_eps,\n" \
    "  bn_momentum, ...: `repro recipe --keys`), checked as a recipe's are\n"

#endif
