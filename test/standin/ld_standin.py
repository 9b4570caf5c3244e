#!/usr/bin/env python3
"""A deterministic stand-in for LaunchDarkly's REST API (AI Configs and agent optimizations).

Serves the /api/v2/projects/{projectKey}/ai-configs... and .../agent-optimizations...
operations of openapi-subset.json (extracted verbatim from the OpenAPI spec by
extract_spec.py) over plain HTTP on 127.0.0.1, for the ldai_fdw tests and demo.
Python 3 standard library only.

    python3 test/standin/ld_standin.py --port 0 --port-file /tmp/ld.port --api-key KEY

A control API under /_test/ (no auth, never logged) reads the request log, resets
the data, sets paging toggles and queues faults; see README.md beside this file.
"""
import argparse
import copy
import gzip
import itertools
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote

sys.dont_write_bytecode = True         # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402  (seed.py lives beside this file)

SPEC_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi-subset.json")
CLOCK_START_MS = 1767225600000          # 2026-01-01T00:00:00Z
CLOCK_STEP_MS = 1000                    # the fake clock advances this much per write request
MAX_SLEEP_S = 60.0                      # cap of every scripted sleep
HARD_LIMIT_CAP = 1000                   # page cap when the control API sets none
GZIP_MIN_BYTES = 1024
JSON_TYPE = "application/json"
API_PREFIX = "/api/v2/projects/"
BETA_MESSAGE = "This is a beta resource; set LD-API-Version: beta"
TERMINAL_STATUSES = ("PASSED", "FAILED", "ERRORED")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DEFAULT_CONFIG = {"page_cap": None, "omit_total_count": False, "omit_links": False, "default_limit": 20,
                  "results_by_updated_at": False}
DEFAULT_ERROR_CODES = {
    400: ("invalid_request", "Invalid request"), 401: ("unauthorized", "Invalid access token"),
    403: ("forbidden", "Forbidden"), 404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"), 409: ("conflict", "Conflict"),
    422: ("unprocessable_entity", "Unprocessable entity"), 429: ("rate_limited", "Rate limit exceeded"),
    500: ("internal_server_error", "Internal server error"), 502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"), 504: ("gateway_timeout", "Gateway timeout"),
}
STOP = threading.Event()                # set on SIGTERM/SIGINT/max lifetime; ends every scripted sleep


# ---------------------------------------------------------------------------
# Errors and replies
# ---------------------------------------------------------------------------

class ApiError(Exception):
    """An API error answered as `{"code", "message"}` with an HTTP status."""

    def __init__(self, status, code, message, headers=None):
        """Remember status, error code, message and extra response headers."""
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def bad_request(message):
    """A 400 invalid_request error."""
    return ApiError(400, "invalid_request", message)


def not_found(message="Not found"):
    """A 404 not_found error."""
    return ApiError(404, "not_found", message)


def conflict(message):
    """A 409 conflict error."""
    return ApiError(409, "conflict", message)


def error_body(status, code=None, message=None):
    """The JSON error object for status, with a default code and message."""
    default_code, default_message = DEFAULT_ERROR_CODES.get(status, ("error", "Error"))
    return {"code": code or default_code, "message": message or default_message}


class Reply:
    """An HTTP answer: status, JSON-able body (or raw bytes) and extra headers."""

    def __init__(self, status, body=None, headers=None, raw=None, content_type=JSON_TYPE):
        """Serialize body (unless raw bytes are given) and remember the headers."""
        self.status = status
        self.headers = dict(headers or {})
        self.content_type = content_type
        if raw is not None:
            self.payload = raw
        elif body is None:
            self.payload, self.content_type = b"", None
        else:
            self.payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.body = body

    @classmethod
    def error(cls, err):
        """A reply for an ApiError."""
        return cls(err.status, error_body(err.status, err.code, err.message), err.headers)


# ---------------------------------------------------------------------------
# OpenAPI schema checks (request bodies strictly, responses leniently)
# ---------------------------------------------------------------------------

class Schemas:
    """The component schemas of openapi-subset.json and a small validator for them."""

    PY_TYPES = {"string": str, "boolean": bool, "array": list, "object": dict}

    def __init__(self, spec):
        """Index the spec's component schemas and per-operation response schemas."""
        self.schemas = spec["components"]["schemas"]
        self.responses = {}
        for item in spec["paths"].values():
            for op in item.values():
                self.responses[op["operationId"]] = {
                    status: resp.get("content", {}).get(JSON_TYPE, {}).get("schema")
                    for status, resp in op["responses"].items()}

    def resolve(self, schema):
        """Follow a $ref to its component schema."""
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def field_order(self, name):
        """Property names of a component schema, in spec order."""
        return list(self.schemas[name]["properties"])

    def problems(self, value, schema, where, strict):
        """Return a list of messages describing how value violates schema (empty if it conforms)."""
        schema = self.resolve(schema)
        if value is None:
            return [] if schema.get("nullable") else ["%s: must not be null" % where]
        if "oneOf" in schema:
            matches = [s for s in schema["oneOf"] if not self.problems(value, s, where, False)]
            if len(matches) != 1:
                return ["%s: matches %d of the oneOf alternatives, not exactly 1" % (where, len(matches))]
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        found = self.type_problem(value, kind, where)
        if found:
            return [found]
        if "enum" in schema and value not in schema["enum"]:
            return ["%s: must be one of %s" % (where, ", ".join(map(str, schema["enum"])))]
        if schema.get("format") == "uuid" and not UUID_RE.match(value):
            return ["%s: must be a UUID" % where]
        if kind in ("number", "integer"):
            if "minimum" in schema and value < schema["minimum"]:
                return ["%s: must be >= %s" % (where, schema["minimum"])]
            if "maximum" in schema and value > schema["maximum"]:
                return ["%s: must be <= %s" % (where, schema["maximum"])]
        if kind == "array":
            return [p for i, item in enumerate(value)
                    for p in self.problems(item, schema.get("items", {}), "%s[%d]" % (where, i), strict)]
        if kind == "object":
            return self.object_problems(value, schema, where, strict)
        return []

    def type_problem(self, value, kind, where):
        """A message if value is not of JSON type kind, else None."""
        if kind is None:
            return None
        if kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.PY_TYPES[kind])
        return None if ok else "%s: must be %s %s" % (where, "an" if kind[0] in "aeiou" else "a", kind)

    def object_problems(self, value, schema, where, strict):
        """Problems with an object's required, known and unknown properties."""
        props = schema.get("properties", {})
        prefix = "" if where == "body" else where + "."
        found = ["%s%s: is required" % (prefix, name) for name in schema.get("required", [])
                 if name not in value]
        for name, item in value.items():
            if name in props:
                found.extend(self.problems(item, props[name], prefix + name, strict))
            elif strict and props and not schema.get("additionalProperties"):
                found.append("%s%s: unknown field" % (prefix, name))
        return found

    def check_request(self, body, name):
        """Raise a 400 naming the first field of body that violates component schema name."""
        found = self.problems(body, {"$ref": "#/components/schemas/" + name}, "body", True)
        if found:
            raise bad_request("Invalid field %s" % found[0])

    def check_response(self, operation, reply):
        """Problems of a JSON reply against the operation's declared response schema."""
        schema = self.responses.get(operation, {}).get(str(reply.status))
        if schema is None or reply.body is None:
            return []
        return self.problems(reply.body, schema, "response", False)


def ordered(obj, order):
    """A copy of dict obj with keys in spec order (unknown keys last)."""
    out = {k: obj[k] for k in order if k in obj}
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out


# ---------------------------------------------------------------------------
# State: seed data, clock, ids, config, faults, request log
# ---------------------------------------------------------------------------

class Store:
    """Everything the stand-in remembers; callers hold `lock` while using it."""

    def __init__(self, scale, schemas):
        """Seed the data for scale and reset everything else."""
        self.lock = threading.RLock()
        self.scale, self.schemas = scale, schemas
        self.reset()

    def reset(self):
        """Reseed the data; clear the log, faults and config; reset the clock and id counter."""
        data = seed.build_seed(self.scale)
        self.members = {m["_id"]: m for m in data["members"]}
        self.teams = {t["key"]: t for t in data["teams"]}
        self.projects = {key: self.load_project(p) for key, p in data["projects"].items()}
        self.clock, self.id_counter = CLOCK_START_MS, 0
        self.config = dict(DEFAULT_CONFIG)
        self.faults, self.log, self.seq = [], [], 0
        self.patched, self.patch_seq = {}, 0  # result id -> order of its last PATCH (results_by_updated_at)
        self.ratelimit = RateLimiter()  # off until POST /_test/ratelimit

    @staticmethod
    def load_project(data):
        """Index one seeded project by key."""
        configs = {}
        for item in data["configs"]:
            record = {k: v for k, v in item.items() if k != "variations"}
            record["variations"] = {h[-1]["key"]: h for h in item["variations"]}
            configs[item["key"]] = record
        return {"configs": configs,
                "model_configs": {m["key"]: m for m in data.get("model_configs", [])},
                "optimizations": {o["key"]: o for o in data["optimizations"]},
                "results": {k: list(v) for k, v in data["results"].items()},
                "catalog": copy.deepcopy(data.get("catalog", {"snippets": {}, "snippet_uses": {}, "tools": {},
                                                              "tool_uses": {}, "graphs": [], "targeting": {}}))}

    def tick(self):
        """Advance the fake clock by one write and return the time of this write."""
        now, self.clock = self.clock, self.clock + CLOCK_STEP_MS
        return now

    def new_id(self):
        """A deterministic version-4-shaped UUID string for a new object."""
        self.id_counter += 1
        return str(uuid.UUID(int=(0x1d5a_57a1_d000 << 80) | self.id_counter, version=4))

    def take_fault(self, method, raw_path, query=""):
        """Consume and return the first queued fault matching the request, or None."""
        for fault in self.faults:
            if fault["times"] <= 0:
                continue
            if fault["method"] and fault["method"].upper() != method:
                continue
            if fault["path"] and not re.search(fault["path"], raw_path):
                continue
            if fault["query"] and not re.search(fault["query"], query):
                continue
            fault["times"] -= 1
            self.faults = [f for f in self.faults if f["times"] > 0]
            return fault
        return None

    def record(self, entry):
        """Append a request-log entry, numbered on from the last reset (clear-log keeps counting)."""
        self.seq += 1
        entry["seq"] = self.seq
        self.log.append(entry)


