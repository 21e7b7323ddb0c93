"""Markdown tables for the model card from a runtime evaluation report (no numbers typed by hand).

python training/liveness/report_tables.py training/liveness/report/runtime_eval_liveness.json
python training/liveness/report_tables.py --sweep REPORT [REPORT ...]   # operating points, one report per fold
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def not_judged(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "-"


def main(path: str) -> None:
    r = json.loads(Path(path).read_text())
    fl = r["frame_level"]
    print(f"threshold {r['threshold']}, score_ema {r['score_ema']}, rules {r['rules']}\n")
    print(
        "| live frames | frames | judged | BPCER runtime (judged) | BPCER raw model (frames with one face) | not judged |"
    )
    print("|---|---|---|---|---|---|")

    def row(name, d):
        print(
            f"| {name} | {d['frames']} | {d['judged']} | {pct(d['BPCER_runtime'])} | {pct(d['BPCER_raw'])} "
            f"| {not_judged(d['not_judged'])} |"
        )

    row("**all conditions pooled**", fl["live_all_conditions"])
    row("as recorded", fl["live_as_recorded"])
    for c, d in fl["per_condition"].items():
        if c != "as_recorded":
            row(c, d)
    for p, d in fl["per_subject_all_conditions"].items():
        row(f"subject {p}, all conditions" + (" (worst)" if p == fl["worst_subject"] else ""), d)
    for p, d in fl["per_subject_as_recorded"].items():
        row(f"subject {p}, as recorded", d)
    for g, d in fl["per_glasses_as_recorded"].items():
        row(f"{g.replace('_', ' ')}, as recorded", d)
    print()
    print("| attack frames | frames | judged | APCER runtime (judged) | APCER raw model | not judged |")
    print("|---|---|---|---|---|---|")
    for k, d in fl["attacks"].items():
        print(
            f"| {k} | {d['frames']} | {d['judged']} | {pct(d['APCER_runtime'])} | {pct(d['APCER_raw'])} "
            f"| {not_judged(d['not_judged'])} |"
        )
    print()
    print("| sessions | n | accepted | outcomes | median frames to decision |")
    print("|---|---|---|---|---|")
    for k, d in r["sessions"].items():
        print(
            f"| {k} | {d['sessions']} | {d['accepted']} | {not_judged(d['outcomes'])} | {d['median_frames_to_decision']:g} |"
        )
    t = r["session_totals"]
    print(
        f"\ngenuine accepted {t['genuine_accepted']} / {t['genuine_sessions']}, "
        f"attacks accepted {t['attacks_accepted']} / {t['attack_sessions']}"
    )
    print(f"DET operating point: {r['det_operating_point']}")
    print(f"sweep (raw): {json.dumps(r['sweep_raw'])}")
    print(f"command: {r['command']} ({r['seconds']} s)")


def sweep(paths: list[str]) -> None:
    """The raw model's operating points of several runtime evaluations side by side (e.g. one per
    held-out fold): at each threshold, the share of live frames called spoof (every capture
    condition) and of print / screen-replay frames called live."""
    reports = [json.loads(Path(p).read_text()) for p in paths]
    thresholds = sorted({t for r in reports for t in r["sweep_raw"]}, key=float)
    kinds = ("BPCER_raw_live_all", "APCER_raw_print", "APCER_raw_screen")
    names = {
        "BPCER_raw_live_all": "live wrong",
        "APCER_raw_print": "print accepted",
        "APCER_raw_screen": "screen accepted",
    }
    head = [f"{names[k]} ({', '.join(r['val_subjects'])})" for r in reports for k in kinds]
    print("| threshold | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(head))
    for t in thresholds:
        cells = [pct(r["sweep_raw"].get(t, {}).get(k)) for r in reports for k in kinds]
        print(f"| {t} | " + " | ".join(cells) + " |")
    for p, r in zip(paths, reports, strict=True):
        print(f"{p}: model {r['model']}; {r['command']}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", help="runtime_eval_*.json written by evaluate.py")
    ap.add_argument(
        "--sweep", action="store_true", help="the raw model's operating points of every report side by side"
    )
    args = ap.parse_args()
    if args.sweep:
        sweep(args.reports)
    else:
        for report in args.reports:
            main(report)
