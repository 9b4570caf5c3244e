#!/usr/bin/env python3
"""Validate a META.json against the PGXN Meta Spec v1.0.0
(https://pgxn.org/meta/spec.txt): required keys, types, terms, SemVer
versions, licenses, prereq phases/relations and version ranges, resources;
unknown keys are errors unless they start with x_ or X_.  Then checks that
the file agrees with this tree: the provided extension's file exists and its
version matches the control file's default_version.

Usage: python3 scripts/meta_check.py [META.json]
Prints "META.json valid (PGXN Meta Spec 1.0.0, <name> <version>)" or the
errors, one a line, and exits 1.
"""
import json
import os
import re
import sys

SEMVER = (r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
          r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
          r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")
SEMVER_RE = re.compile("^" + SEMVER + "$")
RANGE_ITEM_RE = re.compile(r"^(?:(?:[=!]=|[<>]=?)\s*)?" + SEMVER + "$")
TERM_RE = re.compile(r"^[^/\\\s\x00-\x1f\x7f]{2,}$")
TAG_RE = re.compile(r"^[^/\\\x00-\x1f\x7f]{2,255}$")
LICENSES = {
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
    "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1",
    "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5",
    "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source",
    "restricted", "unrestricted", "unknown",
}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class Checker:
    """Collects the errors found while walking the document."""

    def __init__(self):
        self.errors = []

    def err(self, where, what):
        self.errors.append(f"{where}: {what}")

    def string(self, where, v, min_len=1):
        if not isinstance(v, str):
            self.err(where, f"must be a string, not {type(v).__name__}")
            return False
        if len(v) < min_len:
            self.err(where, f"must have at least {min_len} character(s)")
            return False
        return True

    def obj(self, where, v, min_props=0):
        if not isinstance(v, dict):
            self.err(where, f"must be an object, not {type(v).__name__}")
            return False
        if len(v) < min_props:
            self.err(where, f"must have at least {min_props} key(s)")
            return False
        return True

    def keys(self, where, v, allowed, required=()):
        for k in required:
            if k not in v:
                self.err(where, f"required key '{k}' missing")
        for k in v:
            if k not in allowed and not re.match(r"^[xX]_.", k):
                self.err(where, f"unknown key '{k}' (custom keys start with x_)")

    def term(self, where, v):
        if self.string(where, v) and not TERM_RE.match(v):
            self.err(where, f"'{v}' is not a term (2+ characters, no slash, backslash, space or control)")

    def version(self, where, v):
        if self.string(where, v) and not SEMVER_RE.match(v):
            self.err(where, f"'{v}' is not a semantic version (x.y.z)")

    def uri(self, where, v):
        if self.string(where, v) and not URI_RE.match(v):
            self.err(where, f"'{v}' is not a URI")

    def version_range(self, where, v):
        if v == 0 or v == "0":
            return
        if not isinstance(v, str):
            self.err(where, "a version range must be 0 or a string")
            return
        for item in v.split(","):
            if not RANGE_ITEM_RE.match(item.strip()):
                self.err(where, f"'{item.strip()}' is not a version or an operator and a version")

    def license(self, where, v):
        if isinstance(v, str):
            if v not in LICENSES:
                self.err(where, f"'{v}' is not a known license string")
        elif isinstance(v, list):
            if not v:
                self.err(where, "must list at least one license")
            for i, x in enumerate(v):
                if x not in LICENSES:
                    self.err(f"{where}[{i}]", f"'{x}' is not a known license string")
        elif isinstance(v, dict):
            if not v:
                self.err(where, "must name at least one license")
            for name, url in v.items():
                self.uri(f"{where}.{name}", url)
        else:
            self.err(where, "must be a string, a list or an object")

    def maintainer(self, where, v):
        if isinstance(v, list):
            if not v:
                self.err(where, "must list at least one maintainer")
            for i, x in enumerate(v):
                self.string(f"{where}[{i}]", x)
        else:
            self.string(where, v)

    def provides(self, where, v):
        if not self.obj(where, v, 1):
            return
        for ext, spec in v.items():
            w = f"{where}.{ext}"
            self.term(w, ext)
            if not self.obj(w, spec):
                continue
            self.keys(w, spec, {"file", "version", "abstract", "docfile"}, ("file", "version"))
            if "file" in spec:
                self.string(f"{w}.file", spec["file"], 2)
            if "docfile" in spec:
                self.string(f"{w}.docfile", spec["docfile"], 2)
            if "version" in spec:
                self.version(f"{w}.version", spec["version"])
            if "abstract" in spec:
                self.string(f"{w}.abstract", spec["abstract"])

    def prereqs(self, where, v):
        if not self.obj(where, v, 1):
            return
        self.keys(where, v, PHASES)
        for phase, rels in v.items():
            if phase not in PHASES:
                continue
            w = f"{where}.{phase}"
            if not self.obj(w, rels, 1):
                continue
            self.keys(w, rels, RELATIONS)
            for rel, deps in rels.items():
                if rel not in RELATIONS or not self.obj(f"{w}.{rel}", deps, 1):
                    continue
                for name, rng in deps.items():
                    self.term(f"{w}.{rel}.{name}", name)
                    self.version_range(f"{w}.{rel}.{name}", rng)

    def resources(self, where, v):
        if not self.obj(where, v, 1):
            return
        self.keys(where, v, {"homepage", "bugtracker", "repository"})
        if "homepage" in v:
            self.uri(f"{where}.homepage", v["homepage"])
        if "bugtracker" in v and self.obj(f"{where}.bugtracker", v["bugtracker"], 1):
            bt = v["bugtracker"]
            self.keys(f"{where}.bugtracker", bt, {"web", "mailto"})
            if "web" in bt:
                self.uri(f"{where}.bugtracker.web", bt["web"])
            if "mailto" in bt:
                self.string(f"{where}.bugtracker.mailto", bt["mailto"])
        if "repository" in v and self.obj(f"{where}.repository", v["repository"], 1):
            rp = v["repository"]
            self.keys(f"{where}.repository", rp, {"url", "web", "type"})
            for k in ("url", "web"):
                if k in rp:
                    self.uri(f"{where}.repository.{k}", rp[k])
            if "type" in rp and self.string(f"{where}.repository.type", rp["type"]) \
                    and rp["type"] != rp["type"].lower():
                self.err(f"{where}.repository.type", "must be lower case")

    def no_index(self, where, v):
        if not self.obj(where, v, 1):
            return
        self.keys(where, v, {"file", "directory"})
        for k in ("file", "directory"):
            if k in v:
                x = v[k]
                items = x if isinstance(x, list) else [x]
                if isinstance(x, list) and not x:
                    self.err(f"{where}.{k}", "must not be empty")
                for i, p in enumerate(items):
                    self.string(f"{where}.{k}[{i}]", p)

    def document(self, m):
        if not self.obj("META", m):
            return
        self.keys("META", m,
                  {"name", "version", "abstract", "maintainer", "license", "provides", "meta-spec",
                   "description", "generated_by", "tags", "no_index", "prereqs",
                   "release_status", "resources"},
                  ("name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"))
        if "meta-spec" in m and self.obj("meta-spec", m["meta-spec"]):
            ms = m["meta-spec"]
            self.keys("meta-spec", ms, {"version", "url"}, ("version",))
            if "version" in ms and self.string("meta-spec.version", ms["version"]) \
                    and not re.match(r"^1\.0\.\d+$", ms["version"]):
                self.err("meta-spec.version", "this validator knows spec 1.0.x only")
            if "url" in ms and ms["url"] not in ("https://pgxn.org/meta/spec.txt",
                                                 "http://pgxn.org/meta/spec.txt"):
                self.err("meta-spec.url", "must be https://pgxn.org/meta/spec.txt")
        if "name" in m:
            self.term("name", m["name"])
        if "version" in m:
            self.version("version", m["version"])
        for k in ("abstract", "description", "generated_by"):
            if k in m:
                self.string(k, m[k])
        if "maintainer" in m:
            self.maintainer("maintainer", m["maintainer"])
        if "license" in m:
            self.license("license", m["license"])
        if "provides" in m:
            self.provides("provides", m["provides"])
        if "prereqs" in m:
            self.prereqs("prereqs", m["prereqs"])
        if "resources" in m:
            self.resources("resources", m["resources"])
        if "no_index" in m:
            self.no_index("no_index", m["no_index"])
        if "release_status" in m and m["release_status"] not in ("stable", "testing", "unstable"):
            self.err("release_status", "must be stable, testing or unstable")
        if "tags" in m:
            t = m["tags"]
            if not isinstance(t, list) or not t:
                self.err("tags", "must be a non-empty list")
            else:
                for i, x in enumerate(t):
                    if self.string(f"tags[{i}]", x) and not TAG_RE.match(x):
                        self.err(f"tags[{i}]", f"'{x}' is not a tag (2-255 characters, no slash, backslash or control)")


def tree_agrees(path, m, c):
    """The provided files exist and the versions match the control file."""
    base = os.path.dirname(os.path.abspath(path))
    for ext, spec in (m.get("provides") or {}).items():
        if not isinstance(spec, dict):
            continue
        for k in ("file", "docfile"):
            if isinstance(spec.get(k), str) and not os.path.isfile(os.path.join(base, spec[k])):
                c.err(f"provides.{ext}.{k}", f"{spec[k]} does not exist")
        control = os.path.join(base, f"{ext}.control")
        if not os.path.isfile(control):
            continue
        with open(control, encoding="utf-8") as f:
            mm = re.search(r"^\s*default_version\s*=\s*'([^']*)'", f.read(), re.M)
        if not mm:
            c.err(control, "no default_version")
            continue
        dv = mm.group(1)
        semver = dv if dv.count(".") == 2 else dv + ".0" * (2 - dv.count("."))
        if spec.get("version") != semver:
            c.err(f"provides.{ext}.version",
                  f"{spec.get('version')} does not match default_version '{dv}' of {ext}.control")
        if m.get("version") != semver:
            c.err("version", f"{m.get('version')} does not match default_version '{dv}' of {ext}.control")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "META.json"
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: {e}")
        return 1
    c = Checker()
    c.document(m)
    if not c.errors:
        tree_agrees(path, m, c)
    if c.errors:
        for e in c.errors:
            print(f"{path}: {e}")
        return 1
    print(f"{os.path.basename(path)} valid (PGXN Meta Spec 1.0.0, {m['name']} {m['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
