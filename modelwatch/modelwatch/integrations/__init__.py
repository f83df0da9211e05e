"""Framework helpers, each imported on its own so that only what you use must be installed:
`modelwatch.integrations.torch`, `modelwatch.integrations.keras`,
`modelwatch.integrations.opencv`."""
