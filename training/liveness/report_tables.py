"""Markdown tables for the model card from a runtime evaluation report (no numbers typed by hand).

python training/liveness/report_tables.py training/liveness/report/runtime_eval_liveness.json
"""

from __future__ import annotations

import json
import sys
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


if __name__ == "__main__":
    main(sys.argv[1])
