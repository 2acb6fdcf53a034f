"""A local Voucherify stand-in for tests and examples: no network, no real keys.

:class:`LocalVoucherify` serves ``POST /v1/events`` and ``POST /client/v1/events`` on
127.0.0.1, checks keys and payloads as the strict contract describes (independently of the
SDK's own models, so that it can catch the SDK's mistakes), and records what it receives.
:func:`assert_event_tracked` checks those records in one line. The pytest plugin
(``voucherify.testing.pytest_plugin``, registered automatically) gives all of it as fixtures.

From a shell, ``python -m voucherify.testing serve`` runs it until Ctrl-C, and
``python -m voucherify.testing run -- CMD...`` runs ``CMD`` against it with
``VOUCHERIFY_HOST`` and ``API_KEY`` set.

The SDK never imports this package, and this package loads its server code only on first use
of a name, so the pytest plugin costs nothing in test runs that do not use it.
"""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "voucherify.testing._local": ("LocalVoucherify",),
        "voucherify.testing._process": ("LocalVoucherifyProcess",),
        "voucherify.testing._state": ("RecordedEvent", "RecordedRequest"),
        "voucherify.testing.assertions": ("assert_event_tracked",),
        "voucherify.testing.faults": ("Fault", "faults"),
    },
)

if TYPE_CHECKING:
    from voucherify.testing import faults as faults
    from voucherify.testing._local import LocalVoucherify as LocalVoucherify
    from voucherify.testing._process import LocalVoucherifyProcess as LocalVoucherifyProcess
    from voucherify.testing._state import RecordedEvent as RecordedEvent
    from voucherify.testing._state import RecordedRequest as RecordedRequest
    from voucherify.testing.assertions import assert_event_tracked as assert_event_tracked
    from voucherify.testing.faults import Fault as Fault
