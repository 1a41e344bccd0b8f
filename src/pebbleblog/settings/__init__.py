"""Site settings: declared in :mod:`.schema`, loaded and validated by :mod:`.loading`."""

from pebbleblog.settings.loading import describe_settings, load_settings
from pebbleblog.settings.schema import (
    BUILTIN_THEMES,
    CONFIG_FILE,
    SITE_DIR_ENV,
    CommentsSection,
    ContactSection,
    FooterSection,
    NavLink,
    ServerSection,
    Settings,
    SettingsError,
    SiteSection,
)

__all__ = [
    "BUILTIN_THEMES",
    "CONFIG_FILE",
    "SITE_DIR_ENV",
    "CommentsSection",
    "ContactSection",
    "FooterSection",
    "NavLink",
    "ServerSection",
    "Settings",
    "SettingsError",
    "SiteSection",
    "describe_settings",
    "load_settings",
]
