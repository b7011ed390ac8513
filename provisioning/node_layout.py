"""Where things are on an execution node (`municloud nodes setup` lays them out with
playbooks/roles/execution_node; the executor uses them to run `ansible-runner worker` there).

The role's defaults (playbooks/roles/execution_node/defaults/main.yml) are given these values as
extra variables by `municloud nodes setup`, so this module is their one source."""

from __future__ import annotations

from pathlib import PurePosixPath

NODE_ROOT = PurePosixPath("/opt/municloud-node")
# The node's own Python environment: ansible-core, ansible-runner and mitogen at the operations
# machine's versions, installed from the wheelhouse (provisioning/wheelhouse.py).
NODE_VENV = NODE_ROOT / "venv"
NODE_BIN = NODE_VENV / "bin"
NODE_RUNNER = NODE_BIN / "ansible-runner"
# A symlink to the venv's ansible_mitogen/plugins/strategy folder (a stable path whatever the
# node's Python version): ANSIBLE_STRATEGY_PLUGINS on the node.
NODE_MITOGEN_STRATEGY = NODE_ROOT / "mitogen-strategy"
# The jobs' private data directories (root's only, 0700: a job holds its inventory and variables).
NODE_JOBS = PurePosixPath("/var/lib/municloud-node/jobs")
# The wheelhouse copied from the operations machine: the node reaches no package index.
NODE_WHEELHOUSE = PurePosixPath("/var/cache/municloud-node/wheelhouse")


def layout_variables() -> dict[str, str]:
    """The layout as the role's variables (execution_node_*)."""
    return {
        "execution_node_root": str(NODE_ROOT),
        "execution_node_venv": str(NODE_VENV),
        "execution_node_runner": str(NODE_RUNNER),
        "execution_node_mitogen_strategy": str(NODE_MITOGEN_STRATEGY),
        "execution_node_jobs": str(NODE_JOBS),
        "execution_node_wheelhouse_dest": str(NODE_WHEELHOUSE),
    }
