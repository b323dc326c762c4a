"""Shim of fides.api.migrations.post_upgrade_index_creation: the row count above which 3ff6449c099e
leaves its indexes to the application's post-upgrade job."""

# from the archive: fides/api/migrations/post_upgrade_index_creation.py INDEX_ROW_COUNT_THRESHOLD
