"""Shim of fides.api.schemas.policy: ActionType, for migrations/helpers/fideslang_migration_functions.py."""

from enum import StrEnum

# from the archive: fides/api/schemas/policy.py ActionType
