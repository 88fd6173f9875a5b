"""Running a command's LLM work on a Ray cluster (``executor: ray``): settings and the connection."""
