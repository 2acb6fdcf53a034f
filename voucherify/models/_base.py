"""The base classes every model derives from; a model module holds only its fields.

``to_dict`` / ``to_json`` give exactly what was set: absent fields stay absent and an explicit
``None`` stays ``null``, so ``Model.from_dict(d).to_dict() == d`` for any valid JSON object
``d``. Unknown fields are kept (``extra="allow"``) and reachable as attributes, so a reply with
fields this SDK does not know yet still parses and round-trips.
"""

from __future__ import annotations

import pprint
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Optional, Union, overload

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticSerializationError
from typing_extensions import Self

from voucherify.exceptions import ApiValueError, render_path
from voucherify.models._json_value import FreeFormValueError, JsonValue, json_value_problem
from voucherify.models._validation import to_api_value_error


class VoucherifyModel(BaseModel):
    """Shared behaviour of request and response models."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
    )

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON-ready dict of the fields that were set."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        """The model as JSON text, as it is sent on the wire."""
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """The model as UTF-8 JSON; ``ApiValueError`` names any text that is not Unicode."""
        try:
            return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_unset=True)
        except PydanticSerializationError:
            problem = json_value_problem(self.model_dump(by_alias=True, exclude_unset=True))
            path, rule = problem if problem is not None else ([], "cannot be encoded as JSON")
            raise ApiValueError(
                f"invalid {type(self).__name__}: {render_path(path) or 'body'}: {rule}"
            ) from None

    def to_str(self) -> str:
        """A pretty-printed rendering of :meth:`to_dict`."""
        return pprint.pformat(self.to_dict())

    @overload
    @classmethod
    def from_dict(cls, obj: Union[dict[str, Any], BaseModel]) -> Self: ...

    @overload
    @classmethod
    def from_dict(cls, obj: None) -> None: ...

    @classmethod
    def from_dict(cls, obj: Union[dict[str, Any], BaseModel, None]) -> Optional[Self]:
        """Validate a dict (or another model's data); ``None`` gives ``None``.

        Typed per argument, so that ``from_dict({...})`` is the model for a type checker, not
        an ``Optional``. Raises ``ApiValueError`` naming each field path and rule that was
        broken.
        """
        if obj is None:
            return None
        if isinstance(obj, VoucherifyModel) and not isinstance(obj, cls):
            obj = obj.to_dict()
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            raise to_api_value_error(exc, cls.__name__) from None

    @classmethod
    def from_json(cls, json_str: Union[str, bytes]) -> Self:
        """Validate JSON text; raises ``ApiValueError`` as :meth:`from_dict` does."""
        try:
            return cls.model_validate_json(json_str)
        except ValidationError as exc:
            raise to_api_value_error(exc, cls.__name__) from None


_NOT_NULL = "must not be null (None); leave it out instead"
_PRESENT = object()


class RequestModel(VoucherifyModel):
    """A body the SDK sends: validated on creation, on assignment and again before sending."""

    model_config = ConfigDict(validate_assignment=True, revalidate_instances="always")

    if not TYPE_CHECKING:
        # Unknown keys are sent through as given, so they must be JSON-safe too; typing them
        # makes pydantic check each one, and costs nothing when there are none. Hidden from
        # type checkers, which would otherwise take it for a required constructor argument.
        __pydantic_extra__: Dict[str, JsonValue]

    nullable_fields: ClassVar[frozenset[str]] = frozenset()
    """Declared fields the API accepts ``null`` for; only ``Customer.address``.

    Every other declared field may be left out but not set to ``None``: the API's strict
    rules refuse ``null`` there (400 ``invalid_payload``), so the SDK refuses it before
    sending. Free-form values (inside ``metadata``, unknown keys) may be ``None``.
    """

    @model_validator(mode="after")
    def _refuse_null(self) -> Self:
        values = self.__dict__
        for name in self.__pydantic_fields_set__:
            if values.get(name, _PRESENT) is None and name not in self.nullable_fields:
                raise FreeFormValueError([name], _NOT_NULL)
        return self

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise to_api_value_error(exc, type(self).__name__) from None

    # Tell pydantic this __init__ only validates, as its own does, so that nested models are
    # still built by the fast core validator rather than through this Python method.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        if value is None and name in type(self).model_fields and name not in self.nullable_fields:
            # Checked here too, since pydantic assigns before an after-validator runs.
            raise FreeFormValueError([name], _NOT_NULL).as_api_error(type(self).__name__)
        if name not in type(self).model_fields:
            # pydantic stores an unknown attribute before the model's checks run, so check
            # it first: a refused value must leave the model as it was.
            problem = json_value_problem(value)
            if problem is not None:
                raise FreeFormValueError([name, *problem[0]], problem[1]).as_api_error(
                    type(self).__name__
                )
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise to_api_value_error(exc, type(self).__name__) from None


class TwinModel(RequestModel):
    """A client-side twin of a server-side model: accepts the counterpart's instances too."""

    @model_validator(mode="before")
    @classmethod
    def _accept_counterpart(cls, data: Any) -> Any:
        if isinstance(data, VoucherifyModel) and not isinstance(data, cls):
            return data.to_dict()
        return data


class ResponseModel(VoucherifyModel):
    """A body the SDK receives: lenient, so that a newer server does not break an old client."""

    if TYPE_CHECKING:
        # Fields a newer server sends are kept and read as attributes (``reply.new_field``);
        # this tells a type checker so, while the declared fields keep their own types.
        def __getattr__(self, name: str) -> Any: ...
