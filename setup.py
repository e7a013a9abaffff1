"""Build the compiled Go engine; all package metadata lives in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("games.go._core", ["games/go/_core.c"], extra_compile_args=["-O3"])])