# ---------------------------------------------------------------------------
# Requests, links and paging
# ---------------------------------------------------------------------------

class ApiRequest:
    """One API call as the handlers see it."""

    def __init__(self, method, raw_path, segments, query, headers, body_text):
        """Remember the parts of the request."""
        self.method, self.raw_path, self.segments = method, raw_path, segments
        self.query, self.headers, self.body_text = query, headers, body_text
        self.params, self.project_key, self.body, self.now = {}, None, None, None

    def href(self, *segments):
        """A host-relative href under this request's project, each segment escaped."""
        return API_PREFIX + "/".join(quote(s, safe="") for s in (self.project_key,) + segments)


def link(href):
    """A `{href, type}` link object."""
    return {"href": href, "type": JSON_TYPE}


def query_int(query, name, default):
    """Integer query parameter name (non-negative), default when absent; 400 when invalid."""
    values = query.get(name)
    if not values:
        return default
    text = values[0].strip()
    if not re.fullmatch(r"\+?[0-9]+", text):
        raise bad_request("Invalid query parameter %s: %r is not a non-negative integer" % (name, values[0]))
    return int(text)


def page_window(store, req):
    """The effective (limit, offset) of a paged list request."""
    limit = query_int(req.query, "limit", store.config["default_limit"])
    offset = query_int(req.query, "offset", 0)
    cap = store.config["page_cap"] if store.config["page_cap"] is not None else HARD_LIMIT_CAP
    return min(limit, cap), offset


