"""A local Voucherify stand-in for tests and examples: no network, no real keys.

:class:`LocalVoucherify` serves ``POST /v1/events`` and ``POST /client/v1/events`` on
127.0.0.1, checks keys and payloads as the strict contract describes (independently of the
SDK's own models, so that it can catch the SDK's mistakes), and records what it receives.

From a shell, ``python -m voucherify.testing serve`` runs it until Ctrl-C, and
``python -m voucherify.testing run -- CMD...`` runs ``CMD`` against it with
``VOUCHERIFY_HOST`` and ``API_KEY`` set.

The SDK never imports this package; import it only where you test.
"""

from voucherify.testing._local import LocalVoucherify
from voucherify.testing._state import RecordedEvent, RecordedRequest

__all__ = ["LocalVoucherify", "RecordedEvent", "RecordedRequest"]
