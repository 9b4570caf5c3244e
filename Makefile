# ldai_fdw — PostgreSQL foreign-data wrapper for LaunchDarkly AI Configs
# and agent optimizations.  Built with PGXS.

MODULE_big = ldai_fdw
OBJS = \
	src/batch.o \
	src/budget.o \
	src/cache.o \
	src/catalog.o \
	src/connection.o \
	src/convert.o \
	src/direct.o \
	src/async.o \
	src/explain.o \
	src/http.o \
	src/import.o \
	src/ldai_fdw.o \
	src/member.o \
	src/modify.o \
	src/option.o \
	src/page.o \
	src/reqplan.o \
	src/planner.o \
	src/scan.o \
	src/stats.o \
	src/window.o \
	src/xact.o

EXTENSION = ldai_fdw
# ldai_fdw--1.0.sql stays as released; later versions are update scripts
# (CREATE EXTENSION runs 1.0, then each update up to default_version)
DATA = ldai_fdw--1.0.sql ldai_fdw--1.0--1.1.sql
PGFILEDESC = "ldai_fdw - foreign-data wrapper for LaunchDarkly AI Configs"

REGRESS = setup options read_types paging pushdown keys explain import connection cancel writes direct faults tls joins prefetch batch interrupts security write_safety on_commit keysafety lifecycle modify_scan upgrade reads metrics models ratelimit catalog catalog_children orderby async fanout eager reads_audit reqplan
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

# the release archive, ldai_fdw-<META.json version>.zip, from the committed
# tree (DISTREF: another commit or tree)
DISTVERSION = $(shell sed -n 's/^   "version": "\(.*\)",$$/\1/p' $(srcdir)/META.json)
DISTDIR ?= .
DISTREF ?= HEAD
dist:
	git -C $(srcdir) archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ \
	  -o $(abspath $(DISTDIR))/$(EXTENSION)-$(DISTVERSION).zip $(DISTREF)
	@echo $(DISTDIR)/$(EXTENSION)-$(DISTVERSION).zip

.PHONY: print-regress dist