def page_links(raw_path, limit, offset, count, total):
    """The PaginatedLinks of one page."""
    def at(off):
        return link("%s?limit=%d&offset=%d" % (raw_path, limit, off))
    last = ((total - 1) // limit) * limit if total and limit else 0
    links = {"self": at(offset), "first": at(0), "last": at(last)}
    if offset > 0:
        links["prev"] = at(max(0, offset - limit))
    if offset + count < total:
        links["next"] = at(offset + count)
    return links


def paged(store, req, items, render, total_optional):
    """A paged list body of items (rendered page only), honouring the control API's toggles."""
    limit, offset = page_window(store, req)
    page = [render(item) for item in items[offset:offset + limit]]
    body = {"items": page}
    if not (total_optional and store.config["omit_total_count"]):
        body["totalCount"] = len(items)
    if not store.config["omit_links"]:
        body["_links"] = page_links(req.raw_path, limit, offset, len(page), len(items))
    return body


# ---------------------------------------------------------------------------
# Rendering stored objects as API representations
# ---------------------------------------------------------------------------

def render_variation(store, req, config_key, item):
    """An AIConfigVariation with its parent link."""
    out = copy.deepcopy(item)
    out["_links"] = {"parent": link(req.href("ai-configs", config_key))}
    return ordered(out, store.schemas.field_order("AIConfigVariation"))


def render_config(store, req, record):
    """An AIConfig with the latest version of each variation and its links."""
    out = {k: copy.deepcopy(v) for k, v in record.items() if k != "variations"}
    out["variations"] = [render_variation(store, req, record["key"], history[-1])
                         for history in record["variations"].values()]
    out["_links"] = {"self": link(req.href("ai-configs", record["key"])), "parent": link(req.href("ai-configs"))}
    return ordered(out, store.schemas.field_order("AIConfig"))


def render_optimization(store, req, opt):
    """An AgentOptimization with its links."""
    out = copy.deepcopy(opt)
    out["_links"] = {"self": link(req.href("agent-optimizations", opt["key"])),
                     "parent": link(req.href("agent-optimizations"))}
    return ordered(out, store.schemas.field_order("AgentOptimization"))


def render_result(store, item):
    """An AgentOptimizationResult."""
    return ordered(copy.deepcopy(item), store.schemas.field_order("AgentOptimizationResult"))


def runs_of(results):
    """Results grouped by runId, in first-seen order."""
    runs = {}
    for item in results:
        runs.setdefault(item["runId"], []).append(item)
    return runs


def run_summary(opt_key, results):
    """The AgentOptimizationRun summarizing one run's results."""
    latest = max(results, key=lambda r: (r["updatedAt"], r["iteration"]))
    first = min(results, key=lambda r: (r["createdAt"], r["iteration"]))
    done = [r.get("completedAt") for r in results]
    return {"runId": first["runId"], "optimizationKey": opt_key,
            "agentOptimizationId": first["agentOptimizationId"],
            "agentOptimizationVersion": first["agentOptimizationVersion"],
            "status": latest["status"], "activity": latest["activity"],
            "createdAt": first["createdAt"],
            "completedAt": max(done) if all(d is not None for d in done) else None}


def sorted_runs(opt_key, results):
    """Run summaries ordered by createdAt DESC, then runId."""
    summaries = [run_summary(opt_key, rs) for rs in runs_of(results).values()]
    summaries.sort(key=lambda s: s["runId"])
    summaries.sort(key=lambda s: s["createdAt"], reverse=True)
    return summaries


# ---------------------------------------------------------------------------
# Lookups shared by handlers
# ---------------------------------------------------------------------------

def project_of(store, req):
    """The request's project, or 404."""
    project = store.projects.get(req.project_key)
    if project is None:
        raise not_found("Project not found")
    return project


def config_of(store, req):
    """The AI Config named by the path, or 404."""
    record = project_of(store, req)["configs"].get(req.params["configKey"])
    if record is None:
        raise not_found("AI Config not found")
    return record


def optimization_of(store, req):
    """The agent optimization named by the path, or 404."""
    opt = project_of(store, req)["optimizations"].get(req.params["optimizationKey"])
    if opt is None:
        raise not_found("Agent optimization not found")
    return opt


def results_of(store, req):
    """The (mutable) result list of the optimization named by the path."""
    opt = optimization_of(store, req)
    return project_of(store, req)["results"].setdefault(opt["key"], [])


def canonical_uuid(text):
    """text as a lower-case UUID string, or None when it is not a UUID."""
    return str(uuid.UUID(text)) if UUID_RE.match(text) else None


def reject_fields(body, names, what):
    """400 if body sets any of names, which cannot be changed through this call."""
    for name in names:
        if name in body:
            raise bad_request("Invalid field %s: cannot be changed on %s" % (name, what))


def maintainer(store, body):
    """The `_maintainer` object that maintainerId / maintainerTeamKey of body name, or None."""
    if "maintainerId" in body and "maintainerTeamKey" in body:
        raise bad_request("Invalid field maintainerTeamKey: set either maintainerId or maintainerTeamKey, not both")
    if "maintainerId" in body:
        found = store.members.get(body["maintainerId"])
        if found is None:
            raise bad_request("Invalid field maintainerId: no member with id %r" % body["maintainerId"])
        return dict({"kind": "member"}, **found)
    if "maintainerTeamKey" in body:
        found = store.teams.get(body["maintainerTeamKey"])
        if found is None:
            raise bad_request("Invalid field maintainerTeamKey: no team with key %r" % body["maintainerTeamKey"])
        return dict({"kind": "team"}, **found)
    return None


def require_nonempty(body, name, where=None):
    """400 if string field name of body is empty (where: the field's name in messages)."""
    if name in body and not body[name]:
        raise bad_request("Invalid field %s: must not be empty" % (where or name))


# ---------------------------------------------------------------------------
# AI Config handlers
# ---------------------------------------------------------------------------

CONFIG_OPTIONAL = ("evaluationMetricKey", "isInverted")


def list_configs(store, req):
    """GET /ai-configs: AI Configs ordered by key."""
    configs = project_of(store, req)["configs"]
    items = [configs[k] for k in sorted(configs)]
    return Reply(200, paged(store, req, items, lambda c: render_config(store, req, c), total_optional=False))


def get_config(store, req):
    """GET /ai-configs/{configKey}."""
    return Reply(200, render_config(store, req, config_of(store, req)))


def post_config(store, req):
    """POST /ai-configs: create an AI Config (201) or 409 on a duplicate key."""
    body = req.body
    store.schemas.check_request(body, "AIConfigPost")
    require_nonempty(body, "key")
    configs = project_of(store, req)["configs"]
    if body["key"] in configs:
        raise conflict("An AI Config with key %r already exists" % body["key"])
    record = {"key": body["key"], "name": body["name"], "description": body.get("description", ""),
              "mode": body.get("mode", "completion"), "tags": list(body.get("tags", [])),
              "version": 1, "createdAt": req.now, "updatedAt": req.now, "variations": {}}
    owner = maintainer(store, body)
    if owner:
        record["_maintainer"] = owner
    record.update((k, body[k]) for k in CONFIG_OPTIONAL if k in body)
    if "defaultVariation" in body:
        require_nonempty(body["defaultVariation"], "key", "defaultVariation.key")
        variation = new_variation(store, req, body["defaultVariation"])
        record["variations"][variation["key"]] = [variation]
    configs[record["key"]] = record
    return Reply(201, render_config(store, req, record))


def patch_config(store, req):
    """PATCH /ai-configs/{configKey}: replace the given fields, version + 1."""
    record = config_of(store, req)
    reject_fields(req.body, ("key", "mode"), "an AI Config")
    store.schemas.check_request(req.body, "AIConfigPatch")
    owner = maintainer(store, req.body)
    if owner:
        record["_maintainer"] = owner
    for name in ("name", "description", "tags") + CONFIG_OPTIONAL:
        if name in req.body:
            record[name] = copy.deepcopy(req.body[name])
    record["version"] += 1
    record["updatedAt"] = req.now
    return Reply(200, render_config(store, req, record))


def delete_config(store, req):
    """DELETE /ai-configs/{configKey}: 204."""
    config_of(store, req)
    del project_of(store, req)["configs"][req.params["configKey"]]
    return Reply(204)


# ---------------------------------------------------------------------------
# Variation handlers
# ---------------------------------------------------------------------------

VARIATION_COPIED = ("comment", "description", "instructions", "messages", "model", "modelConfigKey",
                    "name", "outputFormat")


def apply_variation_fields(variation, body):
    """Copy the variation fields of a post/patch body onto variation."""
    for name in VARIATION_COPIED:
        if name in body:
            variation[name] = copy.deepcopy(body[name])
    if "tools" in body:
        variation["tools"] = [dict(t) for t in body["tools"]]
    if "toolKeys" in body:
        variation["tools"] = [{"key": k, "version": 1} for k in body["toolKeys"]]
    if "judgeConfiguration" in body:
        judges = body["judgeConfiguration"].get("judges", [])
        if judges:
            variation["judgeConfiguration"] = {"judges": [dict(j) for j in judges]}
        else:
            variation.pop("judgeConfiguration", None)


def new_variation(store, req, body):
    """Version 1 of a variation built from an AIConfigVariationPost body."""
    variation = {"_id": store.new_id(), "key": body["key"], "name": body["name"], "model": {},
                 "version": 1, "createdAt": req.now}
    apply_variation_fields(variation, body)
    return variation


def variation_history_of(store, req):
    """The version list of the variation named by the path, or 404."""
    history = config_of(store, req)["variations"].get(req.params["variationKey"])
    if history is None:
        raise not_found("Variation not found")
    return history


def get_variation(store, req):
    """GET /ai-configs/{configKey}/variations/{variationKey}: every version, newest first."""
    history = variation_history_of(store, req)
    items = [render_variation(store, req, req.params["configKey"], v) for v in reversed(history)]
    return Reply(200, {"items": items, "totalCount": len(items)})


def post_variation(store, req):
    """POST /ai-configs/{configKey}/variations: 201, or 409 on a duplicate key."""
    record = config_of(store, req)
    store.schemas.check_request(req.body, "AIConfigVariationPost")
    require_nonempty(req.body, "key")
    if req.body["key"] in record["variations"]:
        raise conflict("A variation with key %r already exists" % req.body["key"])
    variation = new_variation(store, req, req.body)
    record["variations"][variation["key"]] = [variation]
    return Reply(201, render_variation(store, req, record["key"], variation))


def patch_variation(store, req):
    """PATCH .../variations/{variationKey}: a new version with the given fields replaced."""
    history = variation_history_of(store, req)
    reject_fields(req.body, ("key", "_id", "version"), "a variation")
    store.schemas.check_request(req.body, "AIConfigVariationPatch")
    state = req.body.get("state")
    if state is not None and state not in ("archived", "published"):
        raise bad_request("Invalid field state: must be one of archived, published")
    variation = copy.deepcopy(history[-1])
    apply_variation_fields(variation, req.body)
    if req.body.get("published") is True:
        state = "published"
    elif req.body.get("published") is False and variation.get("state") == "published":
        variation.pop("state")
        variation.pop("_publishedAt", None)
    if state:
        variation["state"] = state
        variation["_publishedAt" if state == "published" else "_archivedAt"] = req.now
    variation["version"] += 1
    variation["createdAt"] = req.now
    history.append(variation)
    return Reply(200, render_variation(store, req, req.params["configKey"], variation))


def delete_variation(store, req):
    """DELETE .../variations/{variationKey}: 204."""
    variation_history_of(store, req)
    del config_of(store, req)["variations"][req.params["variationKey"]]
    return Reply(204)


# ---------------------------------------------------------------------------
# Agent optimization handlers
# ---------------------------------------------------------------------------

OPTIMIZATION_ARRAYS = ("modelChoices", "variableChoices", "acceptanceStatements", "judges",
                       "userInputOptions", "groundTruthResponses")


def list_optimizations(store, req):
    """GET /agent-optimizations: ordered by key."""
    opts = project_of(store, req)["optimizations"]
    items = [opts[k] for k in sorted(opts)]
    return Reply(200, paged(store, req, items, lambda o: render_optimization(store, req, o),
                            total_optional=False))


def get_optimization(store, req):
    """GET /agent-optimizations/{optimizationKey}."""
    return Reply(200, render_optimization(store, req, optimization_of(store, req)))


def post_optimization(store, req):
    """POST /agent-optimizations: create (201) or 409 on a duplicate key."""
    body = req.body
    store.schemas.check_request(body, "AgentOptimizationPost")
    require_nonempty(body, "key")
    opts = project_of(store, req)["optimizations"]
    if body["key"] in opts:
        raise conflict("An agent optimization with key %r already exists" % body["key"])
    opt = {"id": store.new_id()}
    opt.update(copy.deepcopy(body))
    for name in OPTIMIZATION_ARRAYS:
        opt.setdefault(name, [])
    opt.update(version=1, createdAt=req.now)
    opts[opt["key"]] = opt
    return Reply(201, render_optimization(store, req, opt))


def patch_optimization(store, req):
    """PATCH /agent-optimizations/{optimizationKey}: replace fields, version + 1."""
    opt = optimization_of(store, req)
    reject_fields(req.body, ("key", "aiConfigKey", "id", "version", "createdAt"), "an agent optimization")
    store.schemas.check_request(req.body, "AgentOptimizationPatch")
    opt.update(copy.deepcopy(req.body))
    opt["version"] += 1
    return Reply(200, render_optimization(store, req, opt))


def delete_optimization(store, req):
    """DELETE /agent-optimizations/{optimizationKey}: 204; its results go too."""
    opt = optimization_of(store, req)
    project = project_of(store, req)
    del project["optimizations"][opt["key"]]
    project["results"].pop(opt["key"], None)
    return Reply(204)


# ---------------------------------------------------------------------------
# Run and result handlers
# ---------------------------------------------------------------------------

def list_runs(store, req):
    """GET .../runs: one summary per run, createdAt DESC."""
    runs = sorted_runs(req.params["optimizationKey"], results_of(store, req))
    return Reply(200, paged(store, req, runs, dict, total_optional=True))


def list_all_results(store, req):
    """GET .../all-results: every result, createdAt ASC then id; with results_by_updated_at, by last
    change: never patched first (updatedAt ASC, id), then patched ones in the order of their last PATCH."""
    if store.config["results_by_updated_at"]:
        results = sorted(results_of(store, req),
                         key=lambda r: (store.patched.get(r["id"], 0), r["updatedAt"], r["id"]))
    else:
        results = sorted(results_of(store, req), key=lambda r: (r["createdAt"], r["id"]))
    return Reply(200, paged(store, req, results, lambda r: render_result(store, r), total_optional=True))


def list_latest_results(store, req):
    """GET .../results: the highest-iteration result of each run, run createdAt DESC then runId."""
    results = results_of(store, req)
    runs = runs_of(results)
    order = sorted_runs(req.params["optimizationKey"], results)
    items = [max(runs[s["runId"]], key=lambda r: r["iteration"]) for s in order]
    return Reply(200, paged(store, req, items, lambda r: render_result(store, r), total_optional=True))


def run_results(store, req):
    """GET .../runs/{runId}/results: the run's results, iteration DESC; not paged."""
    results = results_of(store, req)
    run_id = canonical_uuid(req.params["runId"])
    if run_id is None:
        raise bad_request("Invalid runId: must be a UUID")
    items = sorted((r for r in results if r["runId"] == run_id), key=lambda r: r["iteration"], reverse=True)
    if not items:
        raise not_found("Run not found")
    body = {"items": [render_result(store, r) for r in items]}
    if not store.config["omit_total_count"]:
        body["totalCount"] = len(items)
    if not store.config["omit_links"]:
        body["_links"] = {"self": link(req.raw_path)}
    return Reply(200, body)


def delete_run(store, req):
    """DELETE .../runs/{runId}: remove every result of the run (beta header checked by dispatch)."""
    results = results_of(store, req)
    run_id = canonical_uuid(req.params["runId"])
    keep = [r for r in results if r["runId"] != run_id]
    if run_id is None or len(keep) == len(results):
        raise not_found("Run not found")
    results[:] = keep
    return Reply(204)


def post_result(store, req):
    """POST .../results: a new RUNNING/PENDING result (201), 409 on a duplicate (runId, iteration)."""
    opt = optimization_of(store, req)
    results = results_of(store, req)
    store.schemas.check_request(req.body, "AgentOptimizationResultPost")
    run_id = canonical_uuid(req.body["runId"])
    if any(r["runId"] == run_id and r["iteration"] == req.body["iteration"] for r in results):
        raise conflict("A result for run %s iteration %d already exists" % (run_id, req.body["iteration"]))
    item = {"id": store.new_id(), "runId": run_id, "agentOptimizationId": opt["id"],
            "agentOptimizationVersion": req.body["agentOptimizationVersion"], "status": "RUNNING",
            "activity": "PENDING", "iteration": req.body["iteration"],
            "instructions": req.body["instructions"], "userInput": req.body["userInput"],
            "createdAt": req.now, "updatedAt": req.now}
    if "parameters" in req.body:
        item["parameters"] = copy.deepcopy(req.body["parameters"])
    results.append(item)
    return Reply(201, render_result(store, item))


def patch_result(store, req):
    """PATCH .../results/{resultId}: replace the given fields; a terminal status sets completedAt."""
    results = results_of(store, req)
    result_id = canonical_uuid(req.params["resultId"])
    if result_id is None:
        raise bad_request("Invalid resultId: must be a UUID")
    item = next((r for r in results if r["id"] == result_id), None)
    if item is None:
        raise not_found("Result not found")
    reject_fields(req.body, ("id", "runId", "agentOptimizationId", "agentOptimizationVersion", "iteration",
                             "instructions", "userInput", "parameters", "completedAt", "createdAt",
                             "updatedAt"), "a result")
    store.schemas.check_request(req.body, "AgentOptimizationResultPatch")
    old_status = item["status"]
    item.update(copy.deepcopy(req.body))
    item["updatedAt"] = req.now
    store.patch_seq += 1
    store.patched[item["id"]] = store.patch_seq
    if item["status"] in TERMINAL_STATUSES:
        if item["status"] != old_status or "completedAt" not in item:
            item["completedAt"] = req.now
    else:
        item.pop("completedAt", None)
    return Reply(200, render_result(store, item))


# ---------------------------------------------------------------------------
# AI model config handlers (ai_model_configs: list, item, create, delete, restricted list)
# ---------------------------------------------------------------------------

def model_configs_of(store, req):
    """The (mutable) model configs of the request's project, by key."""
    return project_of(store, req).setdefault("model_configs", {})


def render_model_config(store, record):
    """A ModelConfig, fields in spec order."""
    return ordered(copy.deepcopy(record), store.schemas.field_order("ModelConfig"))


def list_model_configs(store, req):
    """GET /ai-configs/model-configs: a bare JSON array (not paged), by key; ?restricted=true|false filters."""
    wanted = req.query.get("restricted", [None])[0]
    if wanted not in (None, "true", "false"):
        raise bad_request("Invalid restricted: must be true or false")
    configs = model_configs_of(store, req)
    return Reply(200, [render_model_config(store, configs[k]) for k in sorted(configs)
                       if wanted is None or configs[k]["isRestricted"] == (wanted == "true")])


def model_config_of(store, req):
    """The model config named by the path, or 404."""
    record = model_configs_of(store, req).get(req.params["modelConfigKey"])
    if record is None:
        raise not_found("Model config not found")
    return record


def get_model_config(store, req):
    """GET /ai-configs/model-configs/{modelConfigKey}."""
    return Reply(200, render_model_config(store, model_config_of(store, req)))


def post_model_config(store, req):
    """POST /ai-configs/model-configs: create (200, as the spec says); a duplicate key is a 400 (the spec
    declares no 409 here)."""
    body = req.body
    store.schemas.check_request(body, "ModelConfigPost")
    require_nonempty(body, "key")
    configs = model_configs_of(store, req)
    if body["key"] in configs:
        raise bad_request("A model config with key %r already exists" % body["key"])
    record = copy.deepcopy(body)
    record.setdefault("tags", [])
    record.update(version=1, **{"global": False, "isRestricted": False})
    configs[record["key"]] = record
    return Reply(200, render_model_config(store, record))


def delete_model_config(store, req):
    """DELETE /ai-configs/model-configs/{modelConfigKey}: 204."""
    model_config_of(store, req)
    del model_configs_of(store, req)[req.params["modelConfigKey"]]
    return Reply(204)


def restricted_keys(store, req):
    """The `keys` of a RestrictedModelsRequest body (DELETE bodies are parsed here too)."""
    if req.body is None:
        req.body = parse_json_body(req)
    store.schemas.check_request(req.body, "RestrictedModelsRequest")
    return req.body["keys"]


def post_restricted(store, req):
    """POST .../model-configs/restricted: restrict each known key; unknown keys come back in errors[]
    (code 404) and the others are applied (RestrictedModelsResponse)."""
    configs = model_configs_of(store, req)
    successes, errors = [], []
    for key in restricted_keys(store, req):
        if key in configs:
            configs[key]["isRestricted"] = True
            successes.append(key)
        else:
            errors.append({"key": key, "message": "Model config not found", "code": 404})
    return Reply(200, {"successes": successes, "errors": errors})


def delete_restricted(store, req):
    """DELETE .../model-configs/restricted: 204 (the spec's only success, no body); any unknown key is a
    404 naming the keys, and then nothing is changed."""
    configs = model_configs_of(store, req)
    keys = restricted_keys(store, req)
    unknown = [k for k in keys if k not in configs]
    if unknown:
        raise not_found("Model config not found: %s" % ", ".join(unknown))
    for key in keys:
        configs[key]["isRestricted"] = False
    return Reply(204)


# ---------------------------------------------------------------------------
# AI Config metrics handlers (keys: ai_config_metrics, ai_config_variation_metrics,
# ai_config_quick_stats).  Values are deterministic functions of the request
# (see README "Metrics"), so that tests can compute what to expect.
# ---------------------------------------------------------------------------

METRICS_MAX_SPAN_MS = 100 * 86400000


def query_epoch_ms(query, name):
    """Required integer query parameter (epoch ms), 400 when absent or invalid."""
    values = query.get(name)
    if not values or not values[0].strip():
        raise bad_request("Missing required query parameter %s" % name)
    text = values[0].strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise bad_request("Invalid query parameter %s: %r is not an integer" % (name, values[0]))
    return int(text)


def query_env(query):
    """Required env query parameter, 400 when absent or empty."""
    values = query.get("env")
    if not values or not values[0]:
        raise bad_request("Missing required query parameter env")
    return values[0]


def metrics_window(req):
    """(from, to, env) of a metrics request, validated like the spec (to after from, at most 100 days)."""
    start = query_epoch_ms(req.query, "from")
    end = query_epoch_ms(req.query, "to")
    env = query_env(req.query)
    if end <= start:
        raise bad_request("to must be after from")
    if end - start > METRICS_MAX_SPAN_MS:
        raise bad_request("to may not be more than 100 days after from")
    return start, end, env


def metrics_of(key, env, start, end):
    """The Metrics of one series: n = whole hours in [from, to), c = len(key), e = len(env)."""
    n, c, e = (end - start) // 3600000, len(key), len(env)
    inp, out = 1000 * n * c + e, 200 * n * c + e
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out,
            "generationCount": n * c, "generationSuccessCount": n * c - n, "generationErrorCount": n,
            "thumbsUp": n * e, "thumbsDown": n, "durationMs": 1500 + 10 * c, "timeToFirstTokenMs": 300 + e,
            "satisfactionRating": c / (c + e), "inputCost": n * 0.25, "outputCost": n * 0.5,
            "judgeAccuracy": 0.5 + (c % 5) / 10, "judgeRelevance": 0.75, "judgeToxicity": min(e, 100) / 100}


