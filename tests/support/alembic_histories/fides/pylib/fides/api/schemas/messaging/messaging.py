"""Shim of fides.api.schemas.messaging.messaging: MessagingActionType, whose values 5f96f13be8ec uses."""

from enum import StrEnum

# from the archive: fides/api/schemas/messaging/messaging.py MessagingActionType
