"""Fixtures for the stack tests: the shipped inventory, and the DC and WAN outputs a town stack references.

Every mocked run installs fresh mocks (stacks.mocked.run_mocked); only plain output data is shared.
"""

from __future__ import annotations

from typing import Any

import pytest

from inventory.check import load_inventory
from inventory.loader import Inventory
from stacks.mocked import run_mocked
from stacks.naming import StackId


@pytest.fixture(scope="session")
def inv() -> Inventory:
    return load_inventory()


@pytest.fixture(scope="session")
def references(inv: Inventory) -> dict[str, dict[str, Any]]:
    """What prod-dc and prod-wan export, keyed as a town's StackReference names them."""
    return {
        StackId("prod", "dc").reference(): run_mocked("prod-dc", inv).outputs,
        StackId("prod", "wan").reference(): run_mocked("prod-wan", inv).outputs,
    }
