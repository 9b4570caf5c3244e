# ldai_fdw — PostgreSQL foreign-data wrapper for LaunchDarkly AI Configs
# and agent optimizations.  Built with PGXS.

MODULE_big = ldai_fdw
OBJS = \
	src/batch.o \
	src/cache.o \
	src/catalog.o \
	src/connection.o \
	src/convert.o \
	src/direct.o \
	src/explain.o \
	src/http.o \
	src/import.o \
	src/ldai_fdw.o \
	src/modify.o \
	src/option.o \
	src/page.o \
	src/planner.o \
	src/scan.o \
	src/xact.o

EXTENSION = ldai_fdw
DATA = ldai_fdw--1.0.sql
PGFILEDESC = "ldai_fdw - foreign-data wrapper for LaunchDarkly AI Configs"

REGRESS = setup options read_types paging pushdown keys explain import connection cancel writes direct faults tls joins prefetch batch interrupts security write_safety on_commit keysafety lifecycle modify_scan reads
REGRESS_OPTS = --load-extension=ldai_fdw

SHLIB_LINK = -lcurl -lcjson
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

EXTRA_CLEAN = results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the shared headers
$(OBJS): src/ldai_fdw.h src/http.h src/page.h

# the regression test list, for scripts that run a subset (conformance.sh)
print-regress:
	@echo $(REGRESS)
