"""Shim of langflow.schema.serialize, which re-exports lfx.schema.serialize (lfx 1.13.0, a dependency
of langflow-base): UUIDstr, the id type of the CatalogPolicyRule model."""

from typing import Annotated
from uuid import UUID

from pydantic import BeforeValidator


def str_to_uuid(v: str | UUID) -> UUID:
    if isinstance(v, str):
        return UUID(v)
    return v


UUIDstr = Annotated[UUID, BeforeValidator(str_to_uuid)]
