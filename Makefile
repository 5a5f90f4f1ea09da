# Makefile — the reproduction suite. `make deps` installs what is missing, `make` builds,
# `make test` builds and runs every test, `make bench-ops` times the ops against PyTorch,
# `make bench` times training and eval (images/s, peak memory) of ResNet-20 and the compact
# models against PyTorch.
# Every probe prints one line (STYLE §11); overrides: make CUDA=0, make SM=80, make OPT=-O0.

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g -fopenmp -Wall -Wextra -Wshadow -Wno-unused-parameter \
           -Wno-missing-field-initializers \
           -MMD -MP -Iengine -I.
LDLIBS  := -fopenmp -lm -lz -linih -ljpeg -lpng
PYTHON  := /usr/bin/python3
# timm's folder (make fixtures installs it there), for the fixtures and tests/test_timm_weights.sh
PYSITE  ?= build/pysite
SM      ?= 90
CUDA    ?= 1

# ---- probes -----------------------------------------------------------------------------------
NVCC  := $(if $(filter 0,$(CUDA)),,$(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null))
CUDA_HOME := $(if $(NVCC),$(patsubst %/bin/,%,$(dir $(NVCC))))
CUDNN := $(if $(NVCC),$(wildcard $(CUDA_HOME)/include/cudnn.h))
DNNL  := $(wildcard /usr/include/oneapi/dnnl/dnnl.h)
HDF5  := $(shell pkg-config --exists hdf5 2>/dev/null && echo yes)
ifeq ($(filter deps clean,$(MAKECMDGOALS)),)
$(info cuda   : $(if $(filter 0,$(CUDA)),no: CUDA=0 given,$(if $(NVCC),yes ($(NVCC)),no: nvcc not found, building CPU only)))
$(info cudnn  : $(if $(NVCC),$(if $(CUDNN),yes ($(CUDNN)),no: cudnn.h not found, CUDA backend not built),no: needs cuda))
$(info nccl   : $(if $(NVCC),$(if $(wildcard $(CUDA_HOME)/include/nccl.h),yes (GPU ranks sum over NCCL),no: GPU ranks sum through host copies),no: needs cuda))
$(info onednn : $(if $(DNNL),yes ($(DNNL)),no: run make deps; cpu backend not built))
$(info hdf5   : $(if $(HDF5),yes,no: run make deps; studies will not build))
endif

