"""Runs a list of AWS client calls against a Sluice server and prints every result as one JSON list.

Reads the program (a JSON list) on stdin. Each entry is
  {"call": "sagemaker.create_pipeline", "args": {...}}          one call
  {"wait": "sagemaker.describe_pipeline_execution", "args": {...},
   "until": {"path": "PipelineExecutionStatus", "in": ["Stopped"]}, "timeout": 30}
                                                                  repeat the call until the value at path is one of "in"
                                                                  (or, with "exists": true, until it is present)
  {"paginate": "sagemaker.list_pipeline_executions", "args": {...}, "key": "PipelineExecutionSummaries"}
                                                                  every page through botocore's paginator
Strings "${N.a.b.0}" in args are replaced by the value at that path in result N; a segment "@json" parses a string.
A result is {"ok": response} or {"error": {"code", "message", "status"}}. Uses endpoint $SLUICE_ENDPOINT, region and keys
from the usual AWS_* variables.
"""
import datetime
import json
import os
import re
import sys
import time

import boto3
import botocore
from botocore.config import Config

ENDPOINT = os.environ["SLUICE_ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
clients = {}


def client(name):
    if name not in clients:
        clients[name] = boto3.client(name, endpoint_url=ENDPOINT, config=CONFIG)
    return clients[name]


def walk(value, path):
    for seg in path:
        if seg == "@json":
            value = json.loads(value)
        elif isinstance(value, list):
            value = value[int(seg)]
        else:
            value = value[seg]
    return value


REF = re.compile(r"\$\{(\d+)((?:\.[^}.]+)*)\}")


def subst(obj, results):
    if isinstance(obj, str):
        m = REF.fullmatch(obj)
        if m:
            return walk(results[int(m.group(1))]["ok"], [s for s in m.group(2).split(".") if s])
        return REF.sub(lambda m: str(walk(results[int(m.group(1))]["ok"], [s for s in m.group(2).split(".") if s])), obj)
    if isinstance(obj, list):
        return [subst(x, results) for x in obj]
    if isinstance(obj, dict):
        return {k: subst(v, results) for k, v in obj.items()}
    return obj


def plain(obj):
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if k != "ResponseMetadata"}
    if isinstance(obj, list):
        return [plain(x) for x in obj]
    if isinstance(obj, datetime.datetime):
        return obj.timestamp()
    return obj


def call(spec, step, results):
    service, op = spec.split(".", 1)
    args = subst(step.get("args", {}), results)
    try:
        return {"ok": plain(getattr(client(service), op)(**args))}
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        return {"error": {"code": err.get("Code"), "message": err.get("Message"),
                          "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")}}
    except botocore.exceptions.ParamValidationError as e:
        return {"error": {"code": "ParamValidationError", "message": str(e), "status": None}}


results = []
for step in json.load(sys.stdin):
    if "call" in step:
        results.append(call(step["call"], step, results))
    elif "wait" in step:
        until = step["until"]
        deadline = time.monotonic() + step.get("timeout", 30)
        while True:
            r = call(step["wait"], step, results)
            try:
                v = walk(r["ok"], until["path"].split("."))
                done = until.get("exists") or v in until.get("in", [])
            except (KeyError, IndexError, TypeError):
                done = False
            if done or time.monotonic() > deadline:
                r["waited"] = done
                break
            time.sleep(0.1)
        results.append(r)
    elif "paginate" in step:
        service, op = step["paginate"].split(".", 1)
        try:
            pages = client(service).get_paginator(op).paginate(**subst(step.get("args", {}), results))
            items, count = [], 0
            for page in pages:
                count += 1
                items.extend(plain(page.get(step["key"], [])))
            results.append({"ok": {"items": items, "pages": count}})
        except botocore.exceptions.ClientError as e:
            results.append({"error": {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}})
print(json.dumps(results))
