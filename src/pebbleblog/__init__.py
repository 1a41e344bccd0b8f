"""pebbleblog: a small-site blog engine with moderated comments."""

from pebbleblog.app import create_app
from pebbleblog.settings import Settings, SettingsError, load_settings

__version__ = "0.1.0"

__all__ = ["Settings", "SettingsError", "__version__", "create_app", "load_settings"]
