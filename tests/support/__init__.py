"""Test doubles that the test suite and the benchmarks share; they are not part of the package.

- :mod:`tests.support.fake_server`: a local OpenAI-compatible endpoint with scripted
  replies and injectable faults (the strict request checks live in ``tests/openai_strict.py``);
  :mod:`tests.support.fake_endpoint` runs it as a process of its own;
- :mod:`tests.support.tiny`: tiny transformers models and arithmetic samples built from a
  config, for training and evaluation runs that take seconds.

The benchmarks import them with the repository root on ``sys.path`` (``bench/*.py`` put it there).
"""
