"""The `lab` environment binding written from a lab's recorded topology (no lab needs to run)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from inventory.environment import BindingFile
from lab.binding import lab_binding, lab_reach
from lab.home import LabHome
from lab.state import LabState
from lab.topology import sample_topology


def test_the_binding_reaches_every_router_container_and_client(tmp_path: Path) -> None:
    topo = sample_topology("mcu", "198.18.201.0/24")
    LabState(tmp_path).set("topology", topo.to_dict())
    home = LabHome(tmp_path, prefix="mcx")
    binding = lab_binding(home, ["t1"])
    assert list(binding.hosts) == ["pe1", "pe2", "ce1", "t1-srv"]  # routers first, then containers
    assert binding.hosts["t1-srv"].mgmt_address == IPv4Address("198.18.201.101")
    assert binding.clients["t1-pc"].netns == "mcu-n-t1-pc"
    assert binding.clients["t1-pc"].address == IPv4Address("198.19.1.100")
    assert binding.lab is not None and binding.lab.prefix == "mcu"  # the topology's, not the default
    assert binding.lab.state_dir == tmp_path
    assert binding.key_file == tmp_path / "keys" / "id_ed25519"
    assert binding.known_hosts == tmp_path / "keys" / "known_hosts"
    assert BindingFile.model_validate(binding.model_dump(mode="json")) == binding


def test_before_the_first_up_the_binding_reaches_nothing(tmp_path: Path) -> None:
    reach = lab_reach(LabHome(tmp_path, prefix="mcx"))
    assert (reach.prefix, reach.mgmt_addresses, reach.clients) == ("mcx", {}, {})
