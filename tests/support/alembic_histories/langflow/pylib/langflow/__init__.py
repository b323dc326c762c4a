"""Shim of the langflow package for running its Alembic history outside the application.

The application's __init__ installs import hooks forwarding langflow.* to the lfx package; the
migrations need none of that. langflow/alembic/*.py and langflow/utils/migration.py are the wheel's
own; see tests/support/alembic_histories/README.md.
"""
