"""Stage 1: seed questions -> concepts (LLM) -> weighted concept graph -> concept compositions.

- :mod:`~mathscale.graph.extract`: prompt, schema and the extraction stage;
- :mod:`~mathscale.graph.normalize`: folding of concept names, optional embedding merge;
- :mod:`~mathscale.graph.build`: the networkx graph, its file format and checks;
- :mod:`~mathscale.graph.sampler`: MathScale's random walk over precomputed tables;
- :mod:`~mathscale.graph.stats` / :mod:`~mathscale.graph.plot`: looking at a graph;
- :mod:`~mathscale.graph.commands`: the ``mathscale graph ...`` command handlers.
"""
