"""Accord: a real-time server for mediated sessions."""

__version__ = "0.1.0"
PROTOCOL_VERSION = 3
