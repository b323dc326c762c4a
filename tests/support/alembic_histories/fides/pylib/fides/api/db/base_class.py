"""Shim of fides.api.db.base_class: JSONTypeOverride, the inner type of encrypted columns."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy_utils import JSONType

from fides.api.util.custom_json_encoder import CustomJSONEncoder, _custom_decoder

# from the archive: fides/api/db/base_class.py JSONTypeOverride
