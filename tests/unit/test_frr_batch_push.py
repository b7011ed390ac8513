"""The FRR driver's one-write push: which lines vtysh rejected, read from the session's output."""

from __future__ import annotations

from network.drivers.frr import rejected_lines

# A batch as vtysh answers it: each line echoed after its prompt when it runs; type-ahead the terminal
# echoed by itself (no prompt) while vtysh was busy; an error after the line it belongs to.
OUTPUT = """configure terminal
pe1(config)# ip prefix-list A seq 5 permit 198.18.0.0/24
ip route 1.2.3.300/32 198.18.0.1
router bgp 64600
pe1(config)# ip route 1.2.3.300/32 198.18.0.1
% Unknown command: ip route 1.2.3.300/32 198.18.0.1
pe1(config)# router bgp 64600
pe1(config-router)#  neighbor 198.18.0.9 bfd profile NOPE
% Specify remote-as or peer-group commands first
pe1(config-router)# exit
pe1(config)# end
pe1# ! municloud-push-0123456789ab
pe1# """


def test_each_rejected_line_is_named_with_its_error() -> None:
    assert rejected_lines(OUTPUT, "pe1") == [
        ("ip route 1.2.3.300/32 198.18.0.1", "% Unknown command: ip route 1.2.3.300/32 198.18.0.1"),
        ("neighbor 198.18.0.9 bfd profile NOPE", "% Specify remote-as or peer-group commands first"),
    ]


def test_a_clean_batch_has_no_rejected_line() -> None:
    clean = "\n".join(line for line in OUTPUT.splitlines() if not line.startswith("%"))
    assert rejected_lines(clean, "pe1") == []


def test_another_hosts_prompt_is_not_taken_for_an_echo() -> None:
    assert rejected_lines("pe10(config)# foo\n% Unknown command: foo\n", "pe1") == [("", "% Unknown command: foo")]
