"""Builds paperwire's one C module, ``paperwire/text/_scan.c`` (everything else is in
pyproject.toml). Optional: where it cannot be compiled the install goes on, and
snippets run their pure-Python definitions (``paperwire.text.snippets``)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("paperwire.text._scan", ["paperwire/text/_scan.c"], optional=True),
    ]
)
