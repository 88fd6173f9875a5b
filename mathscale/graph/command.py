"""The ``mathscale graph ...`` commands: config -> stage -> files, a summary and a result.

``extract_main(ExtractConfig)``, ``build_main(BuildConfig)``, ``stats_main(StatsConfig)``,
``plot_main(GraphPlotConfig)``, ``sample_main(SampleConfig)``; ``run`` calls the first two
in-process. Side files sit beside each output: ``X.failures.jsonl``, ``X.report.json`` and
``X.usage.json`` for ``extract`` (every invocation's LLM usage; the report holds the total),
``X.merges.json`` for ``build`` (unless ``mapping`` names another file), ``X.report.json`` for
``sample``.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.config import parse_shard, require
from mathscale.errors import DataError, MathscaleError, PendingError
from mathscale.graph.config import BuildConfig, ExtractConfig, GraphPlotConfig, SampleConfig, StatsConfig
from mathscale.io import (
    JsonlWriter,
    atomic_open,
    atomic_write_json,
    check_output_path,
    done_ids,
    read_jsonl,
    read_records,
    side_file,
)
from mathscale.ownership import owned_output, refuse_foreign
from mathscale.records import Composition, Concepts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractResult:
    out: Path  # the concept records (all of them, this invocation's and earlier ones')
    report: Path  # X.report.json
    failures: Path  # X.failures.jsonl: the seeds that gave no record, with the reason
    extracted: int  # records written by this invocation
    already_done: int  # seeds already in ``out`` when it started (a resumed run)
    failed: int  # seeds listed in ``failures``


def extract_main(cfg: ExtractConfig) -> ExtractResult:
    """Seed questions -> concept records (LLM), resuming what ``cfg.out`` already holds."""
    require(cfg, {"seeds": "SEEDS", "out": "--out"})
    out = check_output_path(cfg.out)
    with owned_output(out, inputs={"SEEDS": cfg.seeds}, appended=[out]):
        return _extract(cfg)


def _extract(cfg: ExtractConfig) -> ExtractResult:
    from mathscale.graph.extract import Failure, check_seeds, extract_concepts, load_prompt
    from mathscale.graph.normalize import generic_reason
    from mathscale.llm.client import is_transport, open_client
    from mathscale.llm.usage_totals import InvocationLog, invocations, read_usage, total

    require(cfg, {"seeds": "SEEDS", "out": "--out"})
    out = check_output_path(cfg.out)
    failures_path, report_path = side_file(out, ".failures.jsonl"), side_file(out, ".report.json")
    template = load_prompt(cfg.prompt)
    done = done_ids(out)
    if done:
        _check_same_prompt(out, template.name)
    lines = read_jsonl(cfg.seeds)
    items = list(itertools.islice(lines, cfg.limit) if cfg.limit > 0 else lines)
    if not items:
        raise DataError(f"{cfg.seeds}: the file holds no records")
    seeds, failures = [], []
    for item in check_seeds(items, skip=done):
        (failures if isinstance(item, Failure) else seeds).append(item)
    already = len(items) - len(seeds) - len(failures)
    started = time.perf_counter()
    written = 0
    pending: list[Failure] = []  # seeds whose request failed in transport: asked again by a rerun, not failures
    usage: dict[str, Any] = {}
    usage_path = side_file(out, ".usage.json")
    if seeds:
        params = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
        with open_client(cfg.llm) as llm, JsonlWriter(out) as writer:
            usage_log = InvocationLog(usage_path, llm.usage.to_json)  # kept current: a killed run's requests count
            llm.on_account = usage_log.tick
            print(f"extracting {len(seeds)} seeds with {llm.model} ({already} already done)")
            try:
                for item in extract_concepts(seeds, llm, template, params, total=len(seeds)):
                    if isinstance(item, Failure):
                        (pending if is_transport(item.reason) else failures).append(item)
                    else:
                        writer.write(item)
                        written += 1
            finally:
                usage_log.write()
            print(llm.usage.summary())
        if not written and not done and out.stat().st_size == 0:
            out.unlink()  # the writer made it, and it holds nothing: leave no empty output behind
    usage = total(invocations(read_usage(usage_path)))  # every invocation on this output
    seconds = time.perf_counter() - started
    generic = {"topic": Counter(), "kp": Counter()}  # names in the whole file that graph build will drop
    for record in read_records(out, Concepts, allow_empty=True) if out.exists() else ():
        for kind, names in (("topic", record.topics), ("kp", record.knowledge_points)):
            generic[kind].update(r for r in map(generic_reason, names) if r)
    with atomic_open(failures_path) as handle:
        handle.writelines(json.dumps(f.to_json(), ensure_ascii=False) + "\n" for f in failures)
    reasons = Counter(f.reason for f in failures)
    report = {
        "seeds": str(cfg.seeds), "out": str(out), "prompt": template.name, "lines": len(items),
        "already_done": already, "extracted": written, "failed": sum(reasons.values()), "failures": dict(reasons),
        "pending": len(pending),
        "generic_names": {kind: dict(c) for kind, c in generic.items()},
        "seconds": round(seconds, 2), "seconds_per_seed": round(seconds / len(seeds), 3) if seeds else None,
        "usage": usage,
    }  # fmt: skip
    atomic_write_json(report_path, report)
    failed = ", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"
    if failures and not written and not already:
        raise MathscaleError(all_failed_message(cfg.seeds, seeds, failures, failed, failures_path))
    print(f"{written} concept records written to {out} ({already} already there); "
          f"{sum(reasons.values())} failed ({failed}), listed in {failures_path}; {seconds:.1f} s")  # fmt: skip
    if any(generic.values()):
        print(f"generic names that graph build will drop: {sum(generic['topic'].values())} topics, "
              f"{sum(generic['kp'].values())} knowledge points ({report_path})")  # fmt: skip
    if pending:
        why = Counter(p.reason for p in pending)
        raise PendingError(f"{out}: {len(pending)} of {len(items)} seeds are pending: their requests failed after the "
                           f"client's retries ({', '.join(f'{r} {n}' for r, n in why.most_common())}; first: "
                           f"{pending[0].detail[:120]}); rerun the same command when the endpoint works: it asks only "
                           "for the seeds not yet in the output")  # fmt: skip
    return ExtractResult(out=out, report=report_path, failures=failures_path, extracted=written,
                         already_done=already, failed=sum(reasons.values()))  # fmt: skip


def all_failed_message(seeds_path: str, asked: list[Any], failures: list[Any], reasons: str, failures_path: Path) -> str:
    """Why no concept record came out: every line was rejected, or every request failed."""
    example = next((f for f in failures if f.reason == failures[-1].reason), failures[-1])
    detail = example.detail or example.reason
    where = example.where or f"seed {example.id!r}"
    why = ("e.g. " + (detail if detail.startswith(where) else f"{where}: {detail}"))[:240]
    if not asked:
        return (f"{seeds_path}: none of its {len(failures)} lines is a usable seed ({reasons}; {why}); "
                f"each is listed in {failures_path}; a seed line is {{\"id\": ..., \"question\": ...}}")  # fmt: skip
    return (f"all {len(failures)} seeds failed, no concept record written ({reasons}; {why}); "
            f"each seed and its reason are in {failures_path}; fix the cause and rerun")  # fmt: skip


def _check_same_prompt(out: Path, prompt: str) -> None:
    """Resuming must not mix records of two prompt versions in one file."""
    for where, obj in read_jsonl(out):
        if isinstance(obj, dict) and obj.get("prompt") not in (None, prompt):
            raise MathscaleError(f"{where}: this file holds records made with prompt {obj.get('prompt')!r}, "
                                 f"not {prompt!r}; give another --out to start afresh, or "
                                 f"prompt={obj.get('prompt')} to go on with the old prompt")  # fmt: skip
        return


@dataclass(frozen=True)
class BuildResult:
    out: Path  # the graph
    mapping: Path  # every merge of names and every dropped name
    records: int  # concept records the graph was built from
    skipped: dict[str, int]  # records left out, by reason
    topics: int
    knowledge_points: int
    edges: int
    merges: int  # groups of spellings that became one concept


def build_main(cfg: BuildConfig) -> BuildResult:
    """Concept records -> weighted concept graph, and the list of merged and dropped names."""
    require(cfg, {"concepts": "CONCEPTS", "out": "--out"})
    out = check_output_path(cfg.out)
    mapping = check_output_path(cfg.mapping) if cfg.mapping else side_file(out, ".merges.json")
    with owned_output(out, inputs={"CONCEPTS": cfg.concepts}, also=[mapping]):
        refuse_foreign(out, _is_graph, cfg.force, "a graph written by graph build")
        refuse_foreign(mapping, _is_mapping, cfg.force, "a list of merges written by graph build")
        return _build(cfg, out, mapping)


def _is_graph(path: Path) -> bool:
    from mathscale.graph.build import load_graph

    try:
        return "normalisation" in load_graph(path).graph
    except MathscaleError:
        return False


def _is_mapping(path: Path) -> bool:
    obj = json.loads(path.read_text(encoding="utf-8"))
    return isinstance(obj, dict) and "concepts" in obj and "skipped" in obj


def _build(cfg: BuildConfig, out: Path, mapping: Path) -> BuildResult:
    from mathscale.graph.build import build_graph, save_graph
    from mathscale.graph.normalize import learn_normalizer, load_embedder

    records = list(read_records(cfg.concepts, Concepts))
    embed = load_embedder(cfg.embedding_model) if cfg.embedding_merge else None
    norm = learn_normalizer(records, fold_names=cfg.fold, embed=embed, threshold=cfg.embedding_threshold,
                            drop_generic=cfg.drop_generic)  # fmt: skip
    graph, skipped = build_graph(norm.apply(r) for r in records)
    if graph.number_of_nodes() == 0:
        raise DataError(f"{cfg.concepts}: no record names both a topic and a knowledge point; nothing to build")
    dropped = norm.dropped_counts()
    graph.graph["normalisation"] = json.dumps({"fold": cfg.fold, "embedding_merge": cfg.embedding_merge,
                                               "embedding_threshold": cfg.embedding_threshold,
                                               "drop_generic": cfg.drop_generic, "dropped": dropped})  # fmt: skip
    save_graph(graph, out)
    atomic_write_json(mapping, {**norm.mapping_json(), "concepts": str(cfg.concepts), "skipped": dict(skipped)})
    kinds = Counter(k for _, k in graph.nodes(data="kind"))
    skip_text = ", ".join(f"{r} {n}" for r, n in skipped.most_common()) or "none"
    print(f"{graph.graph['records']} of {len(records)} records used (skipped: {skip_text}); "
          f"{kinds['topic']} topics, {kinds['kp']} knowledge points, {graph.number_of_edges()} edges -> {out}")  # fmt: skip
    drop_text = "; ".join(f"{kind} {', '.join(f'{r} {n}' for r, n in c.items())}" for kind, c in dropped.items() if c)
    print(f"{len(norm.merges)} merges of names listed in {mapping}; generic names dropped: {drop_text or 'none'}")
    return BuildResult(out=out, mapping=mapping, records=graph.graph["records"], skipped=dict(skipped),
                       topics=kinds["topic"], knowledge_points=kinds["kp"], edges=graph.number_of_edges(),
                       merges=len(norm.merges))  # fmt: skip


@dataclass(frozen=True)
class StatsResult:
    stats: dict[str, Any]  # the figures printed (mathscale.graph.stats.graph_stats)


def stats_main(cfg: StatsConfig) -> StatsResult:
    """Print a graph's figures, as text or JSON."""
    from mathscale.graph.build import load_graph
    from mathscale.graph.stats import format_stats, graph_stats

    require(cfg, {"graph": "GRAPH"})
    stats = graph_stats(load_graph(cfg.graph), top=cfg.top, walks=cfg.walks, focus=cfg.focus, boost=cfg.boost)
    print(json.dumps(stats, indent=2, ensure_ascii=False) if cfg.json else format_stats(stats))
    return StatsResult(stats=stats)


