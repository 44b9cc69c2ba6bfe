"""The three APIs the pages are a client of."""

from __future__ import annotations

from dataclasses import dataclass

from web.clients.api import Answer, Api, ApiUnavailable
from web.settings import WebSettings

__all__ = ["Answer", "Api", "ApiUnavailable", "Apis"]


@dataclass(frozen=True)
class Apis:
    booking: Api
    inventory: Api
    notifications: Api

    @classmethod
    def of(cls, settings: WebSettings) -> Apis:
        def api(name: str, url: str) -> Api:
            return Api(
                name, url, timeout_s=settings.api_timeout_s, read_retries=settings.api_read_retries,
                reference_ttl_s=settings.reference_ttl_s,
            )  # fmt: skip

        return cls(
            booking=api("booking", settings.booking_api_url),
            inventory=api("inventory", settings.inventory_api_url),
            notifications=api("notifications", settings.notifications_api_url),
        )

    async def close(self) -> None:
        for api in (self.booking, self.inventory, self.notifications):
            await api.close()
