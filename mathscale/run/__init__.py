"""Closing the loop: ``run`` (extract -> build -> generate -> train -> eval) and ``scale`` (a curve)."""
