# Generated from voucherify/api/_base.py by tools/unasync.py: do not edit.
"""The asyncio twin of :mod:`voucherify.api._base`.

The same classes and signatures; the methods that send are coroutines.
"""

from __future__ import annotations

from typing import Optional

from voucherify.aio.api_client import ApiClient


class BaseApi:
    """Holds the :class:`ApiClient`; operations are thin methods that hand it an Operation."""

    def __init__(self, api_client: Optional[ApiClient] = None) -> None:
        self.api_client = ApiClient.get_default() if api_client is None else api_client
