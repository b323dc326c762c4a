"""Shim package (see langflow/__init__.py)."""
