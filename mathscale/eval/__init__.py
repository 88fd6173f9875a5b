"""MWPBench evaluation: answer grading, metrics and the ``grade`` command (issue 5)."""
