"""The gateway's nginx configuration, rendered from `deploy/nginx/clinic.conf.template` for a set of
upstreams, so the run command, the tests and the benchmarks start the very same gateway.

nginx runs as an ordinary user (`nginx -p PREFIX -c PREFIX/nginx.conf -g 'daemon off;'`): every path
it writes (pid, logs, temporary files) is under the prefix."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO / "deploy" / "nginx"
TEMPLATE = NGINX_DIR / "clinic.conf.template"
MIME_TYPES = Path("/etc/nginx/mime.types")
HSTS = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'


class NginxMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Gateway:
    listen: str  # e.g. 127.0.0.1:8080
    web: str  # host:port of each upstream
    booking: str
    inventory: str
    notifications: str
    static: Path  # the web service's static files (its vendor/ folder filled from npm)
    oidc_issuer: str  # staff sign-in posts forms to the identity provider: the CSP must allow it
    hsts: bool = False  # outside development: browsers use https only, for a year
    page_rate: int = 20  # requests per second per visitor, with a burst on top
    page_burst: int = 60
    api_rate: int = 50
    api_burst: int = 100

    def render(self, prefix: Path) -> Path:
        """Write `prefix/nginx.conf` (and the folders nginx writes to); returns the file."""
        for folder in ("logs", "tmp"):
            (prefix / folder).mkdir(parents=True, exist_ok=True)
        issuer = urlsplit(self.oidc_issuer)
        values = {
            # As root (a CI machine), workers would otherwise drop to a user who cannot write the prefix.
            "USER": "user root;" if os.geteuid() == 0 else "",
            "PREFIX": str(prefix), "MIME_TYPES": str(MIME_TYPES), "LISTEN": self.listen, "WEB": self.web,
            "BOOKING": self.booking, "INVENTORY": self.inventory, "NOTIFICATIONS": self.notifications,
            "STATIC": str(self.static), "ERRORS": str(NGINX_DIR / "errors"),
            "OIDC_ORIGIN": f"{issuer.scheme}://{issuer.netloc}",
            "HSTS": HSTS if self.hsts else "",
            "PAGE_RATE": str(self.page_rate), "PAGE_BURST": str(self.page_burst),
            "API_RATE": str(self.api_rate), "API_BURST": str(self.api_burst),
        }  # fmt: skip
        text = TEMPLATE.read_text()
        for name, value in values.items():
            text = text.replace(f"@@{name}@@", value)
        if "@@" in text:
            raise ValueError("the gateway template names a value the renderer does not give")
        config = prefix / "nginx.conf"
        config.write_text(text)
        return config


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        raise NginxMissing("nginx is not installed: `apt-get install nginx` (Debian's package), or run ./scripts/start")
    return found


def command(config: Path) -> list[str]:
    """How to run nginx in the foreground with this configuration, as the current user."""
    prefix = config.parent
    return [nginx_binary(), "-p", str(prefix), "-c", str(config), "-e", str(prefix / "logs" / "error.log"),
            "-g", "daemon off;"]  # fmt: skip
