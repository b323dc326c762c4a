"""Shim of fides.api.models.privacy_notice: ConsentMechanism, whose members f9b28f36b53e turns into
a PostgreSQL enum type."""

from enum import StrEnum

# from the archive: fides/api/models/privacy_notice.py ConsentMechanism