# ---- sources ----------------------------------------------------------------------------------
# the engine's layers (README: "The layers"); the command line (engine/cli) and the studies sit on top
CORE_SRC := $(wildcard engine/core/*.c engine/data/*.c engine/nn/*.c engine/models/*.c engine/train/*.c \
                       engine/run/*.c engine/dist/*.c) \
            $(filter-out engine/io/runfile.c engine/io/export.c,$(wildcard engine/io/*.c))
ifneq ($(HDF5),)
CFLAGS   += -DHAVE_HDF5 $(shell pkg-config --cflags hdf5)
CORE_SRC += engine/io/runfile.c engine/io/export.c
LDLIBS   += $(shell pkg-config --libs-only-L hdf5) -lhdf5_hl -lhdf5 -lcsv
endif
# MPI (Open MPI's libopenmpi-dev): data-parallel training across processes (engine/dist/comm.h);
# without it a program is always a world of one
MPI := $(shell pkg-config --exists ompi-c 2>/dev/null && echo yes)
ifneq ($(MPI),)
CFLAGS   += -DHAVE_MPI $(shell pkg-config --cflags ompi-c)
LDLIBS   += $(shell pkg-config --libs ompi-c)
endif
# studies: each studies/<name>.c is a study (bin/<name>) and joins the registry (build/libstudies.a);
# the runner they share is studies/lib/
STUDY_DEFS := $(sort $(wildcard studies/*.c))
STUDIES    := $(if $(HDF5),$(patsubst studies/%.c,%,$(STUDY_DEFS)))
STUDY_BINS := $(addprefix bin/,$(STUDIES))
BACK_SRC := engine/backend/ops.c engine/backend/dev.c $(wildcard engine/backend/ref/*.c)
ifneq ($(DNNL),)
CFLAGS   += -DHAVE_DNNL
BACK_SRC += $(wildcard engine/backend/cpu/*.c)
LDLIBS   += -ldnnl
endif
ENGINE_OBJ := $(patsubst %.c,build/%.o,$(CORE_SRC) $(BACK_SRC))

# the cuda backend is its own shared object, loaded by dev.c on first use (backends.h): programs
# that never ask for cuda do not map cuDNN/cuBLAS, and the .cu code calls back into the engine's
# functions, which every program exports (--export-dynamic, the whole engine archive linked in)
CUDA_LIB :=
ifneq ($(and $(NVCC),$(CUDNN)),)
CFLAGS   += -DHAVE_CUDA
NVFLAGS  := -std=c++20 -O3 -g -Iengine -DHAVE_CUDA -gencode arch=compute_$(SM),code=[sm_$(SM),compute_$(SM)] \
            -Xcompiler -fPIC,-Wall,-Wextra,-Wno-unused-parameter -Werror all-warnings -MMD -MP
# NCCL (nccl.h under CUDA_HOME, as in the CUDA images): the GPU ranks' gradient sums (cuda/nccl.cu,
# which loads libnccl.so.2 when a run asks for it: the backend does not need it to load)
NCCL     := $(wildcard $(CUDA_HOME)/include/nccl.h)
NVFLAGS  += $(if $(NCCL),-DHAVE_NCCL)
CU_SRC   := $(wildcard engine/backend/cuda/*.cu)
CU_OBJ   := $(patsubst %.cu,build/%.o,$(CU_SRC))
CUDA_LIB := bin/libengine_cuda.so
LDLIBS   += -ldl
endif
LINK_ENGINE := -Wl,--whole-archive build/libengine.a -Wl,--no-whole-archive -Wl,--export-dynamic \
               -Wl,-rpath,'$$ORIGIN'

# the revision the programs are built from, which every run file records (+dirty: built from a
# tree whose tracked files differ from it; unknown outside a git checkout). build/revision.h is
# rewritten only when it changes, and only engine/run/run.c includes it: a commit relinks, no more
REVISION := $(shell r=$$(git rev-parse --short=12 HEAD 2>/dev/null) && \
              { git diff --quiet HEAD -- 2>/dev/null && echo $$r || echo $$r+dirty; } || echo unknown)
$(shell mkdir -p build && { echo '#define REPRO_REVISION "$(REVISION)"' | cmp -s - build/revision.h || \
        echo '#define REPRO_REVISION "$(REVISION)"' > build/revision.h; })
CFLAGS += -Ibuild

# objects rebuild when the flags change (make CUDA=0 after a CUDA build, OPT=-O0 ...)
FLAGS_STAMP := build/.flags
$(shell mkdir -p build && { echo '$(CFLAGS) | $(NVFLAGS) | $(LDLIBS)' | cmp -s - $(FLAGS_STAMP) || \
        echo '$(CFLAGS) | $(NVFLAGS) | $(LDLIBS)' > $(FLAGS_STAMP); })

TESTS_DIST := bin/test_comm bin/test_dp
TESTS := bin/test_core bin/test_data bin/test_augment bin/test_io bin/test_models bin/test_zoo bin/test_ghost bin/test_train \
         bin/test_optim bin/test_weights bin/test_distill bin/test_progressive bin/test_run bin/test_nets bin/test_cuda bin/test_ops
BINS  := $(TESTS) $(TESTS_DIST) bin/bench_ops bin/bench_train bin/bench_data bin/image_tool bin/repro $(STUDY_BINS)

.PHONY: all deps data test bench bench-data bench-dist bench-ops fixtures train clean pysite plots check study
.SECONDARY: # keep objects: make never deletes them after a build
all: $(BINS) $(CUDA_LIB)

build/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

build/%.o: %.cu $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

build/libengine.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/libengine_cuda.so: $(CU_OBJ)
	@mkdir -p bin
	$(NVCC) -shared -o $@ $^ -L$(CUDA_HOME)/lib64 -Xlinker -rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublas -lcudart

# every program can load the cuda backend: it is built with them
$(BINS): | $(CUDA_LIB)

bin/test_core bin/test_data bin/test_augment bin/test_io bin/test_models bin/test_zoo bin/test_ghost bin/test_train \
    bin/test_optim bin/test_weights bin/test_distill bin/test_progressive bin/test_run bin/test_nets bin/test_cuda: bin/%: build/tests/%.o \
    build/libengine.a
	@mkdir -p bin
	$(CC) -o $@ $(filter %.o,$^) $(filter build/libstudies.a,$^) $(LINK_ENGINE) $(LDLIBS) -lcriterion
# test_run checks the study runner's statistics too (studies/lib)
bin/test_run: $(if $(HDF5),build/libstudies.a)

bin/test_ops bin/bench_ops: build/tests/op_cases.o
bin/test_ops bin/test_models bin/test_zoo bin/test_ghost bin/test_train bin/test_optim bin/test_distill \
    bin/test_augment bin/test_progressive bin/test_nets: build/tests/fixtures.o

# bin/repro: the command line, one file per command group (engine/cli/); repro check reads the study
# registry (studies/, with HDF5)
CLI_OBJ       := $(patsubst %.c,build/%.o,$(wildcard engine/cli/*.c))
REPRO_STUDIES := $(if $(HDF5),build/libstudies.a)
bin/repro: $(CLI_OBJ) build/libengine.a $(REPRO_STUDIES)
	@mkdir -p bin
	$(CC) -o $@ $(CLI_OBJ) $(REPRO_STUDIES) $(LINK_ENGINE) $(LDLIBS)

# the registry of every study, written from the files studies/*.c (rewritten only when the list changes)
REGISTRY := build/studies/registry.c
$(shell mkdir -p build/studies && { { echo '/* written by the Makefile from the files studies/NAME.c: every study, in name order */'; \
          echo '#include "studies/lib/study.h"'; for s in $(STUDIES); do echo "extern const StudyDef study_$$s;"; done; \
          printf 'const StudyDef *const study_registry[] = {'; for s in $(STUDIES); do printf '&study_%s, ' $$s; done; \
          echo 'NULL};'; } > $(REGISTRY).new; cmp -s $(REGISTRY).new $(REGISTRY) || mv $(REGISTRY).new $(REGISTRY); rm -f $(REGISTRY).new; })
