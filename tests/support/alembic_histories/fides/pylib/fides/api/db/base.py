"""Shim of fides.api.db.base: DatasetConfig, which 7abe778b7082 lists (to rewrite the data categories of
existing datasets) in a session of its own.

Only the columns that migration reads. From an empty database the query fails, as the application's
does: the table Alembic's still-open transaction has made is not visible to the other connection, and
the migration ignores that ProgrammingError.
"""

from sqlalchemy import Column, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class DatasetConfig(Base):
    __tablename__ = "datasetconfig"

    id = Column(String(255), primary_key=True)
    dataset = Column(JSONB)

    @classmethod
    def all(cls, db):
        return db.query(cls).all()
