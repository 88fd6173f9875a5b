"""Stage 1: seed questions -> concepts (LLM) -> weighted concept graph -> concept compositions.

- :mod:`~mathscale.graph.extract`: prompt, schema and the extraction stage;
- :mod:`~mathscale.graph.normalize`: folding of concept names, optional embedding merge;
- :mod:`~mathscale.graph.build`: the networkx graph, its file format and checks;
- :mod:`~mathscale.graph.sampler`: MathScale's random walk over precomputed tables;
- :mod:`~mathscale.graph.unique`: which walks repeat a composition; unique rate, novelty, coverage;
- :mod:`~mathscale.graph.stats` / :mod:`~mathscale.graph.plot` / :mod:`~mathscale.graph.diversity`: looking at a graph;
- :mod:`~mathscale.graph.config`: the commands' configs and :class:`~mathscale.graph.config.WalkConfig`;
- :mod:`~mathscale.graph.command`: ``extract_main``, ``build_main``, ``stats_main``, ``plot_main`` and
  ``sample_main``, each ``(config) -> result``;
- :mod:`~mathscale.graph.cli`: the ``mathscale graph ...`` arguments -> those configs.
"""
