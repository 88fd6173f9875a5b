"""The evaluation stage: MWPBench benchmarks in, a model's graded answers and its scores out.

``eval`` (:mod:`~mathscale.eval.command`) generates answers with a backend (hf, vllm, openai),
grades them with both graders and writes ``predictions/``, ``metrics.json`` and ``results.md``;
``grade`` (:mod:`~mathscale.eval.grade_command`) regrades a JSONL of completions. The grader
(:mod:`~mathscale.eval.grader`) has two modes: ours and the official MWPBench check.
"""
