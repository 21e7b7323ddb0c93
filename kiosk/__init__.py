"""Accessible human-verification kiosk."""

__version__ = "0.1.0"
