"""The test suite: one folder per stage of the package (``tests/graph/`` tests ``mathscale/graph/``),
what spans stages at the top, shared helpers and test doubles in ``tests/support/``.

Every folder is a package, so that pytest imports each test module by its dotted name from the
repository root and ``tests.support`` imports from any test (and from ``bench/``).
"""
