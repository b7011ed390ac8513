"""`net apply` and `net rollback`: the safety model of a network change.

Before anything is touched, apply refuses (ApplyRefused, nothing changed) when: an earlier change was
left unfinished (a killed process), the plan is stale (a running config changed since, or the
inventory renders differently now), the time is outside the change windows (unless an emergency
with a reason, recorded), or another change holds a device's lock.

Then: every changed device's running config is backed up (git, one commit) and kept beside the
change's journal; pre-checks record what is up; then the change fans out per region (below). Per
device: push (a rejected line is an error), post-checks (BGP and
BFD up, expected prefixes, no default route, no leak between towns, the DC reachable from the town).
A final verification runs over the whole network. Only then is every device saved (and its timed
revert confirmed): commit-confirm. On any failure every device touched is rolled back to its backup,
and the rollback is verified by comparing the running config with the backup.

Commit-confirm for every platform: where the platform has a timed revert (IOS-XE's revert timer,
Yamaha RTX's scheduled restart to the saved configuration) it is armed before the push and disarmed
before the save; FRR and NEC IX have none, so nothing is saved before the verification (a router that restarts comes
back with the old config) and a router that drops off the management network after the push is
reverted from the backup as soon as it answers again. The journal (`<state>/network/changes/`) is
written before each step, so a killed apply is found by the next command, which offers the rollback.

Per region (network/fanout.py): the changed devices are grouped by region, the carrier and DC edges
in a group of their own; each group's canary is changed first, then its other devices. The shared
group goes first, alone: every region depends on it, and a town router is checked only against the
peers that already carry their intended config, so a region's canary changed before the carrier
edges would prove nothing about the edges' half of the change. Then the regions, in parallel. A
failed canary stops its region (its other devices are skipped), and any failure stops every region
from starting another device: the change stays all-or-nothing, one plan verified as a whole and
then saved, or every device touched rolled back (a partial commit would leave the plan half applied,
stale for a second `net apply`, with the shared edges carrying config for towns that do not). At
most `sessions_per_edge` management sessions are in use at once through any one carrier edge, in
every step, whatever `workers` is.

Time: one session per router is kept from the first read to the save (`Sessions`), and one SSH
connection per town server for the probes (`Fleet.shared_server_connections`); the probes of what
the towns reach before the change run beside the backups and pre-checks; after the canary the
devices with the most lines go first (a carrier edge's push is the longest, and the towns' sessions
wait for it); steps that change nothing, and the save of a verified change, go to every device at
once (`STEP_WORKERS`), while `workers` bounds the devices being changed.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory

from .audit import audit
from .backup import PRE_CHANGE, BackupRepo
from .checks import reachability, reachability_problems, towns_converged, wait_healthy
from .config import config_hash, push_commands, remediation, same_config, without_volatile
from .drivers.device import ConfigRejected, DeviceError, DeviceState
from .fanout import (
    SESSIONS_PER_EDGE,
    SHARED,
    CanaryError,
    EdgeSlots,
    RegionGroup,
    device_region,
    management_edges,
    region_groups,
)
from .fleet import Fleet, parallel
from .intent import DeviceIntent
from .plan import Plan, intended_configs
from .sessions import Sessions
from .store import LockHeld, changes_dir, device_locks, read_json, who, write_json
from .windows import change_window

Progress = Callable[[str, int, int], None]  # (what, done, total)
# `workers` bounds the devices whose configuration is being changed at once (push and post-checks):
# the blast radius of a change that goes wrong. The other steps go to every device at once, up to
# this many: reads (running configs, state, probes from the towns' servers) change nothing, and the
# save persists what the final verification has passed; each mostly waits on its device.
STEP_WORKERS = 32


class ApplyRefused(RuntimeError):
    """The change was refused before any device was touched."""


@dataclass
class DeviceResult:
    name: str
    status: str  # unchanged | applied | rolled-back | rollback-failed | unreachable | skipped | failed
    detail: str = ""
    pushed: int = 0
    seconds: float = 0.0
    region: str = ""  # a region id, or "shared" (carrier and DC edges)


@dataclass
class RegionResult:
    """One region's part of a change: its canary, how the canary went, and how the region ended."""

    region: str
    name: str
    canary: str
    devices: list[str]
    canary_status: str = "pending"  # the canary's DeviceResult status right after its own change
    # applied | canary failed | failed (another device) | stopped (another region failed first) |
    # rolled back with the rest (all applied, then another region failed) | final verification failed
    outcome: str = "pending"
    detail: str = ""