@dataclass(frozen=True)
class GraphPlotResult:
    out: Path  # the image


def plot_main(cfg: GraphPlotConfig) -> GraphPlotResult:
    """Draw the topic subgraph and the most frequent concepts."""
    from mathscale.graph.build import load_graph
    from mathscale.graph.plot import plot_graph

    require(cfg, {"graph": "GRAPH", "out": "--out"})
    out = check_output_path(cfg.out)
    plot_graph(load_graph(cfg.graph), out, top=cfg.top)
    print(f"wrote {out}")
    return GraphPlotResult(out=out)


@dataclass(frozen=True)
class SampleResult:
    out: Path  # the compositions
    report: Path  # X.report.json: unique rate, novelty, coverage
    written: int  # compositions written
    indices: tuple[int, int]  # walk indices spanned, [first, end)
    walks: int  # walks taken (more than written with unique)


def sample_main(cfg: SampleConfig) -> SampleResult:
    """Random walks over a graph -> concept compositions (this shard's part, if sharded)."""
    require(cfg, {"graph": "GRAPH", "out": "--out"})
    out = check_output_path(cfg.out)
    with owned_output(out, inputs={"GRAPH": cfg.graph}):
        refuse_foreign(out, _is_compositions, cfg.force, "compositions written by graph sample")
        return _sample(cfg)


