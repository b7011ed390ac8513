"""The packet filter of a lab router: what an inbound ACL is on a real router, in nftables.

FRR filters routes, not packets: the lab's routers carry the policy's packet filters
(network/filters.py) in one nftables table of their namespace, and this program is their command
line for it, reached as root over the router's own sshd (the ForceCommand of `root`: nothing else
runs), as vtysh is reached as `netops`. It speaks the text the FRR template renders:

    filter MC-MYNUMBER-IN in clients
     10 permit tcp 198.18.130.0/24 198.18.0.1/32 eq 8080
     20 permit icmp 198.18.130.0/24 198.18.0.1/32 echo
     30 deny ip any any
    exit

Commands (the SSH command, or the last argument):
  show    the running filters, as above
  apply   read configuration lines on stdin (`filter ... in IF` ... `exit`, ` <entry>`, ` no <entry>`,
          `no filter NAME in IF`) and apply them to the running filters, all or nothing: a line it
          does not understand is refused (`% Invalid input: ...`, exit 1) and nothing changes
  save    make the running filters the ones the router boots with (as `write memory`)
  boot    load the saved filters (none saved: no filters); the lab runs it when the router starts

A filter sees what enters its interface, to the router itself or through it (input and forward
hooks), as an inbound ACL does; its entries match in their numbers' order, the first match decides,
and what none permits is refused with an ICMP administratively-prohibited, as a router's ACL answers
(the answer makes a refused probe fail at once rather than time out). IPv4 only: the deny entry
matches IPv4 packets, as `ip access-group` does.

Standalone (only the standard library and `nft`): sshd runs it on the router, outside municloud.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

_HEADER = re.compile(r"^filter (?P<name>[A-Za-z0-9_-]{1,48}) in (?P<iface>[A-Za-z0-9_./-]{1,15})$")
_NO_HEADER = re.compile(r"^no filter (?P<name>[A-Za-z0-9_-]{1,48}) in (?P<iface>[A-Za-z0-9_./-]{1,15})$")
_NET = r"(?:any|\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})"
_ENTRY = re.compile(
    rf"^(?P<seq>\d{{1,9}}) (?P<action>permit|deny) (?:"
    rf"(?P<l4>tcp|udp) (?P<src>{_NET}) (?P<dst>{_NET})(?: eq (?P<port>\d{{1,5}}))?"
    rf"|icmp (?P<isrc>{_NET}) (?P<idst>{_NET})(?P<echo> echo)?"
    rf"|ip (?P<asrc>{_NET}) (?P<adst>{_NET}))$"
)

Filters = dict[str, tuple[str, dict[int, str]]]  # name -> (interface, seq -> entry text)


class Invalid(ValueError):
    pass


def parse_entry(text: str) -> re.Match[str]:
    match = _ENTRY.match(text)
    if match is None:
        raise Invalid(f"% Invalid input: {text}")
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise Invalid(f"% Invalid port: {text}")
    return match


def apply_lines(filters: Filters, lines: list[str]) -> Filters:
    """`filters` with the configuration lines applied (a new dict; Invalid on any line it refuses)."""
    result: Filters = {name: (iface, dict(entries)) for name, (iface, entries) in filters.items()}
    current: str | None = None
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("!"):
            continue
        if line == "exit":
            current = None
        elif m := _HEADER.match(line):
            name, iface = m.group("name"), m.group("iface")
            other = next((n for n, (i, _) in result.items() if i == iface and n != name), None)
            if other is not None:
                raise Invalid(f"% Interface {iface} already has filter {other}: {line}")
            result.setdefault(name, (iface, {}))
            if result[name][0] != iface:
                result[name] = (iface, result[name][1])
            current = name
        elif m := _NO_HEADER.match(line):
            result.pop(m.group("name"), None)
            current = None
        elif current is None:
            raise Invalid(f"% Not inside a filter: {line}")
        elif line.startswith("no "):
            text = line[3:]
            seq = int(parse_entry(text).group("seq"))
            entries = result[current][1]
            if entries.get(seq) == text:  # `no` of an entry no longer there (replaced) changes nothing
                del entries[seq]
        else:
            result[current][1][int(parse_entry(line).group("seq"))] = line
    return result


def render_text(filters: Filters) -> str:
    out: list[str] = []
    for name, (iface, entries) in filters.items():
        out += [f"filter {name} in {iface}", *(f" {entries[s]}" for s in sorted(entries)), "exit", "!"]
    return "\n".join(out) + ("\n" if out else "")


def _chain(name: str) -> str:
    return "f_" + name.lower().replace("-", "_")


def _rule(text: str) -> str:
    m = parse_entry(text)
    src = m.group("src") or m.group("isrc") or m.group("asrc")
    dst = m.group("dst") or m.group("idst") or m.group("adst")
    parts = [f"ip saddr {src}"] if src != "any" else []
    parts += [f"ip daddr {dst}"] if dst != "any" else []
    if m.group("l4"):
        parts.append(f"{m.group('l4')} dport {m.group('port')}" if m.group("port") else f"meta l4proto {m.group('l4')}")
    elif m.group("isrc"):
        parts.append("icmp type echo-request" if m.group("echo") else "meta l4proto icmp")
    elif not parts:
        parts.append("meta nfproto ipv4")
    verdict = "accept" if m.group("action") == "permit" else "reject with icmpx type admin-prohibited"
    return f'{" ".join(parts)} {verdict} comment "{text}"'


def nft_script(table: str, filters: Filters) -> str:
    """The whole table, replaced in one transaction (the create makes the delete safe when absent)."""
    script = [f"table inet {table} {{}}", f"delete table inet {table}"]
    if not filters:
        return "\n".join(script) + "\n"
    body = [f"table inet {table} {{"]
    for name, (_, entries) in filters.items():
        body.append(f"  chain {_chain(name)} {{")
        body += [f"    {_rule(entries[s])}" for s in sorted(entries)]
        body.append("  }")
    for hook in ("input", "forward"):
        body += [f"  chain {hook} {{", f"    type filter hook {hook} priority 0; policy accept;"]
        body += [
            f'    iifname "{iface}" jump {_chain(name)} comment "filter {name} in {iface}"'
            for name, (iface, _) in filters.items()
        ]
        body.append("  }")
    body.append("}")
    return "\n".join(script + body) + "\n"


def running(table: str) -> Filters:
    """The filters in the table, read back from the rules' comments (which hold the entries' text)."""
    proc = subprocess.run(["nft", "-j", "list", "table", "inet", table], capture_output=True, text=True)
    if proc.returncode != 0:
        return {}  # no table: no filters
    rules = [i["rule"] for i in json.loads(proc.stdout)["nftables"] if "rule" in i]
    filters: Filters = {}
    for r in rules:
        if r["chain"] == "input" and (m := _HEADER.match(r.get("comment", ""))):
            filters[m.group("name")] = (m.group("iface"), {})
    by_chain = {_chain(n): n for n in filters}
    for r in rules:
        if r["chain"] in by_chain:
            text = r.get("comment", "")
            filters[by_chain[r["chain"]]][1][int(parse_entry(text).group("seq"))] = text
    return filters


def load(table: str, filters: Filters) -> None:
    proc = subprocess.run(["nft", "-f", "-"], input=nft_script(table, filters), capture_output=True, text=True)
    if proc.returncode != 0:
        raise Invalid(f"% nft refused the filters: {proc.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The lab router's packet filter (see the module's doc).")
    parser.add_argument("--table", required=True, help="the nftables table (inet) of the filters")
    parser.add_argument("--saved", required=True, type=Path, help="the saved filters (what the router boots with)")
    parser.add_argument("command", nargs="?", help="show, apply, save or boot (default: $SSH_ORIGINAL_COMMAND)")
    args = parser.parse_args(argv)
    command = (args.command or os.environ.get("SSH_ORIGINAL_COMMAND", "")).strip()
    try:
        if command == "show":
            sys.stdout.write(render_text(running(args.table)))
        elif command == "apply":
            load(args.table, apply_lines(running(args.table), sys.stdin.read().splitlines()))
        elif command == "save":
            tmp = args.saved.with_suffix(".tmp")
            tmp.write_text(render_text(running(args.table)))
            tmp.replace(args.saved)
        elif command == "boot":
            saved = args.saved.read_text().splitlines() if args.saved.exists() else []
            load(args.table, apply_lines({}, saved))
        else:
            print(f"% Unknown command: {command!r} (show, apply, save, boot)", file=sys.stderr)
            return 2
    except Invalid as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