def get_config_metrics(store, req):
    """getAIConfigMetrics: one Metrics object for the AI Config over [from, to) in env."""
    start, end, env = metrics_window(req)
    record = config_of(store, req)
    return Reply(200, metrics_of(record["key"], env, start, end))


def get_config_metrics_by_variation(store, req):
    """getAIConfigMetricsByVariation: a bare array, one MetricByVariation per current variation."""
    start, end, env = metrics_window(req)
    record = config_of(store, req)
    return Reply(200, [{"variationKey": key, "metrics": metrics_of(key, env, start, end)}
                       for key in record["variations"]])


def get_quick_stats(store, req):
    """getAIConfigQuickStats: counts of the project; env "no-data" has no averages (nullable)."""
    env = query_env(req.query)
    project = project_of(store, req)
    quiet = env == "no-data"
    return Reply(200, {"activeConfigs": len(project["configs"]), "activeExperiments": len(env),
                       "averageSatisfaction7D": None if quiet else 0.8125,
                       "spendMonthToDate": None if quiet else 12.5 * len(env)})


# ---------------------------------------------------------------------------
# catalog: prompt snippets, AI tools, agent graphs, targeting (issue 16)
# ---------------------------------------------------------------------------

SNIPPET_FIELDS = ("name", "description", "text", "tags")
TOOL_FIELDS = ("description", "schema", "customParameters", "tags")
GRAPH_FIELDS = ("name", "description")


def catalog_of(store, req):
    """The project's issue-16 data (empty for a project seeded without it)."""
    return project_of(store, req).setdefault("catalog", {"snippets": {}, "snippet_uses": {}, "tools": {},
                                                         "tool_uses": {}, "graphs": [], "targeting": {}})


def render_versioned(store, req, item, schema, collection):
    """A snippet or tool version with its links, in spec field order."""
    out = copy.deepcopy(item)
    out["_links"] = {"self": link(req.href(*collection, item["key"])), "parent": link(req.href(*collection))}
    return ordered(out, store.schemas.field_order(schema))


def history_of(store, req, kind, param, what):
    """The version list of the snippet or tool named by the path, or 404."""
    history = catalog_of(store, req)[kind].get(req.params[param])
    if history is None:
        raise not_found("%s not found" % what)
    return history


def references(store, req, uses, version_field):
    """The references of uses (config key, variation key, version) whose variation still exists."""
    configs = project_of(store, req)["configs"]
    items = []
    for config_key, variation_key, version in uses:
        config = configs.get(config_key)
        history = config["variations"].get(variation_key) if config else None
        if history:
            items.append({"aiConfigKey": config_key, "aiConfigName": config["name"],
                          "variationId": history[-1]["_id"], "variationKey": variation_key,
                          "variationName": history[-1]["name"], version_field: version})
    return items


def new_versioned(store, req, kind, fields, schema_post, duplicate):
    """POST of a snippet or tool: the first version, or the error duplicate() makes for a taken key."""
    store.schemas.check_request(req.body, schema_post)
    require_nonempty(req.body, "key")
    found = catalog_of(store, req)[kind]
    if req.body["key"] in found:
        raise duplicate(req.body["key"])
    item = {"key": req.body["key"]}
    item.update((k, copy.deepcopy(req.body[k])) for k in fields if k in req.body)
    item.setdefault("tags", [])
    owner = maintainer(store, req.body)
    if owner:
        item["_maintainer"] = owner
    item.update(version=1, createdAt=req.now)
    found[item["key"]] = [item]
    return item


