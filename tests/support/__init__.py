"""Helpers and test doubles that the tests share, some with the benchmarks; not part of the package.

- :mod:`tests.support.fake_server`: a local OpenAI-compatible endpoint with scripted
  replies and injectable faults; :mod:`tests.support.fake_endpoint` runs it as a process of
  its own; :mod:`tests.support.openai_strict` refuses what OpenAI's API refuses, and
  :mod:`tests.support.ray_endpoints` runs such endpoints for the Ray cluster tests;
- :mod:`tests.support.tiny`: tiny transformers models and arithmetic samples built from a
  config, for training and evaluation runs that take seconds;
- :mod:`tests.support.grader_tables` and :mod:`tests.support.grader_heldout`: grader cases
  (the tests assert the first; ``bench/bench_grader.py`` measures both);
- ``*_helpers``: what tests of one stage share (``generate`` against a fake endpoint, the
  ``train`` parser, a clean hub environment); :mod:`tests.support.native` runs llama.cpp in a
  child process.

Test modules import ``tests.support`` as a package (pytest puts the repository root on
``sys.path``); the benchmarks put the repository root on ``sys.path`` themselves.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the repository root: configs/, mathscale/, tests/data/
