"""``with`` support for the objects that end with :meth:`Closing.close`, written once."""

from __future__ import annotations

from types import TracebackType
from typing import Optional

from typing_extensions import Self


class Closing:
    """``with obj:`` gives ``obj`` and calls its :meth:`close` when the block ends, however
    it ends; an exception from the block is never swallowed."""

    __slots__ = ()

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()
