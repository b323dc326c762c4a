"""Shim package (see lfx/__init__.py)."""
