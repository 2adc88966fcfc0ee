# make bench — this project against the limit (issue #6).  Included by the
# top-level Makefile; everything it writes goes under $(B)/bench.
#
#   make bench                         the whole run (~15 min on 2 cores)
#   make bench BENCH_SIZES="100 1000"  fewer histories (minutes)
#   make bench BENCH_RUNS=7            more rounds per case
#   make bench BENCH_BUDGET=0 BENCH_SLOW=0   no shortcuts (hours)
#   make bench BENCH_IR=1000           also count instructions (callgrind)
#                                      for N = 1000 (+10 min): deterministic
#                                      ratios on a noisy machine (the
#                                      fixture rows count the example
#                                      history's instructions always)
#
# Results: $(B)/bench.md and stdout.  No timing is ever asserted; `make
# test` does not run this.

BENCH_SIZES  ?= 100 1000 5000
BENCH_DECODE ?= 1000 10000
BENCH_RUNS   ?= 5
BENCH_BUDGET ?= 300
BENCH_IR     ?=
BENCH_SLOW   ?= 60
BENCH_ARGS   ?=

.PHONY: bench bench-tools bench-autogen

bench-tools: $(B)/bench/run $(B)/bench/decode $(B)/bench/fixture

$(B)/bench/run: tools/bench/run.c
	@mkdir -p $(B)/bench
	$(CC) $(CFLAGS_BASE) -D_DEFAULT_SOURCE $(CFLAGS) tools/bench/run.c -o $@

$(B)/bench/decode: tools/bench/decode.c $(B)/libsqlitemigrate.a $(HEADERS)
	@mkdir -p $(B)/bench
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -Iext tools/bench/decode.c \
	  $(B)/libsqlitemigrate.a -o $@ $(LIBS)

$(B)/bench/fixture: tools/bench/fixture.c $(B)/libsqlitemigrate.a $(HEADERS)
	@mkdir -p $(B)/bench
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -Iext tools/bench/fixture.c \
	  $(B)/libsqlitemigrate.a -o $@ $(LIBS)

# One migrate.so per history size is built by bench.py through
# make B=$(B)/bench/so-N MIGRATIONS=$(B)/bench/hist-N/migrations.  (The
# variable keeps `make -n bench` from running the recipe: a literal
# $(MAKE) would mark it recursive.)
BENCH_MAKE := $(MAKE)
bench: all bench-tools
	$(PYTHON) tools/bench/bench.py --build $(B) --make "$(BENCH_MAKE)" \
	  --sqlite3 $(SQLITE3) --sizes "$(BENCH_SIZES)" \
	  --decode-sizes "$(BENCH_DECODE)" --runs $(BENCH_RUNS) \
	  --case-budget $(BENCH_BUDGET) --slow-seconds $(BENCH_SLOW) \
	  --ir-sizes "$(BENCH_IR)" $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-autogen

# The differ: migrate_diff() on two schemas of N tables differing in 10% of
# them, against SQLite building both (tools/bench/autogen.py).  Instruction
# counts for the sizes in BENCH_AUTOGEN_IR (perf, else callgrind: slow).
BENCH_AUTOGEN    ?= 100 1000
BENCH_AUTOGEN_IR ?= 100
bench-autogen: all
	$(PYTHON) tools/bench/autogen.py --so $(B)/migrate \
	  --sizes "$(BENCH_AUTOGEN)" --ir-sizes "$(BENCH_AUTOGEN_IR)" \
	  --runs $(BENCH_RUNS)
