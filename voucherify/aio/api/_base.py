"""What every asyncio API class shares: the client it sends through."""

from __future__ import annotations

from typing import Optional

from voucherify.aio.api_client import ApiClient


class BaseApi:
    """Holds the asyncio :class:`ApiClient`; operations are thin ``async`` methods."""

    def __init__(self, api_client: Optional[ApiClient] = None) -> None:
        self.api_client = ApiClient.get_default() if api_client is None else api_client
