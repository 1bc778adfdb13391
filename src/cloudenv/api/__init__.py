"""HTTP: the product's REST API under /api, parsed into schemas and handed to services."""
