"""mathscale: the MathScale method (Tang et al., ICML 2024) as a toolkit you can run.

The folder listing is the pipeline: ``graph`` (extract concepts, build the graph, random
walks) → ``generate`` (QA synthesis and filters) → ``train`` (DeepSpeed fine-tuning) →
``eval`` (MWPBench). Shared pieces sit at this level: ``records``, ``io``, ``config`` and
the one LLM client in ``llm``.
"""

__version__ = "0.1.0"
