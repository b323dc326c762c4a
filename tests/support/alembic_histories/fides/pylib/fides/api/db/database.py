"""Shim of fides.api.db.database: env.py passes include_object to context.configure, which only
autogenerate consults."""


def include_object(object, name, type_, reflected, compare_to):  # noqa: A002
    return True
