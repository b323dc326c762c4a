"""Shim package (see fides/__init__.py)."""
