"""Shim of fides.api.models.sql_models.

Base: env.py's target_metadata, which only autogenerate reads (so: no models).
sql_model_map: imported, never used, by 7c851d8a102a.
DataUse: f17f92237383 expands the data uses of existing rows with DataUse.get_parent_uses_from_key.
"""

from typing import Dict, Set

from sqlalchemy.orm import declarative_base

Base = declarative_base()

sql_model_map: Dict = {}


class DataUse:
    # from the archive: fides/api/models/sql_models.py DataUse.get_parent_uses_from_key
    pass
