"""`inventory-reconcile`: compare every lot's balances with the sum of its ledger entries. Prints one
JSON line per lot that drifted and exits 1 if any did; reads only, changes nothing."""

from __future__ import annotations

import asyncio
import json
import sys

from clinic_shared.db import create_engine, create_session_factory
from inventory.service.stock import reconcile
from inventory.settings import InventorySettings


async def _drift() -> list[dict[str, object]]:
    settings = InventorySettings()
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=1)
    try:
        return await reconcile(create_session_factory(engine))
    finally:
        await engine.dispose()


def main() -> None:
    drifted = asyncio.run(_drift())
    for lot in drifted:
        print(json.dumps(lot, default=str, sort_keys=True))
    print(f"{len(drifted)} lot(s) drifted from the ledger", file=sys.stderr)
    sys.exit(1 if drifted else 0)
