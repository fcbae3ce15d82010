"""Text views of run records: the summary matrix, one run in detail, two runs compared."""

from __future__ import annotations

from .results import RunRecord, compare_runs


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def matrix_text(rec: RunRecord) -> str:
    """Scenarios as rows; per variant: pass rate, mean latency, tokens."""
    variants = rec.variant_names()
    head = ["scenario"]
    for v in variants:
        head += [f"{v} pass", "ms", "tok"]
    rows = [head]
    for s in rec.scenarios():
        row = [s]
        for v in variants:
            cases = rec.cases_of(v, s)
            ms = sum(c.mean_latency_ms for c in cases) / len(cases) if cases else None
            tok = sum(c.tokens for c in cases) / len(cases) if cases else None
            row += [_pct(rec.cell(v, s)), "-" if ms is None else f"{ms:.0f}",
                    "-" if tok is None else f"{tok:.0f}"]
        rows.append(row)
    score = ["suite score (weighted)"]
    for v in variants:
        score += [_pct(rec.score(v)), "", ""]
    rows.append(score)
    return _table(rows)


def run_header(rec: RunRecord) -> str:
    versions = ", ".join(f"{v.name} v{v.config_version}" if v.config_version is not None
                         else v.name for v in rec.variants)
    return (f"run {rec.run_id}  suite {rec.suite_name} ({rec.suite_hash})  {rec.status}\n"
            f"variants: {versions}; repeats {rec.repeats}, seed {rec.seed}; {rec.lanes_note}"
            + (f"\npreference pairs stored: {rec.preference_pairs}" if rec.preference_pairs
               else "")
            + (f"\nerror: {rec.error}" if rec.error else ""))


def detail_text(rec: RunRecord) -> str:
    """Every case with its verdicts and the judge's reasoning."""
    out = [run_header(rec), "", matrix_text(rec), ""]
    for c in rec.cases:
        mark = "PASS" if c.passed else "FAIL"
        out.append(f"[{mark}] {c.variant} / {c.scenario} #{c.repeat} "
                   f"({c.ended_by}, moment {c.moment_id})" + (f" error: {c.error}"
                                                              if c.error else ""))
        for i, t in enumerate(c.turns):
            out.append(f"    {i + 1}. > {t.said}")
            out.append(f"       < {t.answer}  ({t.latency_ms:.0f} ms)")
        for v in c.verdicts:
            where = "" if v.turn is None else f" (line {v.turn + 1})"
            out.append(f"    {'ok ' if v.passed else 'NO '} {v.name}{where}"
                       + (f": {v.detail}" if v.detail else ""))
            if v.reasoning:
                out.append(f"         judge: {v.reasoning[:300]}")
    for p in rec.pairwise:
        out.append(f"pairwise {p.scenario} #{p.repeat}: {p.a} vs {p.b} -> {p.winner} "
                   f"(orders: {p.first}/{p.second})")
    return "\n".join(out)


def compare_text(a: RunRecord, b: RunRecord) -> str:
    rows = [["variant / scenario", f"{a.run_id[:8]}", f"{b.run_id[:8]}", "change"]]
    for ch in compare_runs(a, b):
        rows.append([f"{ch.variant} / {ch.scenario}", _pct(ch.before), _pct(ch.after),
                     ch.label if ch.delta is None or ch.label == "same"
                     else f"{ch.label} ({ch.delta:+.0%})"])
    for v in dict.fromkeys([*a.variant_names(), *b.variant_names()]):
        rows.append([f"{v} / suite score", _pct(a.score(v)), _pct(b.score(v)), ""])
    return _table(rows)
