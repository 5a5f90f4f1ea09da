/* engine/run/run.h — one run on disk: a resolved recipe trained into its run file and checkpoint.
 *
 * `repro train` and the study runner (studies/lib/study.h) both go through run_train, so a run
 * means the same thing wherever it starts: the resolved recipe text is printed and stored in the
 * run file, the run id is recipe_run_id's (recipe.h), the run file DIR/<name>.h5 is replaced atomically after
 * every epoch and the checkpoint DIR/<name>.safetensors beside it (train/checkpoint.h).
 * What happens to an existing run file is the caller's choice (RunMode):
 *   RUN_NEW       an existing file is an error (repro train without --resume / --force);
 *   RUN_RESUME    continue it from its checkpoint; a `done` file is left as it is;
 *   RUN_FORCE     start over (the checkpoint is removed);
 *   RUN_CONTINUE  the study rule: `done` -> skipped, anything else -> resumed (or started);
 *                 in every mode but RUN_FORCE a file that holds another run id (the same name for
 *                 a different configuration) is an error, never overwritten.
 * A run that fails leaves no file that looks valid: none before its first epoch, status `failed`
 * after (a `done` file is never touched).
 */
#ifndef RUN_H
#define RUN_H

#include "../train/train.h"

typedef enum { RUN_NEW, RUN_RESUME, RUN_FORCE, RUN_CONTINUE } RunMode;

typedef struct {
    const char *dir;    // folder of the run file and checkpoint (created when missing)
    const char *name;   // file stem; NULL = the run id
    const char *study;  // root attributes of the run file
    const char *tier;
    const char *label;  // the grid point's name ("" outside studies)
    const char *refs;   // folder where run references (@NAME) resolve; NULL = dir
    RunMode     mode;
    bool        quiet;  // no resolved-recipe and run-file lines (the study prints its own progress)
} RunSpec;

typedef struct {
    char   path[1100];     // the run file
    char   run_id[17];
    char   status[32];     // done, diverged, failed, or skipped (done before this call)
    double top1, best_top1, wall_s;
    int    epochs;
} RunOutcome;

// trains c (recipe_load's result; its run id and checkpoint are set here) under spec; `source`
// names the recipe for the printout. 0 when the run is done (now or before), 1 otherwise (the
// cause printed)
int  run_train(TrainConfig *c, const char *source, const RunSpec *spec, RunOutcome *out);
// run_train as one rank of the job this process was started in (dist/comm.h: a world of one when
// started plainly): under mpirun or srun the ranks train c data-parallel (train.h), rank 0 speaks
// (the others' stdout is silenced) and writes; a run that fails on some rank ends every rank
// (comm_abort), since the others would wait in a collective. The same returns as run_train
int  run_train_ranks(TrainConfig *c, const char *source, const RunSpec *spec, RunOutcome *out);
// Run references: model.weights or a teacher's file in distill.teachers written "@NAME" means
// the checkpoint of the done run NAME in the reference folder (RunSpec.refs, else the run's own
// folder): REFS/NAME.safetensors. The recipe, and so the run id, keeps "@NAME", so a run id never
// depends on where its results folder is, and a study can train its teachers as its first runs.
// Only an '@' that begins the value or a teacher's file (after "name:") is a reference; elsewhere
// it is part of a path. run_refs lists the NAMEs c refers to (the first max of them, each < 128
// bytes); returns how many there are (more than max when some were not listed), or ERR_FORMAT with
// one line when a reference is malformed. run_resolve_refs rewrites them into
// paths in c, after checking that each run is done and its checkpoint there (else one line naming
// the run, its file and its status; ERR_IO)
int  run_refs(const TrainConfig *c, char (*names)[128], int max);
// a character of a run name in a reference (letters, digits, '_', '-', '.')
bool run_ref_char(char ch);
int  run_resolve_refs(TrainConfig *c, const char *refs);
// the model knobs of each teacher in c->distill.teachers whose file is one of our checkpoints, from
// the recipe it stores (distill.knobs: a ResNet-50 x0.25 teacher is built at width 0.25), after
// checking that its run trained the model the spec names; 0 or ERR_* with one line
int  run_teacher_knobs(TrainConfig *c);
// mkdir -p; 0 or ERR_IO with one line naming the folder
int  run_make_dirs(const char *dir);
// the revision this program was built from ("abc123def456", "+dirty" when built from a tree
// whose tracked files differed from it; "unknown" outside a git checkout): not the checkout's
// revision when it runs, which may have moved on since the build
void run_git_revision(char out[64]);

#endif