def patched_version(store, req, history, fields, schema_patch, what):
    """PATCH of a snippet or tool: a new version with the given fields replaced."""
    reject_fields(req.body, ("key", "version", "createdAt"), what)
    store.schemas.check_request(req.body, schema_patch)
    item = copy.deepcopy(history[-1])
    owner = maintainer(store, req.body)
    if owner:
        item["_maintainer"] = owner
    item.update((k, copy.deepcopy(req.body[k])) for k in fields if k in req.body)
    item.update(version=item["version"] + 1, createdAt=req.now)
    history.append(item)
    return item


def list_snippets(store, req):
    """GET /ai-configs/prompt-snippets: the latest version of each, ordered by key."""
    found = catalog_of(store, req)["snippets"]
    items = [found[k][-1] for k in sorted(found)]
    return Reply(200, paged(store, req, items, lambda s: render_versioned(
        store, req, s, "PromptSnippet", (CFG, "prompt-snippets")), total_optional=False))


def get_snippet(store, req):
    """GET /ai-configs/prompt-snippets/{snippetKey}."""
    history = history_of(store, req, "snippets", "snippetKey", "Prompt snippet")
    return Reply(200, render_versioned(store, req, history[-1], "PromptSnippet", (CFG, "prompt-snippets")))


def post_snippet(store, req):
    """POST /ai-configs/prompt-snippets: 201, or 409 on a duplicate key."""
    item = new_versioned(store, req, "snippets", SNIPPET_FIELDS, "PromptSnippetPost",
                         lambda k: conflict("A prompt snippet with key %r already exists" % k))
    return Reply(201, render_versioned(store, req, item, "PromptSnippet", (CFG, "prompt-snippets")))


def patch_snippet(store, req):
    """PATCH /ai-configs/prompt-snippets/{snippetKey}: a new version."""
    history = history_of(store, req, "snippets", "snippetKey", "Prompt snippet")
    item = patched_version(store, req, history, SNIPPET_FIELDS, "PromptSnippetPatch", "a prompt snippet")
    return Reply(200, render_versioned(store, req, item, "PromptSnippet", (CFG, "prompt-snippets")))


def delete_snippet(store, req):
    """DELETE /ai-configs/prompt-snippets/{snippetKey}: 204."""
    history_of(store, req, "snippets", "snippetKey", "Prompt snippet")
    del catalog_of(store, req)["snippets"][req.params["snippetKey"]]
    return Reply(204)


def list_snippet_versions(store, req):
    """GET .../prompt-snippets/{snippetKey}/versions: every version, newest first."""
    history = history_of(store, req, "snippets", "snippetKey", "Prompt snippet")
    return Reply(200, paged(store, req, list(reversed(history)), lambda s: render_versioned(
        store, req, s, "PromptSnippet", (CFG, "prompt-snippets")), total_optional=False))


def list_snippet_references(store, req):
    """GET .../prompt-snippets/{snippetKey}/references: the variations that use it."""
    history_of(store, req, "snippets", "snippetKey", "Prompt snippet")
    uses = catalog_of(store, req)["snippet_uses"].get(req.params["snippetKey"], [])
    body = paged(store, req, references(store, req, uses, "resourceVersion"), dict, total_optional=False)
    body.update(resourceKey=req.params["snippetKey"], resourceType="prompt-snippet")
    return Reply(200, body)


def list_tools(store, req):
    """GET /ai-tools: the latest version of each, ordered by key."""
    found = catalog_of(store, req)["tools"]
    items = [found[k][-1] for k in sorted(found)]
    return Reply(200, paged(store, req, items, lambda t: render_versioned(
        store, req, t, "AITool", ("ai-tools",)), total_optional=False))


def get_tool(store, req):
    """GET /ai-tools/{toolKey}."""
    history = history_of(store, req, "tools", "toolKey", "AI tool")
    return Reply(200, render_versioned(store, req, history[-1], "AITool", ("ai-tools",)))


def post_tool(store, req):
    """POST /ai-tools: 201, or 400 on a duplicate key (the spec declares no 409 here)."""
    item = new_versioned(store, req, "tools", TOOL_FIELDS, "AIToolPost",
                         lambda k: bad_request("An AI tool with key %r already exists" % k))
    return Reply(201, render_versioned(store, req, item, "AITool", ("ai-tools",)))


def patch_tool(store, req):
    """PATCH /ai-tools/{toolKey}: a new version."""
    history = history_of(store, req, "tools", "toolKey", "AI tool")
    item = patched_version(store, req, history, TOOL_FIELDS, "AIToolPatch", "an AI tool")
    return Reply(200, render_versioned(store, req, item, "AITool", ("ai-tools",)))


def delete_tool(store, req):
    """DELETE /ai-tools/{toolKey}: 204."""
    history_of(store, req, "tools", "toolKey", "AI tool")
    del catalog_of(store, req)["tools"][req.params["toolKey"]]
    return Reply(204)


def list_tool_versions(store, req):
    """GET /ai-tools/{toolKey}/versions: every version, newest first (an unknown tool lists none)."""
    history = catalog_of(store, req)["tools"].get(req.params["toolKey"], [])
    return Reply(200, paged(store, req, list(reversed(history)), lambda t: render_versioned(
        store, req, t, "AITool", ("ai-tools",)), total_optional=False))


def list_tool_references(store, req):
    """GET /ai-tools/{toolKey}/references: the variations that use it."""
    history_of(store, req, "tools", "toolKey", "AI tool")
    uses = catalog_of(store, req)["tool_uses"].get(req.params["toolKey"], [])
    body = paged(store, req, references(store, req, uses, "toolVersion"), dict, total_optional=False)
    body.update(resourceKey=req.params["toolKey"], resourceType="ai-tool")
    return Reply(200, body)


def render_graph(store, req, graph, with_edges):
    """An AgentGraph; the list leaves out `edges` (read them from the item)."""
    out = {k: copy.deepcopy(v) for k, v in graph.items() if with_edges or k != "edges"}
    return ordered(out, store.schemas.field_order("AgentGraph"))


def graph_of(store, req):
    """The agent graph named by the path, or 404."""
    graph = next((g for g in catalog_of(store, req)["graphs"] if g["key"] == req.params["graphKey"]), None)
    if graph is None:
        raise not_found("Agent graph not found")
    return graph


def graph_topology(store, req, body):
    """400 unless rootConfigKey and edges come together and name existing AI Configs."""
    if ("rootConfigKey" in body) != ("edges" in body):
        raise bad_request("Invalid field %s: rootConfigKey and edges must be sent together"
                          % ("edges" if "rootConfigKey" in body else "rootConfigKey"))
    configs = project_of(store, req)["configs"]
    named = [body["rootConfigKey"]] if "rootConfigKey" in body else []
    for edge in body.get("edges", []):
        named += [edge["sourceConfig"], edge["targetConfig"]]
    for key in named:
        if key not in configs:
            raise bad_request("Invalid field edges: no AI Config with key %r" % key)


def list_graphs(store, req):
    """GET /agent-graphs (beta): ordered by key, without edges."""
    graphs = sorted(catalog_of(store, req)["graphs"], key=lambda g: g["key"])
    return Reply(200, paged(store, req, graphs, lambda g: render_graph(store, req, g, False),
                            total_optional=False))


def get_graph(store, req):
    """GET /agent-graphs/{graphKey} (beta): with edges."""
    return Reply(200, render_graph(store, req, graph_of(store, req), True))


def post_graph(store, req):
    """POST /agent-graphs (beta): 201, or 400 on a duplicate key."""
    body = req.body
    store.schemas.check_request(body, "AgentGraphPost")
    require_nonempty(body, "key")
    graphs = catalog_of(store, req)["graphs"]
    if any(g["key"] == body["key"] for g in graphs):
        raise bad_request("An agent graph with key %r already exists" % body["key"])
    graph_topology(store, req, body)
    graph = {"key": body["key"]}
    graph.update((k, copy.deepcopy(body[k])) for k in GRAPH_FIELDS + ("rootConfigKey", "edges") if k in body)
    owner = maintainer(store, body)
    if owner:
        graph["_maintainer"] = owner
    graph.update(createdAt=req.now, updatedAt=req.now)
    graphs.append(graph)
    return Reply(201, render_graph(store, req, graph, True))


def patch_graph(store, req):
    """PATCH /agent-graphs/{graphKey} (beta): replace fields; edges replace all edges."""
    graph = graph_of(store, req)
    reject_fields(req.body, ("key", "createdAt", "updatedAt"), "an agent graph")
    store.schemas.check_request(req.body, "AgentGraphPatch")
    graph_topology(store, req, req.body)
    owner = maintainer(store, req.body)
    if owner:
        graph["_maintainer"] = owner
    graph.update((k, copy.deepcopy(req.body[k])) for k in GRAPH_FIELDS + ("rootConfigKey", "edges")
                 if k in req.body)
    graph["updatedAt"] = req.now
    return Reply(200, render_graph(store, req, graph, True))


def delete_graph(store, req):
    """DELETE /agent-graphs/{graphKey} (beta): 204."""
    graph = graph_of(store, req)
    catalog_of(store, req)["graphs"].remove(graph)
    return Reply(204)


def get_targeting(store, req):
    """GET /ai-configs/{configKey}/targeting: the config's environments map."""
    record = config_of(store, req)
    envs = catalog_of(store, req)["targeting"].get(record["key"], {})
    variations = [{"_id": h[-1]["_id"], "name": h[-1]["name"], "description": h[-1].get("description", ""),
                   "value": {"modelConfigKey": h[-1].get("modelConfigKey")}}
                  for h in record["variations"].values()]
    body = {"key": record["key"], "name": record["name"], "tags": list(record.get("tags", [])),
            "_version": record["version"], "createdAt": record["createdAt"],
            "variations": variations, "environments": copy.deepcopy(envs),
            "experiments": {"baselineIdx": 0, "items": []}, "defaults": {"onVariation": 0, "offVariation": 0}}
    return Reply(200, ordered(body, store.schemas.field_order("AIConfigTargeting")))


# ---------------------------------------------------------------------------
# Route table
# ---------------------------------------------------------------------------

