"""Shim of fides.api.db.seed: the policy rule keys migrations/helpers/fideslang_migration_functions.py uses."""

# from the archive: fides/api/db/seed.py DEFAULT_ACCESS_POLICY_RULE DEFAULT_ERASURE_POLICY_RULE
