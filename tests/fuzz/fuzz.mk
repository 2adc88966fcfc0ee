# tests/fuzz/fuzz.mk — libFuzzer targets and the replay of their findings.
# Included by the top Makefile:   include tests/fuzz/fuzz.mk
#
#   make fuzz                    run each target FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_SECONDS=300   ... and print the executions per target
#   make fuzz-build              only build build/fuzz/fuzz_{script,target,bundle}
#   make test-fuzz-regressions   replay tests/fuzz/regressions/* and the seed
#                                corpora through the same entry points, built
#                                with gcc + ASan/UBSan, no libFuzzer needed;
#                                prints "N passed, N failed"
#
# Targets (tests/fuzz/fuzz_<name>.c; seeds in tests/fuzz/corpus/<name>/):
#   script   migScriptParse() + migSplitNext()
#   target   migPlan() in every mode + migrate_bundle_resolve() on a fixed bundle
#   bundle   migrate_bundle_open_blob(), encode, decode again, plan
#
# Fuzzing needs clang with libFuzzer: Debian/Ubuntu packages clang and
# libclang-rt-14-dev (the libclang-rt-N-dev matching the clang; it is only a
# Recommends of clang, so --no-install-recommends leaves it out).  New
# inputs go to build/fuzz/corpus/<name>/ (the seeds in the repository are
# only read); a crash is saved in build/fuzz/artifacts/<name>/ and fails
# `make fuzz`: copy it into tests/fuzz/regressions/<name>/ so the normal
# suite replays it.
#
# Only the engine files the bundler needs are linked (SQLITE_CORE, so they
# call the system libsqlite3), compiled with the fuzzer's coverage and
# sanitizers; their warnings are shown but do not stop the build (ext/ is
# held to -Werror by the gcc build).  Both builds fill uninitialized locals
# with a pattern (-ftrivial-auto-var-init=pattern), so reading one gives the
# same wrong value every run instead of whatever the stack held: such a bug
# fails reproducibly here rather than by luck.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
REPLAY_CC    ?= gcc
FUZZ_OUT     := $(if $(B),$(B),build)/fuzz
FUZZ_NAMES   := script target bundle
FUZZ_ENGINE  := util sqltok script graph bundle
FUZZ_HDRS    := ext/internal.h ext/migrate.h tests/fuzz/fuzz_common.h \
                tests/fuzz/fuzz.mk
FUZZ_LIBS    := -lsqlite3 -lz -lpthread
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -Iext -fno-omit-frame-pointer \
                -ftrivial-auto-var-init=pattern -D_POSIX_C_SOURCE=200809L -DSQLITE_CORE \
                -DMIGRATE_VERSION='"fuzz"'
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined

FUZZ_ENG_OBJ   := $(FUZZ_ENGINE:%=$(FUZZ_OUT)/obj/%.o)
REPLAY_ENG_OBJ := $(FUZZ_ENGINE:%=$(FUZZ_OUT)/replay-obj/%.o)

.PHONY: fuzz fuzz-build test-fuzz-regressions
.SECONDARY: $(FUZZ_ENG_OBJ) $(REPLAY_ENG_OBJ)

fuzz-build: $(FUZZ_NAMES:%=$(FUZZ_OUT)/fuzz_%)

$(FUZZ_OUT)/obj/%.o: ext/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_ENG_OBJ) $(FUZZ_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror $(FUZZ_SAN) -fsanitize=fuzzer $< \
	  $(FUZZ_ENG_OBJ) -o $@ $(FUZZ_LIBS)

fuzz: fuzz-build
	@FUZZ_OUT=$(FUZZ_OUT) sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

# The replay program: the three targets (entry points renamed) and a main()
# that replays files in child processes; gcc, no libFuzzer.
$(FUZZ_OUT)/replay-obj/%.o: ext/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -c $< -o $@

$(FUZZ_OUT)/replay-obj/fuzz_script.o: DEF := -DLLVMFuzzerTestOneInput=fuzzScriptOne
$(FUZZ_OUT)/replay-obj/fuzz_target.o: DEF := -DLLVMFuzzerTestOneInput=fuzzTargetOne
$(FUZZ_OUT)/replay-obj/fuzz_bundle.o: DEF := -DLLVMFuzzerTestOneInput=fuzzBundleOne
$(FUZZ_OUT)/replay-obj/fuzz_%.o: tests/fuzz/fuzz_%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(FUZZ_CFLAGS) -Werror $(FUZZ_SAN) $(DEF) -c $< -o $@

$(FUZZ_OUT)/replay: tests/fuzz/replay.c $(REPLAY_ENG_OBJ) \
                    $(FUZZ_NAMES:%=$(FUZZ_OUT)/replay-obj/fuzz_%.o)
	$(REPLAY_CC) $(FUZZ_CFLAGS) -Werror $(FUZZ_SAN) $^ -o $@ $(FUZZ_LIBS)

test-fuzz-regressions: $(FUZZ_OUT)/replay
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(FUZZ_OUT)/replay tests/fuzz
