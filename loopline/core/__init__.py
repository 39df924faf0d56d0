"""Core: types and casting, serialization, hashing and records. Imports nothing above it."""

from loopline.core import codecs as _codecs  # noqa: F401 - installs the built-in codecs
