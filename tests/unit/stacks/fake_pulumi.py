#!/usr/bin/env python3
"""A stand-in `pulumi` CLI for the Automation API tests: records every call (argv, stack, start and
end time) as a JSON line in $FAKE_PULUMI_LOG, and answers as the real CLI would for what the
Automation API reads back: the version, stack selection, an event log with a summary, history,
outputs. $FAKE_PULUMI_FAIL names a stack whose operations fail; $FAKE_PULUMI_DELAY slows ops down.
$FAKE_PULUMI_MEET names stacks (comma-separated) whose operations wait for each other: each one's
preview/up/destroy marks its arrival in $FAKE_PULUMI_MEET_DIR and finishes only once all of them have
arrived, so they were provably in flight together; if they never all arrive (the runner ran them one
after another) the operation fails after $FAKE_PULUMI_MEET_TIMEOUT seconds and records met=false."""

import json
import os
import sys
import time

argv = sys.argv[1:]
stack = argv[argv.index("--stack") + 1] if "--stack" in argv else None
start = time.time()
code, out = 0, ""
met = None
words = [a for a in argv if not a.startswith("--")]  # the Automation API puts --non-interactive first
op = words[0] if words else ""
if op == "version":
    out = "v3.272.0\n"
elif op in ("preview", "up", "destroy"):
    time.sleep(float(os.environ.get("FAKE_PULUMI_DELAY", "0")))
    meet = [s for s in os.environ.get("FAKE_PULUMI_MEET", "").split(",") if s]
    if stack in meet:
        here = os.path.join(os.environ["FAKE_PULUMI_MEET_DIR"], f"{op}-{{}}")
        open(here.format(stack), "w").close()
        give_up = time.monotonic() + float(os.environ.get("FAKE_PULUMI_MEET_TIMEOUT", "60"))
        while not (met := all(os.path.exists(here.format(s)) for s in meet)) and time.monotonic() < give_up:
            time.sleep(0.01)
    if met is False:
        code = 255
        sys.stderr.write(f"error: {op} of {stack} ran without the other stacks of {meet} (fake)\n")
    elif stack == os.environ.get("FAKE_PULUMI_FAIL"):
        code = 255
        sys.stderr.write(f"error: {op} of {stack} failed (fake)\n")
    elif "--event-log" in argv:
        event = {
            "sequence": 1,
            "timestamp": int(start),
            "summaryEvent": {
                "maybeCorrupt": False,
                "durationSeconds": 0,
                "resourceChanges": {"create": 3},
                "policyPacks": {},
            },
        }
        with open(argv[argv.index("--event-log") + 1], "a") as log:
            log.write(json.dumps(event) + "\n")
elif op == "stack" and words[1:2] == ["history"]:
    out = json.dumps(
        [
            {
                "version": 1,
                "kind": "update",
                "startTime": "2024-01-01T00:00:00.000Z",
                "message": "",
                "environment": {},
                "config": {},
                "result": "succeeded",
                "endTime": "2024-01-01T00:00:01.000Z",
                "resourceChanges": {"create": 3},
            }
        ]
    )
elif op == "stack" and words[1:2] == ["output"]:
    outputs = {"town": stack.split("-", 1)[1], "servers": {f"{stack}-sv": {"mgmt_address": "198.18.0.9"}}}
    out = json.dumps(outputs)
with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
    log.write(json.dumps({"argv": argv, "stack": stack, "start": start, "end": time.time(), "met": met}) + "\n")
sys.stdout.write(out)
sys.exit(code)
