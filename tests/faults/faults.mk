# tests/faults/faults.mk — fault-injection tests (issue #5 items 1-3),
# included by the Makefile:
#
#   make test-faults-short   I/O errors (every k, one upgrade per kind), OOM
#                            (decode, graph, one :memory: upgrade through
#                            migrate_run() and SQL), 20 crash trials; the
#                            short form `make test` runs (~30-150 s)
#   make test-faults         every I/O and OOM scenario, full k ranges
#   make test-crash          >= 200 SIGKILL trials (rollback journal + WAL)
#   make test-crash CRASH_TRIALS=1000 CRASH_SEED=7    more, another seed
#
# fault_io and fault_oom link a private copy of the engine compiled with
# AddressSanitizer + UBSan (LeakSanitizer on) into $(B)/faults/, whatever
# SANITIZE says, so `make test` checks leaks and overflows under faults
# without rebuilding the main outputs.  crash_child, the process crash.py
# kills, links the main $(B)/libsqlitemigrate.a (instrumented only with
# SANITIZE=1), so the timing is the engine's, not ASan's.  Each runner
# prints "N passed, N failed" last and exits 1 on a failure.

FAULT_SRC    := tests/faults
FB           := $(B)/faults
FAULT_SAN    := -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
FAULT_CFLAGS := $(CFLAGS_BASE) $(FAULT_SAN) $(CFLAGS) -DSQLITE_CORE \
                -Iext -I$(FAULT_SRC)
FAULT_ENGINE := $(ENGINE:%=$(FB)/engine/%.o) $(FB)/engine/embedded_bundle.o
FAULT_SANBIN := $(FB)/fault_io $(FB)/fault_oom
FAULT_BINS   := $(FAULT_SANBIN) $(FB)/crash_child
FAULT_ENV    := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 LD_PRELOAD=
FAULT_RUN    := $(FAULT_ENV) $(PYTHON) $(FAULT_SRC)/run_faults.py --build $(FB) \
                $(if $(CRASH_TRIALS),--trials $(CRASH_TRIALS)) \
                $(if $(CRASH_SEED),--seed $(CRASH_SEED))

.PHONY: faults test-faults-short test-faults test-crash

$(FB)/engine/%.o: ext/%.c $(HEADERS) $(FAULT_SRC)/faults.mk
	@mkdir -p $(FB)/engine
	$(CC) $(FAULT_CFLAGS) -c $< -o $@

$(FB)/engine/embedded_bundle.o: $(B)/embedded_bundle.c $(FAULT_SRC)/faults.mk
	@mkdir -p $(FB)/engine
	$(CC) $(FAULT_CFLAGS) -c $< -o $@

$(FB)/libengine.a: $(FAULT_ENGINE)
	rm -f $@
	ar rcs $@ $(FAULT_ENGINE)

$(FAULT_SANBIN): $(FB)/%: $(FAULT_SRC)/%.c $(FAULT_SRC)/faultlib.c \
                 $(FAULT_SRC)/faultlib.h $(FB)/libengine.a
	$(CC) $(FAULT_CFLAGS) $< $(FAULT_SRC)/faultlib.c $(FB)/libengine.a \
	  -o $@ $(LIBS)

$(FB)/crash_child: $(FAULT_SRC)/crash_child.c $(FAULT_SRC)/faultlib.c \
                   $(FAULT_SRC)/faultlib.h $(B)/libsqlitemigrate.a
	@mkdir -p $(FB)
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -Iext -I$(FAULT_SRC) $< \
	  $(FAULT_SRC)/faultlib.c $(B)/libsqlitemigrate.a -o $@ $(LIBS)

faults: $(FAULT_BINS)

test-faults-short: $(FAULT_BINS)
	@$(FAULT_RUN) short

test-faults: $(FAULT_SANBIN)
	@$(FAULT_RUN) full

test-crash: $(FB)/crash_child
	@$(FAULT_RUN) crash
