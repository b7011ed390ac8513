"""The town's probe exporter against a real HTTP server on 127.0.0.1: a round is a request per system on
kept-alive connections (not a connection, and with TLS a handshake, per system), a connection the
service closed is replaced without counting a failure, and a service that does not answer is one."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry

from monitoring.probe_exporter import ProbeConfig, Prober


class _Service(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[tuple[str, int]] = set()
    closing = False  # close each connection after its answer (as a restarted service has)
    body = b'{"site": "dc1"}'

    def do_GET(self) -> None:
        _Service.connections.add(self.client_address)
        body = _Service.body
        self.send_response(200 if self.path.startswith("/health/ina/") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = _Service.closing

    def log_message(self, *_: object) -> None:
        pass


def test_rounds_reuse_their_connections_and_a_closed_one_is_no_failure() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    systems = tuple((f"s{i}", "A") for i in range(6))
    config = ProbeConfig(town="ina", target=f"http://127.0.0.1:{server.server_address[1]}", systems=systems)
    prober = Prober(config, CollectorRegistry())
    try:
        for _ in range(3):
            prober.round()
        assert len(_Service.connections) <= 6  # at most one per worker, not one per probe (18)
        assert all(prober.probe(s)[0] for s, _ in systems)
        # the service closes its connections (a restart): the next probes reconnect, no failure counted
        _Service.closing = True
        prober.round()
        assert all(prober.probe(s)[0] for s, _ in systems)
        server.shutdown()
        server.server_close()
        assert not prober.probe("s0")[0]  # nobody answers: a failure
    finally:
        server.server_close()


def test_a_round_says_which_data_center_answered() -> None:
    """The service off its primary site (DC1 lost, DC2 answering from its standby) is an alert for
    the whole cloud: each round counts the systems each site answered, and a site that stopped is 0."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    registry = CollectorRegistry()
    systems = tuple((f"s{i}", "A") for i in range(3))
    target = f"http://127.0.0.1:{server.server_address[1]}"
    prober = Prober(ProbeConfig(town="ina", target=target, systems=systems), registry)
    try:
        _Service.closing, _Service.body = False, b'{"site": "dc1"}'
        prober.round()
        assert registry.get_sample_value("municloud_probe_answered_from", {"town": "ina", "site": "dc1"}) == 3
        _Service.body = b'{"site": "dc2"}'
        prober.round()
        assert registry.get_sample_value("municloud_probe_answered_from", {"town": "ina", "site": "dc1"}) == 0
        assert registry.get_sample_value("municloud_probe_answered_from", {"town": "ina", "site": "dc2"}) == 3
    finally:
        _Service.body = b'{"site": "dc1"}'
        server.shutdown()
        server.server_close()
