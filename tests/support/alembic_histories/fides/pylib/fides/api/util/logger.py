"""Shim of fides.api.util.logger: env.py calls setup(CONFIG) to configure the application's logging."""


def setup(config):
    return None