build/studies/registry.o: $(REGISTRY) $(FLAGS_STAMP)
	$(CC) $(CFLAGS) -c $< -o $@

build/libstudies.a: $(patsubst %.c,build/%.o,$(wildcard studies/lib/*.c)) build/studies/registry.o \
                    $(patsubst %.c,build/%.o,$(STUDY_DEFS))
	@rm -f $@
	ar rcs $@ $^

# a study's program: its file again, with main (study.h, STUDY_PROGRAM)
build/studies/main/%.o: studies/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSTUDY_MAIN -c $< -o $@

$(STUDY_BINS): bin/%: build/studies/main/%.o build/libstudies.a build/libengine.a
	@mkdir -p bin
	$(CC) -o $@ $< build/libstudies.a $(LINK_ENGINE) $(LDLIBS)

# ---- studies: the users' three jobs ------------------------------------------------------------
# make study [NAME=re_fmnist] [TIER=cpu] [FRESH=1] [OUT=DIR]: run the grid into OUT (default
# runs/NAME, untracked: the committed results/NAME stay as they are; resuming, or from scratch with
# FRESH=1), export CSV, draw into OUT/plots, report claims, compare with results/NAME and the
# published numbers; make plots: every figure from results/ alone (tier cpu: the committed
# results); make check: published vs reproduced and every claim
NAME ?= re_fmnist
TIER ?= cpu
OUT ?= runs/$(NAME)
study: bin/repro $(STUDY_BINS)
	@[ -n "$(NAME)" ] || { echo "usage: make study NAME=<study> [TIER=smoke|cpu|paper] [FRESH=1] [OUT=DIR]; studies: $(STUDIES)"; exit 2; }
	scripts/study.sh $(NAME) $(TIER) $(OUT) -- $(if $(FRESH),--force)
plots: bin/repro
	@for s in $(STUDIES); do scripts/plots.sh $$s cpu || exit 1; done
check: bin/repro
	./bin/repro check

bin/%: build/tests/%.o build/libengine.a
	@mkdir -p bin
	$(CC) -o $@ $(filter %.o,$^) $(LINK_ENGINE) $(LDLIBS)

# ---- dependencies: Debian packages, installed only when missing ----------------------------------
DEB_PKGS := build-essential pkg-config libdnnl-dev libhdf5-dev hdf5-tools gnuplot-nox libcsv-dev \
            libinih-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev libcriterion-dev libopenmpi-dev openmpi-bin \
            dataset-fashion-mnist python3-torch python3-torchvision python3-h5py python3-numpy python3-pil python3-pip \
            libtcmalloc-minimal4
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all $(words $(DEB_PKGS)) packages present"; \
	else echo "deps: installing $$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; fi

# ---- data: the shared photograph sets, unpacked into data/ (ignored) and packed into shards -------
# ../shared/data holds CIFAR-10 and Imagenette as JPEG folders (its README says where they come from);
# each split becomes data/<set>/<split>.shard, which dataset cifar10 / imagenette read (data/dataset.h).
# Elsewhere README.md ("Data") says where each set comes from and how to point the suite at it.
SHARED_DATA ?= ../shared/data
DATA_SHARDS := data/cifar10/train.shard data/cifar10/test.shard data/imagenette-160/train.shard \
               data/imagenette-160/val.shard
data: $(DATA_SHARDS)
data/cifar10/.unpacked: ARCHIVE := cifar10-jpeg.tar.gz
data/imagenette-160/.unpacked: ARCHIVE := imagenette-160-jpeg.tar.gz
data/%/.unpacked:
	@test -f $(SHARED_DATA)/$(ARCHIVE) || { echo "make data: no $(SHARED_DATA)/$(ARCHIVE) here;" \
	    "README.md (Data) says where the set comes from and how to point data.dir at it"; exit 1; }
	@echo "data: unpacking $(SHARED_DATA)/$(ARCHIVE) into data/"
	@mkdir -p data && tar xzf $(SHARED_DATA)/$(ARCHIVE) -C data && touch $@
data/cifar10/%.shard: data/cifar10/.unpacked | bin/repro
	bin/repro data pack data/cifar10/$* --out $@ --quiet
data/imagenette-160/%.shard: data/imagenette-160/.unpacked | bin/repro
	bin/repro data pack data/imagenette-160/$* --out $@ --quiet

# ---- tests and benchmarks ---------------------------------------------------------------------
# every test binary runs, the target fails if any failed; test_ops prints the closing summary line.
# tests/test_layers.py checks that every #include points down the layers (README, "The layers").
# tests/test_recipes.sh loads every recipe and trains every cpu-tier recipe for a tiny epoch;
# tests/test_timm_weights.sh compares weights and logits with timm (PYSITE: where timm is; it
# prints a skip line without torch or timm). CRITERION_JOBS=1: one test at a time, since each trains
# on both cores with OpenMP; two at once (and a child each, in the resume tests) slowed test_train
# from 26 s to over 5 minutes here
# the photograph sets' shards when ../shared/data holds them (studies on CIFAR-10 run their smoke
# tier on them; without, test_studies.sh says skip for those)
TEST_DATA := $(if $(and $(wildcard $(SHARED_DATA)/cifar10-jpeg.tar.gz),$(wildcard $(SHARED_DATA)/imagenette-160-jpeg.tar.gz)),data)
test: $(TESTS) $(TESTS_DIST) bin/image_tool bin/repro $(STUDY_BINS) pysite $(TEST_DATA)
	@rc=0; for t in tests/test_layers.py $(TESTS) tests/test_image.py tests/test_shard.py tests/test_cli.sh tests/test_recipes.sh tests/test_timm_weights.sh \
	    tests/test_dist.sh $(if $(HDF5),tests/test_studies.sh tests/test_integrity.sh); do echo "== $$t"; \
	    CRITERION_JOBS=1 PYTHON=$(PYTHON) PYSITE=$(PYSITE) ./$$t || rc=1; done; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED"; fi; exit $$rc

# timm (the version the fixtures came from) from PyPI, without dependencies, into $(PYSITE) when
# it is missing; without a network the timm comparisons say skipped instead of failing
TIMM_VERSION := 1.0.31
pysite:
	@PYTHONPATH=$(PYSITE) $(PYTHON) -c 'import timm' 2>/dev/null || \
	    $(PYTHON) -m pip install -q --no-deps --target $(PYSITE) timm==$(TIMM_VERSION) 2>/dev/null || \
	    echo "pysite: could not install timm $(TIMM_VERSION) into $(PYSITE); timm comparisons will be skipped"

# regenerate the reference fixtures (committed; needs python3-torch, and timm: see pysite)
fixtures: pysite
	$(PYTHON) tests/ref/gen_op_fixtures.py tests/ref/ops.fix
	PYTHONPATH=$(PYSITE) $(PYTHON) tests/ref/gen_model_fixtures.py tests/ref/models.fix
	PYTHONPATH=$(PYSITE) $(PYTHON) tests/ref/gen_ghost_fixtures.py tests/ref/ghost.fix
	PYTHONPATH=$(PYSITE) $(PYTHON) tests/ref/gen_zoo_fixtures.py tests/ref/zoo.fix
	PYTHONPATH=$(PYSITE) $(PYTHON) tests/ref/gen_train_fixtures.py tests/ref/train.fix
	$(PYTHON) tests/ref/gen_distill_fixtures.py tests/ref/distill.fix
	PYTHONPATH=$(PYSITE) $(PYTHON) tests/ref/gen_augment_fixtures.py tests/ref/augment.fix
	$(PYTHON) tests/ref/gen_progressive_fixtures.py tests/ref/progressive.fix

bench-ops: bin/bench_ops
	./bin/bench_ops

# the engine's bin/bench_train against PyTorch's tests/bench_train.py (default, tuned glibc,
# tcmalloc from libtcmalloc-minimal4): ResNet-20 (3 rounds), then the compact models at 56 and
# 128 px against timm's (2 rounds); options: $(PYTHON) scripts/bench_train.py --help
# the input pipeline: bin/bench_data (decode + RandomResizedCrop + flip + normalize of Imagenette)
# against PyTorch's DataLoader with torchvision's transforms, 2 workers each; options:
# $(PYTHON) scripts/bench_data.py --help
bench-data: bin/bench_data bin/bench_train data
	$(PYTHON) scripts/bench_data.py

# data-parallel training: engine 1 rank x 2 threads vs 2 ranks x 1 thread (mpirun), PyTorch 1x2 and
# DDP (gloo) 2x1 as the anchors (scripts/bench_dist.py)
bench-dist: bin/bench_train
	$(PYTHON) scripts/bench_dist.py
bench: bin/bench_train pysite
	$(PYTHON) scripts/bench_train.py
	PYSITE=$(PYSITE) $(PYTHON) scripts/bench_train.py --compact

# one recipe's run outside the studies (results/adhoc/<run id>.h5); a run already done is reported,
# an interrupted one resumed
RECIPE ?= recipes/fmnist_resnet20.recipe
train: bin/repro
	./bin/repro train --recipe $(RECIPE) --resume

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