def _is_compositions(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    return isinstance(first, dict) and first.get("schema") == Composition.SCHEMA


def _sample(cfg: SampleConfig) -> SampleResult:
    import numpy as np

    from mathscale.graph.build import load_graph
    from mathscale.graph.focus import focus_line, focus_report, walk_sampler
    from mathscale.graph.unique import walk_report

    require(cfg, {"graph": "GRAPH", "out": "--out"})
    if cfg.n < 0:
        raise MathscaleError(f"-n {cfg.n}: the number of walks cannot be negative")
    cfg.walk.check()
    shard, count = parse_shard(cfg.shard)
    out = check_output_path(cfg.out)
    graph = load_graph(cfg.graph)
    started = time.perf_counter()
    base, sampler, focus = walk_sampler(graph, cfg.walk)
    lo, hi = cfg.n * shard // count, cfg.n * (shard + 1) // count
    seed_sets = graph.graph.get("seed_sets") or []
    if cfg.unique:  # n counts unique compositions: positions lo..hi-1 of the walk-ordered unique sequence
        indices, topics, kps, walks = unique_part(sampler, cfg.seed, lo, hi)
        report = walk_report(sampler, topics, kps, walks=walks, seed_sets=seed_sets, all_unique=True)
        report["unique_rate"] = round(len(indices) / walks, 6) if walks else 0.0  # of the walks taken
    else:
        indices = np.arange(lo, hi, dtype=np.int64)
        topics, kps = sampler.walk_arrays(cfg.seed, indices)
        report = walk_report(sampler, topics, kps, walks=hi - lo, seed_sets=seed_sets)
    report["written"] = len(indices)
    if focus is not None:
        report["focus"] = focus_report(base, sampler, focus, cfg.seed, indices, topics, kps)
    with atomic_open(out) as handle:
        for lines in composition_lines(sampler, cfg.seed, indices, topics, kps):
            handle.write(lines)
    seconds = time.perf_counter() - started
    span = [int(indices[0]), int(indices[-1]) + 1] if cfg.unique and len(indices) else [lo, hi]
    report = {"graph": str(cfg.graph), "out": str(out), "seed": cfg.seed, "n": cfg.n, "shard": f"{shard}/{count}",
              "indices": span, "start": cfg.walk.start, "unique_only": cfg.unique, **report, "seconds": round(seconds, 2)}  # fmt: skip
    report_path = side_file(out, ".report.json")
    atomic_write_json(report_path, report)
    novelty = f", novelty {report['novelty']:.3f}" if "novelty" in report else ""
    print(f"{report['written']} compositions (walks {span[0]}..{span[1] - 1}) -> {out}; unique rate {report['unique_rate']:.3f}"
          f"{novelty}; coverage: topics {report['topic_coverage']:.3f}, knowledge points {report['kp_coverage']:.3f}; "
          f"{seconds:.1f} s")  # fmt: skip
    if focus is not None:
        print(focus_line(report["focus"]))
    return SampleResult(out=out, report=report_path, written=report["written"],
                        indices=(span[0], span[1]), walks=report["walks"])  # fmt: skip


def unique_part(sampler: Any, seed: int, lo: int, hi: int) -> tuple[Any, Any, Any, int]:
    """Unique compositions ``lo .. hi-1`` of the walk-ordered sequence of first occurrences.

    The sequence is a pure function of (graph, seed): a shard walks from walk 0 up to its
    own end (walking is cheap next to writing), so shards concatenate to the whole output.
    Returns (walk indices, topic ids, kp ids, walks taken by this shard's part).
    """
    from mathscale.graph.unique import sample_unique

    indices, topics, kps = sample_unique(sampler, seed, hi)
    if len(indices) < hi:
        raise MathscaleError(f"-n {hi}: the graph yields only {len(indices)} unique compositions in "
                             f"{50 * max(hi, 1)} walks; ask for fewer with --unique, or sample without it")  # fmt: skip
    first_walk = int(indices[lo - 1]) + 1 if lo else 0
    walks = int(indices[hi - 1]) + 1 - first_walk if hi > lo else 0
    return indices[lo:hi], topics[lo:hi], kps[lo:hi], walks


def composition_lines(sampler: Any, seed: int, indices: Any, topics: Any, kps: Any, block: int = 1 << 16) -> Any:
    """The JSON lines of the compositions of walk arrays, a block of lines per string.

    Byte for byte ``json.dumps(comp.to_json(), ensure_ascii=False)`` per :class:`Composition`, built with
    whole-column string operations (2M lines in seconds, not a minute): names are encoded
    once, and a walk's ids fill its row from the left, so -1 padding only ever ends a list.
    """
    import numpy as np

    def columns(names: tuple[str, ...]) -> tuple[Any, Any]:
        encoded = [json.dumps(n, ensure_ascii=False) for n in names]
        first = np.array([*encoded, ""], dtype=object)  # id -1 picks the empty string
        rest = np.array([", " + e for e in encoded] + [""], dtype=object)
        return first, rest

    def joined(ids: Any, first: Any, rest: Any) -> Any:
        text = first[ids[:, 0]]
        for j in range(1, ids.shape[1]):
            text = text + rest[ids[:, j]]
        return text

    t_first, t_rest = columns(sampler.topics)
    k_first, k_rest = columns(sampler.kps)
    head = f'{{"schema": "{Composition.SCHEMA}", "index": '
    tail = f'], "seed": {json.dumps(seed)}}}\n'
    for lo in range(0, len(indices), block):
        index = np.asarray(indices[lo : lo + block]).astype(str).astype(object)
        text = head + index + ', "topics": [' + joined(topics[lo : lo + block], t_first, t_rest)
        text = text + '], "knowledge_points": [' + joined(kps[lo : lo + block], k_first, k_rest) + tail
        yield "".join(text.tolist())

