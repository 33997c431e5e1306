"""Project settings: hooks, configuration loader and session store."""

from kedro.config import OmegaConfigLoader

from marvel_mlops.hooks import LineageHooks, SparkHooks

HOOKS = (SparkHooks(), LineageHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env> overrides single keys of a pipeline's parameters instead of replacing
    # the whole top-level block.
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "spark": ["spark*", "spark*/**"],
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
    },
}
