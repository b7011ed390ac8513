"""A stand-in for a service outside the lab (the LGWAN gateway, the security cloud's web proxy):
one process, run by the lab in the target's own namespace, answering every HTTP request on its
port with 200 and its name, so a probe from a town segment sees a real listener there.

Standard library only: the lab starts it with the operations machine's Python, inside `ip netns
exec`, as `python standin_server.py --name NAME --address A --port P`. It serves until stopped
(SIGTERM, by pid: lab/standins.py) and never forwards anything: it is no proxy, only an endpoint.
"""

from __future__ import annotations

import argparse
import http.server
import json
import signal
import socketserver
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    body = json.dumps({"stand_in": args.name, "note": "municloud lab stand-in; forwards nothing"}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = do_CONNECT = _answer

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server((args.address, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