class Route:
    """One operation: method, path pattern under the project, handler, operationId, beta flag."""

    def __init__(self, method, pattern, handler, operation, beta=False):
        """Split the pattern into literal and {parameter} segments."""
        self.method, self.handler, self.operation, self.beta = method, handler, operation, beta
        self.pattern = pattern
        self.parts = pattern.split("/")

    def match(self, segments):
        """The path parameters if segments fit the pattern, else None."""
        if len(segments) != len(self.parts):
            return None
        params = {}
        for part, seg in zip(self.parts, segments):
            if part.startswith("{"):
                if not seg:
                    return None
                params[part[1:-1]] = seg
            elif part != seg:
                return None
        return params


CFG, OPT = "ai-configs", "agent-optimizations"
ROUTES = [
    Route("GET", CFG, list_configs, "getAIConfigs"),
    Route("POST", CFG, post_config, "postAIConfig"),
    Route("GET", CFG + "/{configKey}", get_config, "getAIConfig"),
    Route("PATCH", CFG + "/{configKey}", patch_config, "patchAIConfig"),
    Route("DELETE", CFG + "/{configKey}", delete_config, "deleteAIConfig"),
    Route("POST", CFG + "/{configKey}/variations", post_variation, "postAIConfigVariation"),
    Route("GET", CFG + "/{configKey}/variations/{variationKey}", get_variation, "getAIConfigVariation"),
    Route("PATCH", CFG + "/{configKey}/variations/{variationKey}", patch_variation, "patchAIConfigVariation"),
    Route("DELETE", CFG + "/{configKey}/variations/{variationKey}", delete_variation, "deleteAIConfigVariation"),
    Route("GET", OPT, list_optimizations, "listAgentOptimizations"),
    Route("POST", OPT, post_optimization, "postAgentOptimization"),
    Route("GET", OPT + "/{optimizationKey}", get_optimization, "getAgentOptimization"),
    Route("PATCH", OPT + "/{optimizationKey}", patch_optimization, "patchAgentOptimization"),
    Route("DELETE", OPT + "/{optimizationKey}", delete_optimization, "deleteAgentOptimization"),
    Route("GET", OPT + "/{optimizationKey}/runs", list_runs, "listAgentOptimizationRuns"),
    Route("DELETE", OPT + "/{optimizationKey}/runs/{runId}", delete_run, "deleteAgentOptimizationRun", beta=True),
    Route("GET", OPT + "/{optimizationKey}/runs/{runId}/results", run_results,
          "listAgentOptimizationResultsByRunId"),
    Route("GET", OPT + "/{optimizationKey}/results", list_latest_results, "listAgentOptimizationResults"),
    Route("POST", OPT + "/{optimizationKey}/results", post_result, "postAgentOptimizationResult"),
    Route("PATCH", OPT + "/{optimizationKey}/results/{resultId}", patch_result, "patchAgentOptimizationResult"),
    Route("GET", OPT + "/{optimizationKey}/all-results", list_all_results, "listAllAgentOptimizationResults"),
    # ai_model_configs
    Route("GET", CFG + "/model-configs", list_model_configs, "listModelConfigs"),
    Route("POST", CFG + "/model-configs", post_model_config, "postModelConfig"),
    Route("GET", CFG + "/model-configs/{modelConfigKey}", get_model_config, "getModelConfig"),
    Route("DELETE", CFG + "/model-configs/{modelConfigKey}", delete_model_config, "deleteModelConfig"),
    Route("POST", CFG + "/model-configs/restricted", post_restricted, "postRestrictedModels"),
    Route("DELETE", CFG + "/model-configs/restricted", delete_restricted, "deleteRestrictedModels"),
    # keys: metrics
    Route("GET", CFG + "/quick-stats", get_quick_stats, "getAIConfigQuickStats"),
    Route("GET", CFG + "/{configKey}/metrics", get_config_metrics, "getAIConfigMetrics"),
    Route("GET", CFG + "/{configKey}/metrics-by-variation", get_config_metrics_by_variation,
          "getAIConfigMetricsByVariation"),
    # catalog: prompt snippets, AI tools, agent graphs, targeting (issue 16)
    Route("GET", CFG + "/prompt-snippets", list_snippets, "listPromptSnippets"),
    Route("POST", CFG + "/prompt-snippets", post_snippet, "postPromptSnippet"),
    Route("GET", CFG + "/prompt-snippets/{snippetKey}", get_snippet, "getPromptSnippet"),
    Route("PATCH", CFG + "/prompt-snippets/{snippetKey}", patch_snippet, "patchPromptSnippet"),
    Route("DELETE", CFG + "/prompt-snippets/{snippetKey}", delete_snippet, "deletePromptSnippet"),
    Route("GET", CFG + "/prompt-snippets/{snippetKey}/versions", list_snippet_versions, "listPromptSnippetVersions"),
    Route("GET", CFG + "/prompt-snippets/{snippetKey}/references", list_snippet_references,
          "listPromptSnippetReferences"),
    Route("GET", "ai-tools", list_tools, "listAITools"),
    Route("POST", "ai-tools", post_tool, "postAITool"),
    Route("GET", "ai-tools/{toolKey}", get_tool, "getAITool"),
    Route("PATCH", "ai-tools/{toolKey}", patch_tool, "patchAITool"),
    Route("DELETE", "ai-tools/{toolKey}", delete_tool, "deleteAITool"),
    Route("GET", "ai-tools/{toolKey}/versions", list_tool_versions, "listAIToolVersions"),
    Route("GET", "ai-tools/{toolKey}/references", list_tool_references, "listAIToolReferences"),
    Route("GET", "agent-graphs", list_graphs, "listAgentGraphs", beta=True),
    Route("POST", "agent-graphs", post_graph, "postAgentGraph", beta=True),
    Route("GET", "agent-graphs/{graphKey}", get_graph, "getAgentGraph", beta=True),
    Route("PATCH", "agent-graphs/{graphKey}", patch_graph, "patchAgentGraph", beta=True),
    Route("DELETE", "agent-graphs/{graphKey}", delete_graph, "deleteAgentGraph", beta=True),
    Route("GET", CFG + "/{configKey}/targeting", get_targeting, "getAIConfigTargeting"),
]


def find_route(method, segments):
    """(route, params) for the request; ApiError 404/405 when none fits."""
    matching = [(r, p) for r in ROUTES for p in [r.match(segments)] if p is not None]
    # a literal segment wins over a parameter (ai-configs/model-configs is not the AI Config "model-configs")
    matching.sort(key=lambda rp: sum(part.startswith("{") for part in rp[0].parts))
    for route, params in matching:
        if route.method == method:
            return route, params
    if matching:
        allowed = ", ".join(sorted({r.method for r, _ in matching}))
        raise ApiError(405, "method_not_allowed", "Method %s not allowed on this resource" % method,
                       {"Allow": allowed})
    raise not_found("Not found")


def parse_json_body(req):
    """The request's JSON object body; 400 when the content type or JSON is wrong."""
    media = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != JSON_TYPE:
        raise bad_request("Content-Type must be application/json")

    def no_constants(name):
        raise ValueError(name)
    try:
        body = json.loads(req.body_text or "", parse_constant=no_constants)
    except ValueError:
        raise bad_request("Invalid JSON body") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON body")
    return body


def handle_api(store, req, api_key):
    """Authenticate, route and run one /api/v2 request; returns (Reply, operationId or None)."""
    if req.segments[:2] != ["api", "v2"]:
        return Reply.error(not_found()), None
    if req.headers.get("authorization") != api_key:
        return Reply.error(ApiError(401, "unauthorized", "Invalid access token")), None
    operation = None
    try:
        rest = req.segments[3:] if req.segments[:3] == ["api", "v2", "projects"] else []
        if len(rest) < 2 or not rest[0]:
            raise not_found("Not found")
        req.project_key = rest[0]
        route, req.params = find_route(req.method, rest[1:])
        operation = route.operation
        if route.beta and req.headers.get("ld-api-version", "").strip().lower() != "beta":
            raise ApiError(403, "forbidden", BETA_MESSAGE)
        project_of(store, req)
        if req.method in ("POST", "PATCH"):
            req.body = parse_json_body(req)
        if req.method in ("POST", "PATCH", "DELETE"):
            req.now = store.tick()
        return route.handler(store, req), operation
    except ApiError as err:
        return Reply.error(err), operation


# ---------------------------------------------------------------------------
# Control API (/_test/...)
# ---------------------------------------------------------------------------

FAULT_DEFAULTS = {"method": None, "path": None, "query": None, "times": 1, "status": None, "headers": {}, "body": None,
                  "delay_ms": 0, "stall_ms": 0, "slow_body_ms": 0, "malformed": False, "truncate": False,
                  "content_type": None, "body_hex": None, "close_after": False}
FAULT_TYPES = {"method": (str, type(None)), "path": (str, type(None)), "query": (str, type(None)), "times": int, "status": (int, type(None)),
               "headers": dict, "body": (str, type(None)), "body_hex": (str, type(None)), "delay_ms": int, "stall_ms": int,
               "slow_body_ms": int, "malformed": bool, "truncate": bool, "content_type": (str, type(None)),
               "close_after": bool}
CONFIG_TYPES = {"page_cap": (int, type(None)), "omit_total_count": bool, "omit_links": bool,
                "default_limit": int, "results_by_updated_at": bool}


def typed(value, types):
    """True if value has one of types (bools are not ints)."""
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def normalize_fault(spec):
    """A complete fault from a partial spec; ApiError 400 when invalid."""
    if not isinstance(spec, dict):
        raise bad_request("A fault must be a JSON object")
    unknown = sorted(set(spec) - set(FAULT_DEFAULTS))
    if unknown:
        raise bad_request("Unknown fault field(s): %s" % ", ".join(unknown))
    fault = copy.deepcopy(FAULT_DEFAULTS)
    fault.update(spec)
    for name, types in FAULT_TYPES.items():
        if not typed(fault[name], types):
            raise bad_request("Invalid fault field %s" % name)
    if fault["path"] is not None:
        try:
            re.compile(fault["path"])
        except re.error as err:
            raise bad_request("Invalid fault path regex: %s" % err) from None
    if fault["times"] < 1:
        raise bad_request("Invalid fault field times: must be >= 1")
    if fault["body_hex"] is not None:
        try:
            bytes.fromhex(fault["body_hex"])
        except ValueError:
            raise bad_request("Invalid fault field body_hex: not hex digits") from None
    return fault


