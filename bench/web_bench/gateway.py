"""The gateway for the benchmark: the deployed template (`deploy/nginx/clinic.conf.template`), rendered
by the same `clinic_shared.gateway.Gateway` as `clinic-ops gateway` and the tests, with the per-visitor
rate limits raised: every benchmark request comes from one address, 127.0.0.1.

    python -m web_bench.gateway PREFIX --listen 127.0.0.1:P --web 127.0.0.1:P --booking 127.0.0.1:P --static DIR

writes PREFIX/nginx.conf and prints the command that runs nginx in the foreground, one argument per line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clinic_shared.gateway import Gateway, command

# Requests per second (and burst) per visitor address: far above anything one core serves, so the
# gateway never answers 429 (the deployed default is 20/s, burst 60).
UNLIMITED = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description="render the benchmark's gateway (bench/web)")
    parser.add_argument("prefix", type=Path)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--web", required=True)
    parser.add_argument("--booking", required=True)
    parser.add_argument("--unused", required=True, help="host:port for the inventory and notifications upstreams")
    parser.add_argument("--static", type=Path, required=True)
    args = parser.parse_args()
    config = Gateway(
        listen=args.listen, web=args.web, booking=args.booking, inventory=args.unused, notifications=args.unused,
        static=args.static.resolve(), oidc_issuer="http://127.0.0.1:9",
        page_rate=UNLIMITED, page_burst=UNLIMITED, api_rate=UNLIMITED, api_burst=UNLIMITED,
    ).render(args.prefix.resolve())  # fmt: skip
    print("\n".join(command(config)))


if __name__ == "__main__":
    main()
