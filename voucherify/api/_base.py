"""What every API class shares: the client it sends through."""

from __future__ import annotations

from typing import Optional

from voucherify.api_client import ApiClient


class BaseApi:
    """Holds the :class:`ApiClient`; operations are thin methods that hand it an Operation."""

    def __init__(self, api_client: Optional[ApiClient] = None) -> None:
        self.api_client = ApiClient.get_default() if api_client is None else api_client