def control_json(req):
    """The control request's JSON body (any content type); 400 when invalid."""
    try:
        return json.loads(req.body_text or "null")
    except ValueError:
        raise bad_request("Invalid JSON body") from None


def ctl_health(store, req):
    """GET /_test/health."""
    return Reply(200, {"ok": True})


def ctl_requests(store, req):
    """GET /_test/requests[?format=jsonl]: the request log."""
    if req.query.get("format", [""])[0] == "jsonl":
        lines = "".join(json.dumps(e, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
                        for e in store.log)
        return Reply(200, raw=lines.encode("utf-8"), content_type="application/x-ndjson")
    return Reply(200, store.log)


def ctl_reset(store, req):
    """POST /_test/reset: reseed and clear everything."""
    store.reset()
    return Reply(200, {"ok": True})


def ctl_clear_log(store, req):
    """POST /_test/clear-log."""
    store.log = []
    return Reply(200, {"ok": True})


def ctl_get_config(store, req):
    """GET /_test/config."""
    return Reply(200, store.config)


def ctl_set_config(store, req):
    """POST /_test/config: merge the body into the config."""
    body = control_json(req)
    if not isinstance(body, dict):
        raise bad_request("Config must be a JSON object")
    for name, value in body.items():
        if name not in CONFIG_TYPES or not typed(value, CONFIG_TYPES[name]):
            raise bad_request("Invalid config field %s" % name)
    cap = body.get("page_cap")
    if (cap is not None and cap < 1) or body.get("default_limit", 0) < 0:
        raise bad_request("Invalid config: page_cap must be >= 1, default_limit >= 0")
    store.config.update(body)
    return Reply(200, store.config)


def ctl_get_faults(store, req):
    """GET /_test/faults: the faults still queued."""
    return Reply(200, store.faults)


def ctl_add_faults(store, req):
    """POST /_test/faults: queue one fault or a list of them."""
    body = control_json(req)
    faults = [normalize_fault(f) for f in (body if isinstance(body, list) else [body])]
    store.faults.extend(faults)
    return Reply(200, store.faults)


def ctl_clear_faults(store, req):
    """DELETE /_test/faults."""
    store.faults = []
    return Reply(200, store.faults)


# ---------------------------------------------------------------------------
# Rate limits (issue 18): LaunchDarkly's account-wide limit, off by default
# ---------------------------------------------------------------------------

RATELIMIT_TYPES = {"window_ms": int, "global": (int, type(None)), "route": (int, type(None)),
                   "token": (int, type(None)), "timestamps": bool}


class RateLimiter:
    """Fixed windows of window_ms, as LaunchDarkly's: an account-wide (global) budget, one per route
    (method and route pattern) and one per access token; None = that limit is off.  A window starts
    with the first request after the previous one ended."""

    def __init__(self, window_ms=10000, global_=None, route=None, token=None, timestamps=False):
        """A limiter; with every budget None it is off and adds no header."""
        self.window_ms, self.timestamps = window_ms, timestamps
        self.budgets = {"global": global_, "route": route, "token": token}
        self.windows = {}  # (scope, key) -> [reset_ms, used]
        self.limited = 0   # 429 answers given

    def enabled(self):
        """True if any budget is set."""
        return any(v is not None for v in self.budgets.values())

    def describe(self):
        """The settings and counters, for GET /_test/ratelimit."""
        return {"window_ms": self.window_ms, "global": self.budgets["global"], "route": self.budgets["route"],
                "token": self.budgets["token"], "timestamps": self.timestamps, "limited": self.limited}

    def window(self, scope, key, now_ms):
        """The [reset_ms, used] of a window, a new one once the last has ended."""
        w = self.windows.get((scope, key))
        if w is None or now_ms >= w[0]:
            w = self.windows[(scope, key)] = [now_ms + self.window_ms, 0]
        return w

    def check(self, req):
        """Count the request: (None, headers to add) when it fits, else (429 Reply, None)."""
        if not self.enabled():
            return None, {}
        now_ms = int(time.time() * 1000)
        try:
            route, _ = find_route(req.method, req.segments[4:])
            route_key = req.method + " " + route.pattern
        except ApiError:
            route_key = req.method + " " + req.raw_path
        keys = {"global": "", "route": route_key, "token": req.headers.get("authorization", "")}
        wins = {scope: self.window(scope, keys[scope], now_ms)
                for scope, budget in self.budgets.items() if budget is not None}
        full = [scope for scope, w in wins.items() if w[1] >= self.budgets[scope]]
        if not full:
            for w in wins.values():
                w[1] += 1
        headers = {}
        names = {"global": "Global", "route": "Route", "token": "Auth-Token"}
        for scope, w in wins.items():
            headers["X-Ratelimit-%s-Limit" % names[scope]] = self.budgets[scope]
            headers["X-Ratelimit-%s-Remaining" % names[scope]] = max(0, self.budgets[scope] - w[1])
        # the reset of the binding window: the one with the fewest requests left (ties: the later)
        resets = [(self.budgets[scope] - w[1], -w[0]) for scope, w in wins.items() if scope != "token"]
        if resets:
            headers["X-Ratelimit-Reset"] = -min(resets)[1]
        if "token" in wins:
            headers["X-Ratelimit-Auth-Token-Reset"] = wins["token"][0]
        if not full:
            return None, headers
        self.limited += 1
        wait_ms = max(wins[s][0] for s in full) - now_ms
        headers["Retry-After"] = max(1, -(-wait_ms // 1000))
        return Reply(429, error_body(429, "rate_limited", "You have been rate limited"), headers), None


def ctl_get_ratelimit(store, req):
    """GET /_test/ratelimit: the limits and the number of 429 answers given."""
    return Reply(200, store.ratelimit.describe())


def ctl_set_ratelimit(store, req):
    """POST /_test/ratelimit: set the limits (fresh windows); {} turns them off."""
    body = control_json(req)
    if not isinstance(body, dict) or set(body) - set(RATELIMIT_TYPES):
        raise bad_request("Rate limit fields: %s" % ", ".join(sorted(RATELIMIT_TYPES)))
    for name, value in body.items():
        if not typed(value, RATELIMIT_TYPES[name]) or (isinstance(value, int) and value < 0):
            raise bad_request("Invalid rate limit field %s" % name)
    if body.get("window_ms", 1) < 1:
        raise bad_request("Invalid rate limit field window_ms")
    store.ratelimit = RateLimiter(body.get("window_ms", 10000), body.get("global"), body.get("route"),
                                  body.get("token"), body.get("timestamps", False))
    return Reply(200, store.ratelimit.describe())


def ratelimited_reply(store, req):
    """Apply the account limit to an API request: (429 Reply or None, headers for a normal reply)."""
    return store.ratelimit.check(req)


CONTROL_ROUTES = {
    ("GET", "ratelimit"): ctl_get_ratelimit,
    ("POST", "ratelimit"): ctl_set_ratelimit,
    ("GET", "health"): ctl_health,
    ("GET", "requests"): ctl_requests,
    ("POST", "reset"): ctl_reset,
    ("POST", "clear-log"): ctl_clear_log,
    ("GET", "config"): ctl_get_config,
    ("POST", "config"): ctl_set_config,
    ("GET", "faults"): ctl_get_faults,
    ("POST", "faults"): ctl_add_faults,
    ("DELETE", "faults"): ctl_clear_faults,
}


def handle_control(store, req):
    """Run one /_test/ request."""
    name = "/".join(req.segments[1:])
    handler = CONTROL_ROUTES.get((req.method, name))
    if handler is None:
        known = any(n == name for _, n in CONTROL_ROUTES)
        return Reply.error(ApiError(405, "method_not_allowed", "Method not allowed") if known else not_found())
    try:
        return handler(store, req)
    except ApiError as err:
        return Reply.error(err)


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

def pause(ms):
    """Sleep ms milliseconds (capped at MAX_SLEEP_S), waking early when the server stops."""
    if ms > 0:
        STOP.wait(min(ms / 1000.0, MAX_SLEEP_S))


def scripted_reply(fault):
    """The reply a fault substitutes for the normal answer, or None to serve normally."""
    if fault["malformed"]:
        return Reply(200, raw=b'{"items": [{"key": "broken", "name": "unterminated', headers=fault["headers"])
    if fault["body_hex"] is not None:
        # raw bytes, e.g. invalid UTF-8, which "body" (a JSON string) cannot carry
        return Reply(fault["status"] or 200, raw=bytes.fromhex(fault["body_hex"]), headers=fault["headers"])
    if fault["status"] is None:
        return None
    if fault["body"] is not None:
        return Reply(fault["status"], raw=fault["body"].encode("utf-8"), headers=fault["headers"])
    if fault["status"] in (204, 304) or fault["status"] < 200:
        return Reply(fault["status"], headers=fault["headers"])
    return Reply(fault["status"], error_body(fault["status"]), fault["headers"])


def fault_note(fault):
    """The non-default settings of a fault, for the request log."""
    return {k: v for k, v in fault.items() if v != FAULT_DEFAULTS[k] and k not in ("times",)}


# ---------------------------------------------------------------------------
# HTTP layer
# ---------------------------------------------------------------------------

class FramingError(Exception):
    """The request body could not be read (bad Content-Length or chunked framing)."""


CONNECTION_IDS = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler: reads the request, dispatches, logs and writes the reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self):
        """Number each TCP connection, so tests can see keep-alive reuse ("conn" in the log)."""
        super().setup()
        self.conn_id = next(CONNECTION_IDS)

    def version_string(self):
        """The Server header value."""
        return "ld-standin/1.0"

    def do_GET(self):
        """Handle GET."""
        self.dispatch()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def log_message(self, fmt, *args):
        """Access log to stderr only with --verbose."""
        if self.server.verbose:
            sys.stderr.write("ld-standin: %s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        """The raw request body (Content-Length or chunked) and whether it was chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked(), True
        length = self.headers.get("Content-Length")
        if length is None:
            return b"", False
        if not length.strip().isdigit():
            raise FramingError("bad Content-Length")
        return self.rfile.read(int(length)), False

    def read_chunked(self):
        """Decode a chunked request body, trailers included."""
        parts = []
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise FramingError("bad chunk size") from None
            if size == 0:
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline(65537)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(parts)

    def header_map(self):
        """Request headers by lower-case name (repeated headers joined with ', ')."""
        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = headers[name] + ", " + value if name in headers else value
        return headers

    def dispatch(self):
        """Read, route, log and answer one request."""
        raw_path, _, query = self.path.partition("?")
        try:
            raw_body, chunked = self.read_body()
        except FramingError as err:
            self.reject_framing(raw_path, query, err)
            return
        segments = [unquote(s) for s in raw_path.split("/")[1:]]
        body_text = raw_body.decode("utf-8", errors="replace") if raw_body else None
        req = ApiRequest(self.command, raw_path, segments, parse_qs(query, keep_blank_values=True),
                         self.header_map(), body_text)
        store = self.server.store
        if segments[:1] == ["_test"]:
            with store.lock:
                reply = handle_control(store, req)
            self.write_reply(reply)
            return
        self.serve_api(store, req, query, chunked)

    def reject_framing(self, raw_path, query, err):
        """Answer (and log) a request whose body could not be read, then close the connection."""
        self.close_connection = True
        reply = Reply.error(bad_request("Malformed request body: %s" % err))
        if not raw_path.startswith("/_test/"):
            req = ApiRequest(self.command, raw_path, [], {}, self.header_map(), None)
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            with self.server.store.lock:
                self.record(self.log_entry(req, query, chunked, reply, None))
        self.write_reply(reply)

    def serve_api(self, store, req, query, chunked):
        """Answer one API request, applying a queued fault if one matches."""
        with store.lock:
            limited, rl_headers = ratelimited_reply(store, req)
            fault = None if limited else store.take_fault(req.method, req.raw_path, query)
            reply = limited or (None if fault and fault["stall_ms"] else self.answer(store, req, fault))
            if reply is not None and not limited:
                reply.headers.update(rl_headers)
            entry = self.log_entry(req, query, chunked, reply, fault)
            if store.ratelimit.timestamps:
                entry["at_ms"] = int(time.time() * 1000)
            self.record(entry)
        if fault and fault["stall_ms"]:
            pause(fault["stall_ms"])
            self.close_connection = True
            return
        if fault:
            pause(fault["delay_ms"])
        self.write_reply(reply, fault)

    def answer(self, store, req, fault):
        """The reply to an API request: the fault's scripted one, else the normal one (which a fault decorates)."""
        reply = scripted_reply(fault) if fault else None
        if reply is None:
            reply, operation = handle_api(store, req, self.server.api_key)
            reply = self.checked(operation, reply)
            if fault:
                reply.headers.update(fault["headers"])
        if fault and fault["content_type"]:
            reply.content_type = fault["content_type"]
        return reply

    def checked(self, operation, reply):
        """With --check-responses, turn a reply that violates the spec into a 500 naming the problem."""
        if not self.server.check_responses or operation is None:
            return reply
        found = self.server.store.schemas.check_response(operation, reply)
        if not found:
            return reply
        sys.stderr.write("ld-standin: %s response violates the spec: %s\n" % (operation, found[0]))
        return Reply(500, error_body(500, "standin_schema_violation", "%s: %s" % (operation, found[0])))

    def record(self, entry):
        """Add entry to the request log and, with --journal, append it (and the client's port) there too."""
        self.server.store.record(entry)
        if self.server.journal:
            line = json.dumps(dict(entry, client_port=self.client_address[1]), sort_keys=True)
            self.server.journal.write(line + "\n")
            self.server.journal.flush()

    def log_entry(self, req, query, chunked, reply, fault):
        """The request-log entry of an API request (never the Authorization value)."""
        headers = dict(req.headers)
        if "authorization" in headers:
            headers["authorization"] = "valid" if headers["authorization"] == self.server.api_key else "invalid"
        entry = {"method": req.method, "path": req.raw_path, "query": query, "headers": headers,
                 "body": req.body_text, "chunked": chunked, "status": reply.status if reply else None,
                 "conn": self.conn_id}
        if fault:
            entry["fault"] = fault_note(fault)
        return entry

    def accepts_gzip(self):
        """True if Accept-Encoding allows gzip."""
        for token in self.headers.get("Accept-Encoding", "").split(","):
            name, _, params = token.strip().partition(";")
            if name.strip().lower() == "gzip":
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    def write_reply(self, reply, fault=None):
        """Send reply: gzip when asked and large, Content-Length always; faults shape the sending."""
        payload = reply.payload
        self.send_response(reply.status)
        if reply.content_type and (payload or reply.status not in (204, 304)):
            self.send_header("Content-Type", reply.content_type)
        if len(payload) > GZIP_MIN_BYTES and self.accepts_gzip():
            payload = gzip.compress(payload, mtime=0)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        for name, value in reply.headers.items():
            self.send_header(name, str(value))
        truncate = bool(fault and fault["truncate"])
        self.send_header("Content-Length", str(len(payload) + (0 if payload or not truncate else 64)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if truncate:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif fault and fault["slow_body_ms"] and payload:
            self.write_slowly(payload, fault["slow_body_ms"])
        else:
            self.wfile.write(payload)
        if fault and fault["close_after"]:
            # a keep-alive connection that dies after an answer (no "Connection: close")
            self.wfile.flush()
            self.close_connection = True

    def write_slowly(self, payload, total_ms):
        """Write payload in small pieces spread over total_ms."""
        pieces = max(1, min(20, len(payload)))
        size = -(-len(payload) // pieces)
        for start in range(0, len(payload), size):
            self.wfile.write(payload[start:start + size])
            self.wfile.flush()
            if start + size < len(payload):
                pause(total_ms / pieces)


class StandinServer(ThreadingHTTPServer):
    """The threading HTTP server carrying the store and options."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, store, api_key, verbose=False, check_responses=False, journal=None):
        """Bind and listen; remember the store and options (journal: an open file, or None)."""
        self.store, self.api_key = store, api_key
        self.verbose, self.check_responses, self.journal = verbose, check_responses, journal
        super().__init__(address, Handler)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(description="LaunchDarkly REST API stand-in for the ldai_fdw tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port here (atomically) once listening")
    parser.add_argument("--api-key", help="the only valid access token (default: $LDAI_STANDIN_API_KEY)")
    parser.add_argument("--scale", type=int, default=1, help="multiply iterations per run by N")
    parser.add_argument("--max-lifetime", type=float, default=3600.0, help="exit after this many seconds")
    parser.add_argument("--verbose", action="store_true", help="access log on stderr")
    parser.add_argument("--check-responses", action="store_true",
                        help="validate every API response against the spec; violations become 500s")
    parser.add_argument("--journal", help="append every request-log entry here as a JSON line, never cleared")
    parser.add_argument("--tls-cert", help="serve https with this PEM certificate chain (needs --tls-key)")
    parser.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    parser.add_argument("--blackhole-port-file",
                        help="also open a port whose accept queue is kept full, so that connecting "
                             "to it stalls (cancel-during-connect tests); write its port here")
    args = parser.parse_args(argv)
    args.api_key = args.api_key or os.environ.get("LDAI_STANDIN_API_KEY")
    if not args.api_key:
        parser.error("--api-key (or LDAI_STANDIN_API_KEY) is required")
    if args.scale < 1:
        parser.error("--scale must be >= 1")
    if args.max_lifetime <= 0:
        parser.error("--max-lifetime must be > 0")
    return args


def write_port_file(path, port):
    """Write port to path atomically (temp file + rename)."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def remove_port_file(path, port):
    """Remove the port file on exit if it still names this server's port."""
    try:
        with open(path) as f:
            if f.read().strip() == str(port):
                os.remove(path)
    except OSError:
        pass


def open_blackhole(path):
    """A loopback port nobody accepts on, its queue filled: a client's connect() stalls there."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.2)
    write_port_file(path, port)
    return [listener] + fillers


def main(argv=None):
    """Serve until SIGTERM/SIGINT or --max-lifetime, then shut down cleanly."""
    args = parse_args(argv)
    with open(SPEC_FILE, encoding="utf-8") as f:
        schemas = Schemas(json.load(f))
    store = Store(args.scale, schemas)
    journal = open(args.journal, "a", encoding="utf-8") if args.journal else None
    server = StandinServer((args.host, args.port), store, args.api_key, args.verbose, args.check_responses,
                           journal)
    port = server.server_address[1]
    if args.tls_cert:
        # https for the TLS tests; each handshake happens in its handler thread
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Set STOP from another thread: Event.set inside a handler could deadlock with Event.wait.
        signal.signal(sig, lambda *_: threading.Thread(target=STOP.set).start())
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    worker.start()
    blackhole = open_blackhole(args.blackhole_port_file) if args.blackhole_port_file else []
    if args.port_file:
        write_port_file(args.port_file, port)
    if args.verbose:
        sys.stderr.write("ld-standin: listening on %s:%d\n" % (args.host, port))
    STOP.wait(args.max_lifetime)
    STOP.set()
    server.shutdown()
    server.server_close()
    for s in blackhole:
        s.close()
    if args.port_file:
        remove_port_file(args.port_file, port)
    if journal:
        journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
