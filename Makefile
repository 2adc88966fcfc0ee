# sqlite-migrate — one entry: make, make test, make demo, make install.
#
#   make                      build/migrate.so, build/mkbundle,
#                             build/libsqlitemigrate.a (migrations/ bundled)
#   make MIGRATIONS=dir       bundle another folder into the same outputs
#   make test                 every test suite
#   make SANITIZE=1 test      the same under AddressSanitizer + UBSan
#   make demo                 upgrade a fresh demo.db with the sqlite3 shell
#   make install PREFIX=/usr/local [DESTDIR=/tmp/stage]; make uninstall
#   make test-sqlite-versions every supported SQLite (tools/sqlite-versions.sh)
#   make test-install         install into a scratch prefix, build from it
#
# make demo and make test first bring the Debian/Ubuntu packages they need
# (tools/deps.sh: installs them as root or with password-less sudo, else
# prints the one command to run); NO_INSTALL=1 skips that step.

VERSION    := 0.1.0
MIGRATIONS ?= migrations
PREFIX     ?= /usr/local
PYTHON     ?= /usr/bin/python3
# where make install puts tools/python/sqlite_migrate.py (on Debian's
# sys.path for PREFIX=/usr/local)
PYTHONDIR  ?= $(PREFIX)/lib/python$(shell $(PYTHON) -c \
              'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages
SQLITE3    ?= sqlite3
CC         ?= cc
B          := build

CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -O2 -g \
               -D_POSIX_C_SOURCE=200809L -DMIGRATE_VERSION='"$(VERSION)"'
# 1 when the bundled folder is the example migrations/ (the shell never applies it unasked)
CFLAGS_BASE += -DMIGRATE_EMBEDDED_EXAMPLE=$(if $(filter $(abspath migrations),$(abspath $(MIGRATIONS))),1,0)
ifeq ($(SANITIZE),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
endif
ALL_CFLAGS := $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS)
LIBS       := -lsqlite3 -lz -lpthread

# every ext/*.c is part of the engine; mkbundle needs only these
ENGINE  := $(basename $(notdir $(wildcard ext/*.c)))
BUNDLER := util sqltok script graph bundle
HEADERS := ext/internal.h ext/migrate.h

EXT_OBJS  := $(ENGINE:%=$(B)/ext/%.o) $(B)/ext/embedded_bundle.o
CORE_OBJS := $(ENGINE:%=$(B)/core/%.o) $(B)/core/embedded_bundle.o
MKB_OBJS  := $(BUNDLER:%=$(B)/core/%.o)

.SECONDARY:
.PHONY: all test test-unit test-valgrind demo install uninstall clean lint FORCE \
        deps-demo deps-test test-sqlite-versions test-install test-autogen-long

SHELL_SRC := $(wildcard shell/*.c)
PROGRAMS  := $(B)/migrate.so $(B)/mkbundle $(B)/libsqlitemigrate.a
ifneq ($(SHELL_SRC),)
PROGRAMS  += $(B)/sqlite-migrate
endif

all: $(PROGRAMS)

# Rebuild everything when the flags or the bundled folder change.
$(B)/.flags: FORCE
	@mkdir -p $(B)/ext $(B)/core
	@echo '$(ALL_CFLAGS) $(MIGRATIONS)' | cmp -s - $@ || \
	  echo '$(ALL_CFLAGS) $(MIGRATIONS)' > $@

# The module exports sqlite3_migrate_init only: two builds loaded into one
# process (RTLD_GLOBAL) must not bind to each other's engine or bundle.
$(B)/ext/%.o: ext/%.c $(HEADERS) $(B)/.flags
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/core/%.o: ext/%.c $(HEADERS) $(B)/.flags
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -c $< -o $@

$(B)/ext/embedded_bundle.o: $(B)/embedded_bundle.c
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/core/embedded_bundle.o: $(B)/embedded_bundle.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/mkbundle: tools/mkbundle.c $(MKB_OBJS) $(HEADERS)
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE tools/mkbundle.c $(MKB_OBJS) -o $@ $(LIBS)

$(B)/embedded_bundle.c: $(B)/mkbundle $(B)/.flags $(wildcard $(MIGRATIONS)/*.sql)
	$(B)/mkbundle --c $@ $(MIGRATIONS)

$(B)/migrate.so: $(EXT_OBJS)
	$(CC) $(ALL_CFLAGS) -shared $(EXT_OBJS) -o $@ -lz -lpthread

$(B)/libsqlitemigrate.a: $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $(CORE_OBJS)

$(B)/sqlite-migrate: $(SHELL_SRC) $(wildcard shell/*.h) $(B)/libsqlitemigrate.a
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -Iext $(SHELL_SRC) \
	  $(B)/libsqlitemigrate.a -o $@ $(LIBS)

# ---- tests ---------------------------------------------------------------

# Two "firmware" modules built from two folders (tests/fixtures/fw1 and fw2),
# for downgrading past revisions a bundle does not know.
FIXTURE_MODULES := $(B)/fw1/migrate.so $(B)/fw2/migrate.so
ENGINE_EXT_OBJS := $(ENGINE:%=$(B)/ext/%.o)

$(B)/fw%/embedded_bundle.c: $(B)/mkbundle $(wildcard tests/fixtures/fw*/*.sql)
	@mkdir -p $(@D)
	$(B)/mkbundle --c $@ tests/fixtures/fw$*

$(B)/fw%/embedded_bundle.o: $(B)/fw%/embedded_bundle.c
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/fw%/migrate.so: $(ENGINE_EXT_OBJS) $(B)/fw%/embedded_bundle.o
	$(CC) $(ALL_CFLAGS) -shared $^ -o $@ -lz -lpthread

UNIT_SRC := $(wildcard tests/unit/*.c)

$(B)/test_unit: $(UNIT_SRC) tests/unit/unit.h $(B)/libsqlitemigrate.a
	$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -Iext $(UNIT_SRC) \
	  $(B)/libsqlitemigrate.a -o $@ $(LIBS)

# The packages make demo and make test need (one list: tools/deps.sh).
deps-demo deps-test:
ifneq ($(NO_INSTALL),1)
	@sh tools/deps.sh ensure $(@:deps-%=%)
endif

test: deps-test
	@$(MAKE) --no-print-directory all $(B)/test_unit $(FIXTURE_MODULES)
	@SANITIZE=$(SANITIZE) $(PYTHON) tests/run_all.py
	@$(MAKE) --no-print-directory test-fuzz-regressions
	@$(MAKE) --no-print-directory test-faults-short

test-unit: $(B)/test_unit
	$(B)/test_unit

# The SQL suite's sqlite3 shells under valgrind memcheck (zero errors).
# the differ's property test with 20,000 random schema pairs (make test runs
# 2,000); AUTOGEN_SEED=N starts elsewhere
test-autogen-long: all
	AUTOGEN_PAIRS=$${AUTOGEN_PAIRS:-20000} $(PYTHON) -m unittest tests/python/test_autogen.py

test-valgrind: all
	@VALGRIND=1 $(PYTHON) tests/run_all.py --sql-only

demo: deps-demo
	@$(MAKE) --no-print-directory all
	rm -f demo.db
	$(SQLITE3) demo.db -cmd '.load ./$(B)/migrate' \
	  "SELECT 'migrated to ' || migrate_to('head');" \
	  '.mode box' \
	  "SELECT revision, down_revision, message, is_head, is_current FROM migrations;"

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the module, the
# static library and its header, the programs, the man page, pkg-config's
# sqlite-migrate.pc and the Python helper.  make uninstall removes them.
INSTALLED := lib/migrate.so lib/libsqlitemigrate.a include/migrate.h \
             bin/mkbundle bin/sqlite-migrate share/man/man1/sqlite-migrate.1 \
             lib/pkgconfig/sqlite-migrate.pc

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PYTHONDIR)
	install -m 644 $(B)/migrate.so $(DESTDIR)$(PREFIX)/lib/migrate.so
	install -m 644 $(B)/libsqlitemigrate.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 ext/migrate.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(B)/mkbundle $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(B)/sqlite-migrate $(DESTDIR)$(PREFIX)/bin/
	install -m 644 shell/sqlite-migrate.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  tools/sqlite-migrate.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sqlite-migrate.pc
	install -m 644 tools/python/sqlite_migrate.py $(DESTDIR)$(PYTHONDIR)/

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)$(PREFIX)/%) \
	  $(DESTDIR)$(PYTHONDIR)/sqlite_migrate.py

# Every supported SQLite: fetch pinned amalgamations (cached in build/),
# build each, build this project against it, run the suites there.
test-sqlite-versions:
	@bash tools/sqlite-versions.sh

# Install into a scratch prefix and build the README's static example from
# the installed files (system libsqlite3, then an amalgamation compiled in).
test-install: all
	@bash tests/versions/test_install.sh

# make lint: the C sources in the house style (.clang-format) and the
# engine's layers (ext/internal.h): no file calls a file above it.
LINT_SRC := $(wildcard ext/*.c ext/*.h shell/*.c shell/*.h tools/*.c \
              tools/bench/*.c tests/unit/*.c tests/unit/*.h tests/faults/*.c \
              tests/faults/*.h tests/fuzz/*.c tests/fuzz/*.h)
LAYERS   := "util sqltok compat" "script graph" "bundle" "embedded" \
            "bookkeeping adopt stored txn schema" \
            "apply rebuild vtab_history vtab_migrations" "check" \
            "autogen template" "func" "migrate"

lint: all
	clang-format --dry-run --Werror $(LINT_SRC)
	tools/layers.sh $(B)/core $(LAYERS)

clean:
	rm -rf $(B) demo.db

# Fault injection (I/O errors, out of memory, crashes): tests/faults/.
include tests/faults/faults.mk

# Fuzzing (make fuzz, needs clang) and the replay of its regressions.
include tests/fuzz/fuzz.mk

# make bench: this project against SQLite running the same statements
# (tools/bench/, issue #6).  Not part of make test.
include tools/bench/bench.mk
