"""Builds paperwire's two C modules (everything else is in pyproject.toml):
``paperwire/text/_scan.c``, the snippets' loops, and ``paperwire/index/_int8.c``, the
int8 bounds' product. Both optional: where they cannot be compiled the install goes on,
snippets run their pure-Python definitions (``paperwire.text.snippets``) and the
product runs in ONNX Runtime (``paperwire.index.prescan``)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("paperwire.text._scan", ["paperwire/text/_scan.c"], optional=True),
        Extension("paperwire.index._int8", ["paperwire/index/_int8.c"], optional=True),
    ]
)
