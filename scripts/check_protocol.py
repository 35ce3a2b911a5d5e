#!/usr/bin/env python3
"""Checks a transcript of real volumed exchanges against proto/volumed.schema.json.

usage: check_protocol.py SCHEMA TRANSCRIPT

TRANSCRIPT holds one JSON object per line: {"request": <request object>, "replies": [<every
line the daemon sent back>], "malformed": true?}. Each request must match the envelope and its method's params;
each reply must be a progress notification, an error response, or a response whose result
matches the method's result schema. Every method in the schema must have at least one
successful exchange. A `malformed` exchange holds a request that breaks the schema on
purpose: it is not validated, and its reply must be an error response. Exits 1 listing every violation.
"""
import json
import sys

import jsonschema


def main(schema_path, transcript_path):
    schema = json.load(open(schema_path))
    jsonschema.Draft202012Validator.check_schema(schema)

    def validator(pointer):
        return jsonschema.Draft202012Validator({**schema, "$ref": pointer})

    def pointer(method, part):
        escaped = method.replace("~", "~0").replace("/", "~1")
        return f"#/methods/{escaped}/{part}"

    envelope = {name: validator(f"#/$defs/{name}") for name in ("request", "response", "error_response", "progress_notification")}
    problems, succeeded = [], set()
    for number, line in enumerate(open(transcript_path), 1):
        exchange = json.loads(line)
        request, method = exchange["request"], exchange["request"].get("method")
        where = f"exchange {number} ({method})"
        if exchange.get("malformed"):
            replies = exchange["replies"]
            if len(replies) != 1 or "error" not in replies[0]:
                problems.append(f"{where}: a malformed request must get exactly one error response")
            for reply in replies:
                for error in envelope["error_response"].iter_errors(reply):
                    problems.append(f"{where}: error_response: {error.message}")
            continue
        for error in envelope["request"].iter_errors(request):
            problems.append(f"{where}: request: {error.message}")
        if method not in schema["methods"]:
            problems.append(f"{where}: method not in the schema")
            continue
        for error in validator(pointer(method, "params")).iter_errors(request.get("params", {})):
            problems.append(f"{where}: params: {error.message}")
        if not exchange["replies"]:
            problems.append(f"{where}: no reply")
        for reply in exchange["replies"]:
            if reply.get("method") == "progress":
                kind = "progress_notification"
            elif "error" in reply:
                kind = "error_response"
            else:
                kind = "response"
            for error in envelope[kind].iter_errors(reply):
                problems.append(f"{where}: {kind}: {error.message}")
            if kind == "response":
                for error in validator(pointer(method, "result")).iter_errors(reply.get("result")):
                    problems.append(f"{where}: result at {'/'.join(map(str, error.absolute_path))}: {error.message}")
                succeeded.add(method)
    for method in sorted(set(schema["methods"]) - succeeded):
        problems.append(f"{method}: no successful exchange in the transcript")
    for problem in problems:
        print(problem)
    print(f"{len(succeeded)} of {len(schema['methods'])} methods exercised; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
