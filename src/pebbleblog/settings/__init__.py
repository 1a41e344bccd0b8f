"""Site settings: declared in :mod:`.schema`, loaded and validated by :mod:`.loading`."""

from pebbleblog.settings.loading import describe_settings, load_settings, with_overrides
from pebbleblog.settings.schema import (
    BUILTIN_THEMES,
    CONFIG_FILE,
    SITE_DIR_ENV,
    AdminSection,
    CommentsSection,
    ContactSection,
    FooterSection,
    MailSection,
    NavLink,
    ServerSection,
    Settings,
    SettingsError,
    SiteSection,
)

__all__ = [
    "AdminSection",
    "MailSection",
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
    "with_overrides",
]
