"""The model: features, training helpers, metrics and the registered pyfunc."""
