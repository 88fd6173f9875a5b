"""Test doubles that the test suite and the benchmarks share: not used by any command.

- :mod:`mathscale.testing.fake_server`: a local OpenAI-compatible endpoint with scripted
  replies and injectable faults (the strict request checks live in ``tests/openai_strict.py``);
- :mod:`mathscale.testing.tiny`: tiny transformers models and arithmetic samples built from a
  config, for training and evaluation runs that take seconds.
"""
