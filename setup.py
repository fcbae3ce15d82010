"""The package is declared in pyproject.toml; this file only adds the optional C part of
the MDL writer (moments_core/mdl/_writer.c). ``optional=True``: where it cannot be built
(no compiler), the install goes on and the writer runs its Python loop instead."""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "moments_core.mdl._writer", ["moments_core/mdl/_writer.c"],
    optional=True,
)])