@dataclass
class ApplyResult:
    change_id: str
    plan_id: str
    window: str
    emergency: str | None
    canary: str | None  # the first canary changed (the shared group's, when it has changed devices)
    results: dict[str, DeviceResult] = field(default_factory=dict)
    seconds: float = 0.0
    regions: dict[str, RegionResult] = field(default_factory=dict)  # in the order they were changed

    @property
    def ok(self) -> bool:
        return all(r.status in ("applied", "unchanged") for r in self.results.values())


@dataclass
class Hooks:
    """Test points: called after a device's push, before its post-checks."""

    after_push: Callable[[str], None] | None = None


# ---- the journal ----------------------------------------------------------------------------------------


def _proc_start(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Journal:
    def __init__(self, change_id: str) -> None:
        self.change_id = change_id
        self.path = changes_dir() / f"{change_id}.json"
        self.dir = changes_dir() / change_id
        self._lock = threading.Lock()
        self.data: dict[str, Any] = {}

    @classmethod
    def start(
        cls,
        change_id: str,
        plan: Plan,
        devices: list[str],
        emergency: str | None,
        regions: dict[str, str] | None = None,
        canaries: dict[str, str] | None = None,
    ) -> Journal:
        journal = cls(change_id)
        journal.dir.mkdir(parents=True, exist_ok=True)
        journal.data = {
            "change": change_id,
            "plan": plan.id,
            "environment": plan.environment,
            "who": who(),
            "pid": os.getpid(),
            "pid_start": _proc_start(os.getpid()),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "emergency": emergency,
            "status": "running",
            "devices": {
                d: {"state": "pending", "platform": plan.device(d).platform, "region": (regions or {}).get(d)}
                for d in devices
            },
            "canaries": canaries or {},  # per region
        }
        journal._write()
        return journal

    @classmethod
    def load(cls, path: Path) -> Journal:
        journal = cls(path.stem)
        journal.data = read_json(path)
        return journal

    def _write(self) -> None:
        write_json(self.path, self.data)

    def device(self, name: str, state: str, **extra: Any) -> None:
        with self._lock:
            self.data["devices"][name].update(state=state, **extra)
            self._write()

    def finish(self, status: str, regions: dict[str, str] | None = None) -> None:
        with self._lock:
            self.data["status"] = status
            if regions is not None:
                self.data["regions"] = regions  # per region: how it ended
            self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self._write()

    def backup_file(self, device: str) -> Path:
        return self.dir / f"{device}.cfg"

    @property
    def abandoned(self) -> bool:
        """Left running by a process that is gone."""
        if self.data.get("status") != "running":
            return False
        pid = int(self.data.get("pid", 0))
        return _proc_start(pid) is None or _proc_start(pid) != self.data.get("pid_start")

    def touched(self) -> list[str]:
        """Devices the change may have changed (anything past 'pending')."""
        return [n for n, d in self.data["devices"].items() if d["state"] not in ("pending", "rolled-back")]


def unfinished_changes() -> list[Journal]:
    """Changes whose process died before finishing: the next command offers their rollback."""
    if not changes_dir().is_dir():
        return []
    found = []
    for path in sorted(changes_dir().glob("*.json")):
        try:
            journal = Journal.load(path)
        except (OSError, ValueError):
            continue
        if journal.abandoned and journal.touched():
            found.append(journal)
    return found


# ---- rollback of one device -------------------------------------------------------------------------------


def rollback_device(
    fleet: Fleet, name: str, backup: str, *, reconnect_s: float = 30.0, save: bool = True
) -> tuple[bool, str, list[str]]:
    """Take `name` back to `backup`: push the remediation from its running config, then verify by
    comparing the running config with the backup. Retries the connection for `reconnect_s` (a
    router that restarted or lost its management path for a while). Returns (ok, detail, pushed)."""
    platform = fleet.router(name).platform or "frr"
    deadline = time.monotonic() + reconnect_s
    last = ""
    while True:
        try:
            with fleet.driver(name) as drv:
                running = drv.get_running_config()
                lines = remediation(platform, running, backup)
                pushed = push_commands(lines, platform) if lines else []
                if pushed:
                    drv.push(pushed)
                after = drv.get_running_config()
                if not same_config(platform, after, backup):
                    left = remediation(platform, after, backup)
                    return (
                        False,
                        "running config differs from the backup after rollback: " + "; ".join(left[:5]),
                        pushed,
                    )
                if save and pushed:
                    drv.save()
                return True, "restored from backup" if pushed else "already equal to the backup", pushed
        except ConfigRejected as error:
            return False, f"the device rejected a rollback line: {error}", []
        except DeviceError as error:
            last = str(error)
            if time.monotonic() >= deadline:
                return False, f"unreachable, not rolled back: {last}", []
            time.sleep(1.0)


# ---- apply ------------------------------------------------------------------------------------------------


class Applier:
    def __init__(
        self,
        plan: Plan,
        inventory: Inventory,
        binding: EnvironmentBinding,
        *,
        emergency_reason: str | None = None,
        now: datetime | None = None,
        workers: int = 8,
        canary: str | list[str] | None = None,
        sessions_per_edge: int = SESSIONS_PER_EDGE,
        check_timeout: float = 30.0,
        reconnect_s: float = 30.0,
        revert_minutes: int = 5,
        progress: Progress | None = None,
        hooks: Hooks | None = None,
        fleet: Fleet | None = None,
    ) -> None:
        self.plan = plan
        self.inventory = inventory
        self.binding = binding
        self.emergency = emergency_reason
        self.now = now
        self.workers = workers
        # explicit canaries, at most one per region (the others chosen: network/fanout.py)
        self.canaries = [canary] if isinstance(canary, str) else list(canary or [])
        self.check_timeout = check_timeout
        self.reconnect_s = reconnect_s
        self.revert_minutes = revert_minutes
        self.progress = progress
        self.hooks = hooks or Hooks()
        self.fleet = fleet or Fleet(binding)
        self.sessions = Sessions(self.fleet)
        # every step that uses a router's session holds its slots on the carrier edges it crosses
        self.slots = EdgeSlots(management_edges(inventory, binding), sessions_per_edge)
        self.groups: list[RegionGroup] = []
        self.regions: dict[str, str] = {}  # device -> region (or "shared")
        self._stopped: list[str] = []  # why the fan-out stopped: its first failure
        self.change_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        self._converged: set[str] = set()
        self._in_service: set[str] = set()  # the routers the final verification covers
        self._lock = threading.Lock()
        self._done = 0
        self.intents: dict[str, DeviceIntent] = {}
        self.backups: dict[str, str] = {}
        self.before: dict[str, DeviceState] = {}
        self.reach_before: dict[str, dict[str, bool]] = {}

    # -- helpers
    def _tick(self, what: str, total: int) -> None:
        with self._lock:
            self._done += 1
            if self.progress:
                self.progress(what, self._done, total)

    def converged(self) -> set[str]:
        with self._lock:
            return set(self._converged)

    def _refuse(self, message: str) -> None:
        audit("apply-refused", plan=self.plan.id, environment=self.plan.environment, reason=message)
        raise ApplyRefused(message)

    # -- gates (nothing touched yet)
    def gates(self) -> str:
        if self.plan.environment != self.binding.name:
            self._refuse(f"plan {self.plan.id} is for environment '{self.plan.environment}', not '{self.binding.name}'")
        unfinished = unfinished_changes()
        if unfinished:
            listed = ", ".join(f"{j.change_id} ({', '.join(j.touched())})" for j in unfinished)
            self._refuse(
                f"an earlier change was left unfinished: {listed}; roll it back first with "
                "`municloud net rollback --unfinished`"
            )
        if self.plan.errors:
            self._refuse(
                "the plan has devices it could not plan: " + "; ".join(f"{d.name}: {d.error}" for d in self.plan.errors)
            )
        verdict = change_window(self.inventory, self.binding.name, self.now)
        if not verdict.open:
            if not self.emergency:
                self._refuse(verdict.reason + "; an emergency change needs --emergency --reason TEXT")
            window = f"EMERGENCY outside the change windows: {self.emergency} ({verdict.reason})"
        else:
            window = verdict.reason
        names = [d.name for d in self.plan.changed]
        self.intents, rendered, _ = intended_configs(self.inventory, self.binding, names)
        moved = [n for n in names if n in rendered and rendered[n] != self.plan.device(n).intended]
        if moved and not self.plan.override:
            self._refuse(f"the inventory renders differently since the plan for: {', '.join(moved)}; plan again")
        self.regions = {d.name: device_region(self.inventory, self.binding, d.name) for d in self.plan.devices}
        try:
            self.groups = region_groups(self.inventory, self.binding, names, self.canaries)
        except CanaryError as error:
            self._refuse(str(error))
        return window

    def run(self) -> ApplyResult:
        started = time.monotonic()
        window = self.gates()
        changed = [d.name for d in self.plan.changed]
        result = ApplyResult(self.change_id, self.plan.id, window, self.emergency, None)
        for d in self.plan.devices:
            if not d.changed:
                result.results[d.name] = DeviceResult(d.name, "unchanged", region=self.regions.get(d.name, ""))
        if not changed:
            result.seconds = time.monotonic() - started
            return result
        try:
            with device_locks(changed, f"change {self.change_id} of plan {self.plan.id} by {who()}"):
                self._run(changed, result)
        except LockHeld as error:
            self._refuse(str(error))
        result.seconds = time.monotonic() - started
        return result

    def _run(self, changed: list[str], result: ApplyResult) -> None:
        # One session per router and one SSH connection per town server for the whole change:
        # logging in again for every step cost more than the steps.
        with (
            self.fleet.shared_server_connections(),
            self.sessions,
            ThreadPoolExecutor(max_workers=1) as aside,
        ):
            self._change(changed, result, aside)

    def _change(self, changed: list[str], result: ApplyResult, aside: ThreadPoolExecutor) -> None:
        total = len(changed) * 3 + 1
        towns = list(self.binding.towns)
        # what the towns reach before the change: read-only and the slowest read (a log-in to every
        # town's server), so it runs beside the backups and pre-checks; all done before any push
        reach_before = aside.submit(self._reachability, towns)

        # 1. per device in one go: the running config (the backup) and the pre-checks (what is up)
        def read(name: str) -> tuple[str, DeviceState]:
            with self.sessions.use(name) as drv:
                running = drv.get_running_config()
                self._tick(f"backup {name}", total)
                state = drv.get_state()
                self._tick(f"pre-check {name}", total)
                return running, state

        before = parallel(read, changed, STEP_WORKERS, hold=self.slots.hold)
        failed = {n: r for n, r in before.items() if isinstance(r, BaseException)}
        if failed:
            self._refuse("cannot read " + "; ".join(f"{n}: {e}" for n, e in failed.items()))
        running = {n: r[0] for n, r in before.items()}  # type: ignore[index]
        self.before = {n: r[1] for n, r in before.items()}  # type: ignore[index]
        # the staleness check against the backups
        stale = [
            n
            for n in changed
            if config_hash(self.plan.device(n).platform, running[n]) != self.plan.device(n).running_hash
        ]  # type: ignore[arg-type]
        if stale:
            self._refuse(
                f"the plan is stale: the running config changed since the plan on {', '.join(stale)}; plan again"
            )
        self.backups = {n: str(running[n]) for n in changed}
        journal = self.journal = Journal.start(
            self.change_id,
            self.plan,
            changed,
            self.emergency,
            regions=self.regions,
            canaries={g.region: g.canary for g in self.groups},
        )
        for name, text in self.backups.items():
            journal.backup_file(name).write_text(text)
        rev = BackupRepo().commit(
            {n: without_volatile(self.plan.device(n).platform, t) for n, t in self.backups.items()},
            f"{PRE_CHANGE} {self.change_id} (plan {self.plan.id}) by {who()}",
            always=True,
        )
        audit(
            "apply-start",
            plan=self.plan.id,
            change=self.change_id,
            environment=self.plan.environment,
            devices=changed,
            emergency=self.emergency,
            window=result.window,
            backup=rev,
        )
        # A router counts in the checks once it carries its intended configuration: the plan's unchanged
        # routers, those outside the plan found as intended, and each changed one once it passed its
        # checks. A router outside the plan that is not (a town not yet cut over, still on day-0) is
        # neither expected by its neighbours nor verified: this change does not bring it into service.
        outside_ok = self._outside_as_intended()
        with self._lock:
            self._converged = ({d.name for d in self.plan.devices} - set(changed)) | outside_ok
            self._in_service = self._converged | set(changed)
        self.reach_before = reach_before.result()

        # 2. per region, each with its canary first: the shared devices, then the regions in parallel
        self._fan_out(journal, total, result)

        # 3. final verification over the whole network
        if all(result.results[n].status == "applied" for n in changed):
            findings = self._final_verification()
            if findings:
                for name in changed:
                    result.results[name].detail = "final verification failed: " + "; ".join(findings[:6])
                    result.results[name].status = "failed"
        # 4. commit (save, confirm) or roll back everything touched
        if all(result.results[n].status == "applied" for n in changed):
            saved = parallel(
                self._commit, changed, STEP_WORKERS, lambda n: self._tick(f"save {n}", total), hold=self.slots.hold
            )
            for name, err in saved.items():
                if isinstance(err, BaseException):
                    result.results[name].status = "failed"
                    result.results[name].detail = f"save failed: {err}"
        if not all(result.results[n].status == "applied" for n in changed):
            touched = [n for n in changed if result.results[n].status not in ("skipped", "rolled-back")]
            undone = parallel(lambda n: self._rollback(n, journal), touched, self.workers, hold=self.slots.hold)
            for name, res in undone.items():
                ok, detail = res if isinstance(res, tuple) else (False, str(res))
                previous = result.results[name].detail
                if result.results[name].status == "applied":
                    previous = "applied, rolled back with the rest"
                result.results[name].status = "rolled-back" if ok else "rollback-failed"
                result.results[name].detail = f"{previous}; rollback: {detail}".strip("; ")
            all_back = all(isinstance(r, tuple) and r[0] for r in undone.values())
            self._region_outcomes(result)
            journal.finish("rolled-back" if all_back else "failed", self._journal_regions(result))
        else:
            self._region_outcomes(result)
            journal.finish("done", self._journal_regions(result))
            after = parallel(self._fetch, changed, STEP_WORKERS, hold=self.slots.hold)
            for text in after.values():
                if isinstance(text, BaseException):
                    raise text
            BackupRepo().commit(
                {n: without_volatile(self.plan.device(n).platform, str(after[n])) for n in changed},
                f"post-change {self.change_id} (plan {self.plan.id}) by {who()}",
            )
        if self.progress:
            self.progress("done", total, total)
        audit(
            "apply-end",
            plan=self.plan.id,
            change=self.change_id,
            outcome="applied" if result.ok else "rolled back",
            devices={n: r.status for n, r in result.results.items() if n in changed},
            regions={r.region: f"{r.outcome} (canary {r.canary}: {r.canary_status})" for r in result.regions.values()},
        )

    def _fan_out(self, journal: Journal, total: int, result: ApplyResult) -> None:
        """The shared group, then the regions in parallel; in each, the canary first, then the rest
        in parallel. At most `workers` devices are being changed at once across all regions, at most
        `sessions_per_edge` sessions in use through one carrier edge. The first failure anywhere
        stops every group from starting another device: the change is rolled back as a whole."""
        gate = threading.BoundedSemaphore(max(1, self.workers))
        stopped = self._stopped  # why the change stopped: its first failure

        def stop(region: RegionResult, outcome: str, why: str) -> None:
            with self._lock:
                if region.outcome == "pending":
                    region.outcome, region.detail = outcome, why
                if not stopped:
                    stopped.append(f"{why} in region {region.region}")

        def skipped(name: str, why: str) -> DeviceResult:
            return DeviceResult(name, "skipped", f"not changed: {why}")

        def change(name: str, canary: bool = False) -> DeviceResult:
            with self.slots.hold(name), gate:
                if stopped:  # while it waited for its slots
                    return skipped(name, stopped[0])
                return self._apply_device(name, journal, total, check_reach=canary)

        def run_group(group: RegionGroup) -> dict[str, DeviceResult]:
            region = result.regions[group.region]
            if stopped:
                return {n: skipped(n, stopped[0]) for n in group.devices}
            done = {group.canary: change(group.canary, canary=True)}
            region.canary_status = done[group.canary].status
            if region.canary_status == "skipped":
                return done | {n: skipped(n, stopped[0]) for n in group.rest}
            if region.canary_status != "applied":
                stop(region, "canary failed", f"the canary {group.canary} failed")
                return done | {n: skipped(n, f"the canary {group.canary} of its region failed") for n in group.rest}

            def one(name: str) -> DeviceResult:
                if stopped:
                    return skipped(name, stopped[0])
                res = change(name)
                if res.status != "applied":
                    stop(region, "failed", f"{name} failed")
                return res

            for name, res in parallel(one, self._longest_first(list(group.rest)), self.workers).items():
                done[name] = res if isinstance(res, DeviceResult) else DeviceResult(name, "failed", f"internal: {res}")
            return done

        result.regions = {g.region: RegionResult(g.region, g.name, g.canary, list(g.devices)) for g in self.groups}
        result.canary = self.groups[0].canary if self.groups else None
        shared = [g for g in self.groups if g.region == SHARED]
        regional = {g.region: g for g in self.groups if g.region != SHARED}
        outcomes = {g.region: run_group(g) for g in shared}  # first, alone: every region depends on it
        for region, res in parallel(lambda r: run_group(regional[r]), list(regional), self.workers).items():
            if isinstance(res, BaseException):
                res = {n: DeviceResult(n, "failed", f"internal error: {res}") for n in regional[region].devices}
                stop(result.regions[region], "failed", "internal error")
            outcomes[region] = res
        for group in self.groups:  # in the order of the groups, each canary first
            for name in group.devices:
                result.results[name] = outcomes[group.region][name]
                result.results[name].region = group.region
        for region in result.regions.values():
            if region.outcome == "pending" and any(result.results[n].status == "skipped" for n in region.devices):
                region.outcome, region.detail = "stopped", stopped[0]

    def _region_outcomes(self, result: ApplyResult) -> None:
        """Each region's outcome once the change has ended (applied, or why not and what was undone)."""
        for region in result.regions.values():
            statuses = [result.results[n].status for n in region.devices]
            if all(s == "applied" for s in statuses):
                region.outcome, region.detail = "applied", ""
                continue
            if region.outcome == "pending":
                verified = not any("final verification" in result.results[n].detail for n in region.devices)
                region.outcome = "rolled back with the rest" if verified else "final verification failed"
                region.detail = self._stopped[0] if verified and self._stopped else ""
            not_back = [n for n in region.devices if result.results[n].status in ("rollback-failed", "unreachable")]
            undone = "; NOT rolled back: " + ", ".join(not_back) if not_back else ""
            region.detail = (region.detail + undone).strip("; ")

    def _journal_regions(self, result: ApplyResult) -> dict[str, str]:
        return {r.region: r.outcome + (f": {r.detail}" if r.detail else "") for r in result.regions.values()}

    def _longest_first(self, names: list[str]) -> list[str]:
        """The devices with the most lines to push first: a carrier edge takes several times as long
        as a town router, and the towns' sessions wait for it, so starting it last would add its
        whole push to the change."""
        return sorted(names, key=lambda n: len(self.plan.device(n).remediation), reverse=True)

    def _fetch(self, name: str) -> str:
        with self.sessions.use(name) as drv:
            return drv.get_running_config()

    def _apply_device(self, name: str, journal: Journal, total: int, check_reach: bool = False) -> DeviceResult:
        started = time.monotonic()
        dplan = self.plan.device(name)
        commands = push_commands(dplan.remediation, dplan.platform)
        res = DeviceResult(name, "applied", pushed=len(commands), region=self.regions.get(name, ""))
        try:
            with self.sessions.use(name) as drv:
                if drv.supports_timed_revert:
                    drv.arm_revert(self.revert_minutes)
                journal.device(name, "pushing")
                try:
                    drv.push(commands)
                finally:
                    journal.device(name, "pushed")
                    audit("push", plan=self.plan.id, change=self.change_id, device=name, pushed=commands)
                self._tick(f"push {name}", total)
                if self.hooks.after_push:
                    self.hooks.after_push(name)
                with self._lock:
                    self._converged.add(name)
                found, _ = wait_healthy(
                    drv, self.intents[name], self.converged, self.before.get(name), self.check_timeout
                )
            if not found and check_reach:
                found = self._reach_findings(self.converged(), only_town=dplan.town)
            if found:
                res.status, res.detail = "failed", "post-check: " + "; ".join(found[:6])
            else:
                journal.device(name, "verified")
        except ConfigRejected as error:
            res.status, res.detail = "failed", str(error)
        except DeviceError as error:
            res.status, res.detail = "failed", f"lost the device during the change: {error}"
        self._tick(f"check {name}", total)
        if res.status != "applied":
            with self._lock:
                self._converged.discard(name)
            ok, detail = self._rollback(name, journal)
            res.status = "rolled-back" if ok else ("unreachable" if "unreachable" in detail else "rollback-failed")
            res.detail = f"{res.detail}; rollback: {detail}"
        res.seconds = time.monotonic() - started
        audit("device", plan=self.plan.id, change=self.change_id, device=name, outcome=res.status, detail=res.detail)
        return res

    def _rollback(self, name: str, journal: Journal) -> tuple[bool, str]:
        ok, detail, pushed = rollback_device(self.fleet, name, self.backups[name], reconnect_s=self.reconnect_s)
        journal.device(name, "rolled-back" if ok else "rollback-failed", detail=detail)
        audit(
            "rollback", plan=self.plan.id, change=self.change_id, device=name, pushed=pushed, outcome=ok, detail=detail
        )
        return ok, detail

    def _commit(self, name: str) -> None:
        # Disarm first, then save: on Yamaha RTX the timed revert is a scheduled restart in the running
        # configuration, which a save before the disarm would persist.
        with self.sessions.use(name) as drv:
            drv.confirm()
            drv.save()
        self.journal.device(name, "saved")

    def _reach_findings(self, converged: set[str], only_town: str | None = None) -> list[str]:
        towns = towns_converged(self.inventory, list(self.binding.towns), converged)
        if only_town is not None:
            towns = [t for t in towns if t == only_town]
        app = self.inventory.primary_dc.server_names("app")[0]
        found: list[str] = []
        for town, after in self._probe(towns).items():
            if isinstance(after, BaseException):
                found.append(f"{town}: reachability probe failed: {after}")
                continue
            found += [f"{town}: {p}" for p in reachability_problems(self.reach_before.get(town, {}), after, {app})]
        return found

    def _probe(self, towns: list[str]) -> dict[str, dict[str, bool] | BaseException]:
        """From each town's server at once: which DC targets answer."""
        return parallel(lambda t: reachability(self.fleet, self.inventory, t), towns, STEP_WORKERS)

    def _reachability(self, towns: list[str]) -> dict[str, dict[str, bool]]:
        """What each town reaches (a town whose probe failed is left out: nothing to keep)."""
        return {t: r for t, r in self._probe(towns).items() if isinstance(r, dict)}

    def _outside_as_intended(self) -> set[str]:
        """The routers outside the plan whose running config is their intended one (read now)."""
        planned = {d.name for d in self.plan.devices}
        outside = [r.name for r in self.binding.routers() if r.name not in planned]
        if not outside:
            return set()
        _, rendered, _ = intended_configs(self.inventory, self.binding, outside)

        def as_intended(name: str) -> bool:
            with self.sessions.use(name) as drv:
                return same_config(self._all_intents()[name].platform, drv.get_running_config(), rendered[name])

        found = parallel(as_intended, [n for n in outside if n in rendered], STEP_WORKERS, hold=self.slots.hold)
        return {n for n, ok in found.items() if ok is True}  # unreadable: not vouched for

    def _final_verification(self) -> list[str]:
        everyone = set(self._in_service)
        names = [n for n in everyone if n in self.intents or n in self._all_intents()]

        def check(name: str) -> list[str]:
            with self.sessions.use(name) as drv:
                intent = self._all_intents()[name]
                found, _ = wait_healthy(drv, intent, lambda: everyone, self.before.get(name), self.check_timeout)
                return [f"{name}: {f}" for f in found]

        results = parallel(check, sorted(names), STEP_WORKERS, hold=self.slots.hold)
        found = [f for r in results.values() for f in (r if isinstance(r, list) else [f"check failed: {r}"])]
        return found + self._reach_findings(everyone)

    def _all_intents(self) -> dict[str, DeviceIntent]:
        if not hasattr(self, "_every_intent"):
            from .intent import build_intents

            self._every_intent = build_intents(self.inventory, self.binding)
        return self._every_intent


def apply_plan(plan: Plan, inventory: Inventory, binding: EnvironmentBinding, **options: Any) -> ApplyResult:
    return Applier(plan, inventory, binding, **options).run()


# ---- rollback commands ------------------------------------------------------------------------------------


def rollback_unfinished(fleet: Fleet, journal: Journal, workers: int = 8) -> dict[str, tuple[bool, str]]:
    """Restore every device an abandoned change touched from the backups beside its journal."""
    names = journal.touched()
    results: dict[str, tuple[bool, str]] = {}

    def one(name: str) -> tuple[bool, str]:
        backup = journal.backup_file(name).read_text()
        ok, detail, pushed = rollback_device(fleet, name, backup)
        journal.device(name, "rolled-back" if ok else "rollback-failed", detail=detail)
        audit(
            "rollback",
            change=journal.change_id,
            plan=journal.data.get("plan"),
            device=name,
            pushed=pushed,
            outcome=ok,
            detail=detail,
            unfinished=True,
        )
        return ok, detail

    for name, res in parallel(one, names, workers).items():
        results[name] = res if isinstance(res, tuple) else (False, str(res))
    journal.finish("rolled-back" if all(ok for ok, _ in results.values()) else "rollback-failed")
    return results
