"""Shim of fides.api.models.asset: c9c72b3d550b makes Asset objects from existing cookie rows only."""


class Asset:
    def __init__(self, **kwargs):
        raise NotImplementedError(
            "fides.api.models.asset.Asset is a shim (tests/support/alembic_histories/fides): "
            "the cookie-to-asset data migration needs the application's model"
        )
