"""The three-layer separation (三層分離): the guideline model that is built, the towns' own device
counts, and the flows of segmentation.yaml, each refused when it would break the separation.

A flow is judged endpoint pair by endpoint pair, and each refusal names the rule it breaks:
- layers apart: the マイナンバー利用事務系 exchanges nothing with the LGWAN接続系 or the
  インターネット接続系, and those two exchange nothing directly (files cross only sanitised, 無害化);
- towns apart: no town reaches another town's segments;
- the core business systems: only the マイナンバー利用事務系 (its terminals, the town hall's server
  LAN) reaches the service address, and only on the service's port; no town reaches a data center
  network directly;
- the database: only from the application servers and the other site's database;
- management: SSH and the exporters only from the operations center, and the operations center
  and the management networks only for them (else they would bridge the layers); nothing from
  outside a town hall opens a connection into it but management.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from ..model.layers import LAYERS, TOWN_SEGMENTS, segment_layer
from ..model.segmentation import BUILT_MODELS, DEVICE_KINDS, Endpoint, Flow, SegmentationFile, Service
from ..model.towns import Town
from ..problems import Loc
from .identity import duplicates
from .registry import INVENTORY_RULES, Finding

MODEL_NAMES = {"alpha": "α", "alpha-prime": "α'", "beta": "β", "beta-prime": "β'"}
RESIDENT_DATA = "mynumber"


@INVENTORY_RULES.rule("segmentation")
def the_guideline_model_is_one_municloud_builds(files: LoadedFiles) -> Iterator[Finding]:
    model = files.segmentation.guideline_model
    if model not in BUILT_MODELS:
        built = ", ".join(f"{m} ({MODEL_NAMES[m]})" for m in BUILT_MODELS)
        yield (
            "segmentation",
            ("guideline_model",),
            f"the guideline's model {MODEL_NAMES[model]} ('{model}') is not built yet: municloud builds "
            f"{built}, whose layers and flows the rules, the network filters and the isolation check know",
        )


@INVENTORY_RULES.rule("segmentation", "towns", complete=("towns",))
def a_towns_own_counts_add_up_to_its_devices(files: LoadedFiles) -> Iterator[Finding]:
    towns: dict[str, Town] = {t.id: t for t in files.towns.towns}
    for town_id, per_layer in files.segmentation.towns.items():
        loc: Loc = ("towns", town_id)
        town = towns.get(town_id)
        if town is None:
            yield "segmentation", loc, f"unknown town '{town_id}' (towns.yaml has no such id)"
            continue
        missing = [layer for layer in LAYERS if layer not in per_layer]
        if missing:
            yield "segmentation", loc, f"give the counts of every segment: {', '.join(missing)} missing"
            continue
        for kind in DEVICE_KINDS:
            given = sum(getattr(counts, kind) for counts in per_layer.values())
            have = getattr(town.clients, kind)
            if given != have:
                yield (
                    "segmentation",
                    loc,
                    f"its segments hold {given} {kind} but towns.yaml gives {town.name} {have}: they must add up",
                )


@INVENTORY_RULES.rule("segmentation", "datacenters")
def flows_name_what_exists(files: LoadedFiles) -> Iterator[Finding]:
    policy = files.segmentation
    yield from duplicates(((f.id, ("flows", i, "id")) for i, f in enumerate(policy.flows)), "segmentation", "flow id")
    yield from duplicates(
        ((s.id, ("services", i, "id")) for i, s in enumerate(policy.services)), "segmentation", "service id"
    )
    yield from duplicates(
        ((e.id, ("externals", i, "id")) for i, e in enumerate(policy.externals)), "segmentation", "external id"
    )
    services = policy.service_by_id()
    networks = {n.id for dc in files.datacenters.datacenters for n in dc.networks}
    externals = {e.id for e in policy.externals}
    segments = ("lan", *LAYERS)
    for i, flow in enumerate(policy.flows):
        if flow.service not in services:
            known = ", ".join(sorted(services))
            yield "segmentation", ("flows", i, "service"), f"unknown service '{flow.service}' (known: {known})"
        for side, endpoints in (("from", flow.sources), ("to", flow.destinations)):
            for j, end in enumerate(endpoints):
                known_names = {
                    "town": segments,
                    "other-town": segments,
                    "dc": networks,
                    "peer-dc": networks,
                    "external": externals,
                }.get(end.kind)
                if known_names is not None and end.name not in known_names:
                    known = ", ".join(sorted(known_names))
                    what = end.kind.replace("-", " ")
                    yield "segmentation", ("flows", i, side, j), f"{end}: no {what} '{end.name}' (known: {known})"


@INVENTORY_RULES.rule("segmentation", "datacenters")
def flows_keep_the_three_layers_apart(files: LoadedFiles) -> Iterator[Finding]:
    """Every refusal names the flow and the rule; the flow's entry is where it points."""
    policy = files.segmentation
    services = policy.service_by_id()
    resident_networks = {n.id for dc in files.datacenters.datacenters for n in dc.networks if n.resident_data}
    for i, flow in enumerate(policy.flows):
        service = services.get(flow.service)
        if service is None:
            continue  # flows_name_what_exists says so
        for reason in _refusals(flow, service, policy, resident_networks):
            yield "segmentation", ("flows", i), f"flow '{flow.id}' ({flow.name}): {reason}"


