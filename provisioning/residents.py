"""The lab's synthetic residents as provisioning loads them: the environment says whether it has any
(`synthetic_residents` in the lab's environment file; production never) and at which scale for the
lab's profile; the dataset's files are made once under the state directory, and the postgresql
role loads them on the primary where a town's schema does not hold that dataset yet."""

from __future__ import annotations

from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from residents.seeding import dataset_files, loaded_query
from residents.synthetic import Dataset, dataset
from toolkit.settings import state_dir

APP_ROLE = "business_app"  # the playbooks' postgresql_app_user: the tables are the service's
REMOTE_ROOT = "/var/lib/postgresql/municloud-residents"  # on the primary, only while loading


def synthetic_dataset(inventory: Inventory, binding: EnvironmentBinding) -> Dataset | None:
    """The dataset this environment's tenants hold, or None (production, a lab of chosen towns)."""
    synthetic = inventory.environment(binding.name).synthetic_residents
    if synthetic is None or binding.lab is None or binding.lab.profile is None:
        return None
    towns = [inventory.town(t) for t in binding.towns]
    return dataset(
        [(t.id, t.number, t.name, t.population) for t in towns], synthetic.seed, synthetic.scale[binding.lab.profile]
    )


def seed_variables(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, Any]:
    """The playbooks' `residents_seed` (none when the environment has no synthetic residents)."""
    data = synthetic_dataset(inventory, binding)
    if data is None:
        return {}
    folder = dataset_files(data, state_dir() / "residents" / binding.name, APP_ROLE, REMOTE_ROOT)
    towns = [t.id for t in data.towns]
    return {
        "residents_seed": {
            "dataset": data.fingerprint,
            "scale": data.scale,
            "dir": str(folder),
            "remote_dir": REMOTE_ROOT,
            "towns": towns,
            "residents": {t.id: t.residents for t in data.towns},
            "loaded_query": loaded_query(towns, data.fingerprint),
        }
    }
