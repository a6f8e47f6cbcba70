"""Configuration: one TOML file, validated in one readable pass.

    from mendcrm.config import load_config
    config = load_config()            # --config, then $MENDCRM_CONFIG, then the user config dir
    config.sync.lookahead_days        # typed, validated, defaults filled in

Errors are :class:`mendcrm.errors.ConfigError`: one line naming the file, the key and the fix.
"""

from mendcrm.config.load import config_path, load_config
from mendcrm.config.model import AccountConfig, Config, FeedConfig
from mendcrm.config.paths import default_config_path, default_store_path

__all__ = [
    "AccountConfig",
    "Config",
    "FeedConfig",
    "config_path",
    "default_config_path",
    "default_store_path",
    "load_config",
]
