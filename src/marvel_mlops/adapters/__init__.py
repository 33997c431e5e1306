"""Platform adapters: Spark sessions, Delta storage, registries, serving endpoints."""
