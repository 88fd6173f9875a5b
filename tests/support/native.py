"""Native engines (llama.cpp) used by tests run in a child process, so that a crash of the
native code fails the one test that used it, with its message, instead of ending pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mathscale.llm.local import describe_exit

_COMPLETIONS = """
import json, sys
from llama_cpp import Llama
job = json.load(sys.stdin)
llm = Llama(model_path=job["model"], n_ctx=job["n_ctx"], n_threads=job["threads"], verbose=False)
texts = [llm.create_completion(p, max_tokens=job["max_tokens"], temperature=0.0, stop=job["stop"])["choices"][0]["text"]
         for p in job["prompts"]]
json.dump(texts, sys.stdout)
"""


def llama_completions(model: Path, prompts: list[str], *, n_ctx: int, max_tokens: int, stop: list[str],
                      timeout_s: float = 600) -> list[str]:  # fmt: skip
    """Greedy completions of ``prompts`` by llama.cpp in-process, in a child process."""
    job = {"model": str(model), "prompts": prompts, "n_ctx": n_ctx, "max_tokens": max_tokens, "stop": stop,
           "threads": os.cpu_count() or 1}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", _COMPLETIONS], input=json.dumps(job), capture_output=True,
                          text=True, timeout=timeout_s)  # fmt: skip
    if proc.returncode != 0:
        raise AssertionError(f"llama.cpp in a child process {describe_exit(proc.returncode)}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)
