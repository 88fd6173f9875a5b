"""Why an attempt did not become a sample: the drop reasons, each spelled once.

A reason is the ``reason`` of a ``SAMPLES.drops.jsonl`` line and a key of the report's
``dropped`` counts. Three kinds, so that each has one home:

- :class:`DropReason`: the pipeline's own checks (duplicates, decontamination, the quality
  score, the consensus vote, a repeated composition);
- the per-sample filters' names (:data:`mathscale.generate.filters.FILTERS`: ``missing_answer``,
  ``question_too_long`` …), declared with the filter itself;
- :func:`llm_failure`: a reply the client could not use, ``llm_`` + its error (``llm_parse``,
  ``llm_http_400`` …).

A ``DropReason`` is a ``str`` whose value is what goes on disk, so a reason read back from a
file compares (and counts, in a ``Counter``) equal to the member:

>>> DropReason.EXACT_DUPLICATE == "exact_duplicate", f"{DropReason.EXACT_DUPLICATE}"
(True, 'exact_duplicate')
"""

from __future__ import annotations

from enum import Enum


class DropReason(str, Enum):
    """The pipeline's own drop reasons (the filters' are their names in ``filters.FILTERS``)."""

    EXACT_DUPLICATE = "exact_duplicate"  # the same question as an earlier kept sample, after normalising
    NEAR_DUPLICATE = "near_duplicate"  # MinHash-similar to an earlier kept sample (generate/dedup.py)
    CONTAMINATED = "contaminated"  # shares an n-gram with a benchmark question (generate/decontaminate.py)
    QUALITY_FAILED = "quality_failed"  # the rating request gave no usable score
    LOW_QUALITY = "low_quality"  # rated below quality.threshold
    CONSENSUS_FAILED = "consensus_failed"  # no solver gave an answer to vote with
    WEAK_MAJORITY = "weak_majority"  # the winning answer's share is below consensus.threshold
    REPEATED_COMPOSITION = "repeated_composition"  # skipped before its request (generate/repeated_walks.py)
    UNKNOWN = "unknown"  # a drops line with no reason (read back, never written by mathscale)

    # The value, not "DropReason.X", wherever a reason is formatted (summary lines, the card),
    # on every Python version (3.11 changed what format() gives for a mixed-in Enum).
    __str__ = str.__str__
    __format__ = str.__format__


LLM_PREFIX = "llm_"


def llm_failure(error: str) -> str:
    """The drop reason of a reply that failed with ``error`` (``mathscale.llm.client.Result.error``).

    >>> llm_failure("parse")
    'llm_parse'
    """
    return LLM_PREFIX + error
