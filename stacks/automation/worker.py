"""One stack, one operation, in its own process (concurrent stacks in one Python process are unsafe).

    python -m stacks.automation.worker OP STACK WORK_DIR RESULT_FILE [POLICY_PACK]

Writes a JSON result: {stack, op, ok, changes, outputs, error}; exits 0 when ok, 1 when not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NO_CLI = (
    "no `pulumi` CLI on PATH: install the Pulumi CLI (v3, https://www.pulumi.com/docs/install/) on the "
    "machine that runs the stacks, or put its directory on PATH"
)


def run(op: str, stack_name: str, work_dir: str, policy_pack: str | None) -> dict[str, Any]:
    from pulumi import automation as auto

    try:
        command = auto.PulumiCommand()
    except FileNotFoundError:  # the Automation API's own way of saying there is no CLI
        return {"ok": False, "error": NO_CLI}
    options = auto.LocalWorkspaceOptions(work_dir=work_dir, pulumi_command=command, secrets_provider="passphrase")
    if op in ("preview", "up"):
        stack = auto.create_or_select_stack(stack_name, work_dir=work_dir, opts=options)
    else:  # destroy and outputs never create a stack
        stack = auto.select_stack(stack_name, work_dir=work_dir, opts=options)
    packs = [policy_pack] if policy_pack else None
    changes: dict[str, int] = {}
    if op == "preview":
        changes = dict(stack.preview(policy_packs=packs).change_summary)
    elif op == "up":
        changes = dict(stack.up(policy_packs=packs).summary.resource_changes or {})
    elif op == "destroy":
        changes = dict(stack.destroy().summary.resource_changes or {})
    elif op != "outputs":
        raise ValueError(f"unknown operation {op}")
    outputs = {k: v.value for k, v in stack.outputs().items()} if op in ("up", "outputs") else {}
    return {"ok": True, "changes": {str(k): int(v) for k, v in changes.items()}, "outputs": outputs}


def main(argv: list[str]) -> int:
    op, stack_name, work_dir, result_file = argv[:4]
    policy_pack = argv[4] if len(argv) > 4 else None
    try:
        result = run(op, stack_name, work_dir, policy_pack)
    except Exception as exc:  # reported in the summary table, with the stack it belongs to
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    result = {"stack": stack_name, "op": op, "changes": {}, "outputs": {}, "error": None, **result}
    Path(result_file).write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
