"""Shim package: the application's imports every model. d4a7c9e1b2f6 loads the current CatalogPolicyRule
model (catalog_policy/, the wheel's own) to check the table it creates, even on an empty database."""
