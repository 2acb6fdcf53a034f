"""Model ``ErrorError``: the message a validation rule was configured with."""

from typing import Optional

from voucherify.models._base import ResponseModel


class ErrorError(ResponseModel):
    """A message set up in a validation rule, shown to the customer."""

    message: Optional[str] = None
