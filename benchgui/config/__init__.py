"""Configuration: one TOML file (see ``resources/config.example.toml``) plus secrets."""

from benchgui.config.loader import LoadedConfig, load_config, load_secrets
from benchgui.config.schema import Config

__all__ = ["Config", "LoadedConfig", "load_config", "load_secrets"]
