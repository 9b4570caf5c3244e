#!/usr/bin/env python3
"""Extract the OpenAPI subset the stand-in implements into openapi-subset.json.

The stand-in validates request bodies (and, with --check-responses, its own
responses) against this file, and selftest.py validates responses with it.
Paths, operations and schemas are copied verbatim from the project's OpenAPI
extract; only operations the stand-in serves and the schemas they reach are kept.

    python3 test/standin/extract_spec.py [SOURCE.json]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCE = os.path.join(HERE, "..", "..", "..", "shared", "launchdarkly-api",
                              "openapi-ai-configs.json")
TARGET = os.path.join(HERE, "openapi-subset.json")

OPERATIONS = {
    "getAIConfigs", "postAIConfig", "getAIConfig", "patchAIConfig", "deleteAIConfig",
    "postAIConfigVariation", "getAIConfigVariation", "patchAIConfigVariation",
    "deleteAIConfigVariation",
    "listAgentOptimizations", "postAgentOptimization", "getAgentOptimization",
    "patchAgentOptimization", "deleteAgentOptimization",
    "listAgentOptimizationResults", "postAgentOptimizationResult",
    "listAllAgentOptimizationResults", "listAgentOptimizationRuns",
    "deleteAgentOptimizationRun", "listAgentOptimizationResultsByRunId",
    "patchAgentOptimizationResult",
    "listModelConfigs",
    "getModelConfig",
    "postModelConfig",
    "deleteModelConfig",
    "postRestrictedModels",
    "deleteRestrictedModels",
    "getAIConfigQuickStats",
    "getAIConfigMetrics",
    "getAIConfigMetricsByVariation",
    "listPromptSnippets", "postPromptSnippet", "getPromptSnippet", "patchPromptSnippet",
    "deletePromptSnippet", "listPromptSnippetVersions", "listPromptSnippetReferences",
    "listAITools", "postAITool", "getAITool", "patchAITool", "deleteAITool",
    "listAIToolVersions", "listAIToolReferences",
    "listAgentGraphs", "postAgentGraph", "getAgentGraph", "patchAgentGraph", "deleteAgentGraph",
    "getAIConfigTargeting",
}


def refs_in(node):
    """Yield every schema name that node references through $ref."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def extract(spec):
    """Return the subset document of spec restricted to OPERATIONS."""
    paths = {}
    for path, item in spec["paths"].items():
        kept = {m: op for m, op in item.items()
                if isinstance(op, dict) and op.get("operationId") in OPERATIONS}
        if kept:
            paths[path] = kept
    schemas = spec["components"]["schemas"]
    wanted, todo = set(), list(refs_in(paths))
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(refs_in(schemas[name]))
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"],
                 "x-extracted-by": "test/standin/extract_spec.py"},
        "paths": paths,
        "components": {"schemas": {n: schemas[n] for n in sorted(wanted)}},
    }


def main():
    """Read the source spec, write the subset, report what was kept."""
    source = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE
    with open(source, encoding="utf-8") as f:
        subset = extract(json.load(f))
    found = {op["operationId"] for item in subset["paths"].values() for op in item.values()}
    missing = OPERATIONS - found
    if missing:
        sys.exit("operations missing from %s: %s" % (source, ", ".join(sorted(missing))))
    with open(TARGET, "w", encoding="utf-8") as f:
        json.dump(subset, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s: %d operations, %d schemas" % (
        TARGET, len(found), len(subset["components"]["schemas"])))


if __name__ == "__main__":
    main()
