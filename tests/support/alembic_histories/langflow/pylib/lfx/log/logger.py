"""Shim of lfx.log.logger: the callers use logger.debug/info/warning/error/exception only."""

import logging

logger = logging.getLogger("lfx")
