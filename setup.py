"""Build the compiled extensions; all package metadata lives in pyproject.toml.

- games.go._core: the Go rules engine.
- agents.alphazero._puct: the PUCT search's walk and backup. No fused
  multiply-adds, so its statistics equal the numpy formulas' to the last bit.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("games.go._core", ["games/go/_core.c"], extra_compile_args=["-O3"]),
    Extension("agents.alphazero._puct", ["agents/alphazero/_puct.c"],
              extra_compile_args=["-O3", "-ffp-contract=off"]),
])