def _refusals(flow: Flow, service: Service, policy: SegmentationFile, resident: set[str]) -> Iterator[str]:
    seen: set[str] = set()
    for src in flow.sources:
        for dst in flow.destinations:
            for reason in _pair_refusals(src, dst, service, policy, resident):
                if reason not in seen:
                    seen.add(reason)
                    yield reason


def _pair_refusals(
    src: Endpoint, dst: Endpoint, service: Service, policy: SegmentationFile, resident: set[str]
) -> Iterator[str]:
    pair = f"{src} -> {dst} on {service.id} ({service.label})"
    db_and_backup = {src.name, dst.name} == {"db", "backup"}
    name = {s.id: s.name for s in policy.town_segments}  # the layers as the policy file writes them
    if "other-town" in (src.kind, dst.kind):
        yield f"towns apart: {pair} would let one town reach another town's segment"
    a, b = _layer(src, policy, resident), _layer(dst, policy, resident)
    if a and b and a != b and "management" not in (a, b):
        if RESIDENT_DATA in (a, b):
            other = b if a == RESIDENT_DATA else a
            yield (
                f"layers apart: {pair} would connect the {name[RESIDENT_DATA]} with the "
                f"{name[other]}; the resident-data layer communicates with no other network"
            )
        else:
            yield (
                f"layers apart: {pair} would connect the {name[a]} and the {name[b]} directly; "
                "files cross between them only sanitised (無害化), never as a network flow"
            )
    if service.kind == "management":
        if src.kind != "ops":
            yield f"management from the operations center only: {pair} opens {service.name} to {src}"
    elif "management" in (a, b):
        # The operations center and the management networks reach every layer: anything but
        # management through them would make them the bridge the separation forbids.
        yield (
            f"the operations center and the management network carry management only: {pair} is {service.kind} traffic"
        )
    if dst.kind == "town" and src.kind != "town" and service.kind != "management":
        yield f"a town hall is entered from outside only for management: {pair} opens a connection into {dst}"
    if service.kind == "diagnostic" and dst.kind != "service":
        yield f"the echo request (ping) to the service address only: {pair} goes to {dst}"
    if service.kind == "business" or dst.kind == "service":
        if dst.kind != "service":
            yield f"core business systems on the service address only: {pair} goes to {dst}"
        elif service.kind not in ("business", "diagnostic"):
            yield (f"core business systems on the service's port only: {pair} is not the business systems' service")
        elif not (src.kind == "town" and _layer(src, policy, resident) == RESIDENT_DATA):
            yield (f"core business systems from the {name[RESIDENT_DATA]} only: {pair} comes from {src}")
    if service.kind == "database" or (dst.kind in ("dc", "peer-dc") and dst.name == "db" and not db_and_backup):
        # The app servers of both sites (DC2's writes to the primary in DC1), the other site's database.
        allowed = (src.kind == "dc" and src.name == "app" and dst.kind in ("dc", "peer-dc")) or (
            src.kind == "dc" and src.name == "db" and dst.kind == "peer-dc"
        )
        if service.kind != "database" or dst.name != "db" or not allowed:
            yield (
                f"the database from the application servers and the other site's database only: {pair} is not "
                "dc:app -> dc:db or peer-dc:db, or dc:db -> peer-dc:db, on the database's service"
            )
    # The WAL archive and the backups between the database servers and the backup servers of both
    # sites (either way: the database pushes WAL, the backup server pulls a backup).
    backup_flow = service.kind == "backup" or (dst.kind in ("dc", "peer-dc") and dst.name == "backup")
    allowed_backup = service.kind == "backup" and src.kind == "dc" and dst.kind in ("dc", "peer-dc") and db_and_backup
    if backup_flow and not allowed_backup:
        yield (
            f"backups between the database servers and the backup servers only: {pair} is not "
            "dc:db <-> dc:backup or peer-dc:backup on the backup's service"
        )
    if src.kind in ("town", "other-town") and dst.kind in ("dc", "peer-dc"):
        yield f"towns reach the data centers on the service address only: {pair} goes to a data center network"


def _layer(end: Endpoint, policy: SegmentationFile, resident: set[str]) -> str | None:
    """The layer an endpoint belongs to; 'management' for the operations center and its network."""
    if end.kind in ("town", "other-town"):
        return segment_layer(end.name) if end.name in TOWN_SEGMENTS else None  # type: ignore[arg-type]
    if end.kind in ("dc", "peer-dc"):
        return RESIDENT_DATA if end.name in resident else "management" if end.name == "management" else None
    if end.kind == "service":
        return RESIDENT_DATA
    if end.kind in ("ops", "management"):
        return "management"
    target = next((e for e in policy.externals if e.id == end.name), None)
    return target.layer if target else None
