"""Feature tables keyed by ``page_id`` with an event timestamp: definitions, checks and
point-in-time lookups shared by the feature_engineering and training pipelines."""
