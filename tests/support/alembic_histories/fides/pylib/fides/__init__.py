"""Shim of the fides package for running its Alembic history outside the application.

Only what fides/api/alembic/migrations/env.py and the revision files import is here; see
tests/support/alembic_histories/README.md. Definitions that shape the schema (enums, column types,
constants) are the application's own, taken from the wheel at set-up time.
"""
