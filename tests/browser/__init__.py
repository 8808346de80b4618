"""Checks of the integration's UI in a real browser, against a real Home Assistant."""
