"""Shim of langflow.services.database.service: env.py takes SQLModel.metadata as target_metadata,
which only autogenerate reads (so: sqlmodel's own SQLModel, without the application's models)."""

from sqlmodel import SQLModel

__all__ = ["SQLModel"]
