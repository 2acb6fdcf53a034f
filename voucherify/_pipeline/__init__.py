"""The request/response pipeline shared by every operation and by the sync and async clients.

``operation`` describes an endpoint, ``request`` turns a call into bytes to send (validating
everything first), ``response`` turns what came back into a model or an exception. Nothing
here does I/O: the transports in ``voucherify.rest`` (and later ``voucherify.aio``) do.
"""
