"""Shared pieces of the typed API: the model base class, CRD schema markers and validation rules.

The models in this package are the single source of truth for the CRDs: ``crdgen`` walks them and
reads the :class:`Crd` markers attached with ``typing.Annotated`` and the class-level ``crd_rules``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AliasGenerator, BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from rayjob_operator.model import k8s_time


@dataclasses.dataclass(frozen=True)
class Rule:
    """One validation rule: a stable id, the message users see, and its CEL form where CEL can say it.

    The same message is produced by the API server (from ``x-kubernetes-validations``) and by the
    controller's ``validate_rayjob``; rules without CEL are checked by the controller only.
    """

    id: str
    message: str
    cel: str | None = None
    field_path: str | None = None
    """Where the API server reports the error, relative to the object the rule is attached to."""

    def schema(self) -> dict[str, str]:
        if self.cel is None:
            raise ValueError(f"rule {self.id} has no CEL form")
        out = {"rule": self.cel, "message": self.message}
        if self.field_path:
            out["fieldPath"] = self.field_path
        return out


@dataclasses.dataclass(frozen=True)
class Crd:
    """Schema details of one field that Python types cannot carry."""

    publish_default: bool = False
    """Publish the field's Python default as the CRD default (the API server then fills it in)."""
    enum: bool = False
    """For an Enum-typed field: restrict the CRD to the enum's values."""
    opaque: bool = False
    """Keep the field's content as given (``x-kubernetes-preserve-unknown-fields``)."""
    int64: bool = False
    min_items: int | None = None
    max_items: int | None = None
    rules: tuple[Rule, ...] = ()
    atomic: bool = False
    """``x-kubernetes-list-type: atomic`` (the list is replaced as a whole on apply)."""
    schema: dict[str, Any] | None = dataclasses.field(default=None, hash=False, compare=False)
    """A literal schema for the field (e.g. Kubernetes defaults inside otherwise opaque containers)."""


def split_annotated(tp: Any) -> tuple[Any, list[Crd]]:
    """Strip ``Annotated`` and ``X | None`` wrappers, collecting the Crd markers on the way."""
    markers: list[Crd] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp, *meta = typing.get_args(tp)
            markers.extend(m for m in meta if isinstance(m, Crd))
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"unsupported union {tp!r}")
            tp = args[0]
        else:
            return tp, markers


def merge_markers(markers: list[Crd]) -> Crd:
    out = Crd()
    for m in markers:
        out = Crd(
            publish_default=out.publish_default or m.publish_default,
            enum=out.enum or m.enum,
            opaque=out.opaque or m.opaque,
            int64=out.int64 or m.int64,
            min_items=m.min_items if m.min_items is not None else out.min_items,
            max_items=m.max_items if m.max_items is not None else out.max_items,
            rules=out.rules + m.rules,
            atomic=out.atomic or m.atomic,
            schema=m.schema if m.schema is not None else out.schema,
        )
    return out


Time = Annotated[datetime, PlainSerializer(k8s_time.format_time, return_type=str)]
"""A Kubernetes ``metav1.Time``: RFC 3339 in UTC with second precision."""

Opaque = Annotated[dict[str, Any], Crd(opaque=True)]
"""A sub-tree passed through unchanged (pod templates, KubeRay options we do not interpret)."""


def _alias(name: str) -> str:
    return to_camel(name)


class KubeModel(BaseModel):
    """Base of every API model: camelCase on the wire, immutable, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(alias=_alias),
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=False,
    )

    crd_rules: ClassVar[tuple[Rule, ...]] = ()
    """Cross-field rules attached to this object's schema (``x-kubernetes-validations``)."""
    crd_preserve_unknown: ClassVar[bool] = False
    """Keep fields the model does not declare (KubeRay fields this operator does not interpret)."""

    def to_dict(self) -> dict[str, Any]:
        """The wire form: only the fields that were set, with their API names."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class OpenModel(KubeModel):
    """A model that keeps fields it does not declare, for objects whose full schema we do not own."""

    model_config = ConfigDict(extra="allow")
    crd_preserve_unknown: ClassVar[bool] = True


class ObjectMeta(OpenModel):
    """The subset of ``metav1.ObjectMeta`` the operator reads; every other field is kept as is."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None
    owner_references: list[dict[str, Any]] | None = None
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None
