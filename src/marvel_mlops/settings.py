"""Project settings: hooks, configuration loader and session store."""

from kedro.config import OmegaConfigLoader

from marvel_mlops.hooks import LineageHooks, SparkHooks

HOOKS = (SparkHooks(), LineageHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "spark": ["spark*", "spark*/**"],
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
    },
}
