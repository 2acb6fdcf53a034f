"""Model ``Error``: the body of every error reply."""

from typing import Optional, Union

from voucherify.models._base import ResponseModel
from voucherify.models.error_error import ErrorError


class Error(ResponseModel):
    """What went wrong: ``code`` (the status), a machine ``key``, and human-readable text."""

    code: Optional[Union[int, str]] = None
    key: Optional[str] = None
    message: Optional[str] = None
    details: Optional[str] = None
    request_id: Optional[str] = None
    resource_id: Optional[str] = None
    resource_type: Optional[str] = None
    error: Optional[Union[ErrorError, str]] = None
