"""Step 5 (runtime venv): evaluate the exported TFLite model through the kiosk's own LivenessModel
on the subject-disjoint validation set; frame-level APCER/BPCER per attack type and a session-level
simulation of the kiosk's consecutive-frame rules.

    .venv/bin/python training/liveness/evaluate.py ../shared/datasets artifacts/liveness \
        [--model models/liveness.tflite] [--out training/liveness/report]

Frame level, at the threshold in the model's json:
  BPCER        live val frames scored as spoof
  BPCER_hard   the same live frames under one capture condition per recording (blur, bright light,
               under-exposure, colour cast, noise, JPEG) - the peer projects' false-reject complaints
  APCER_print  NUAA photo attacks of the val subjects scored live
  APCER_screen synthetic screen replays (augment.screen_replay) of the val subjects scored live
  APCER_screen_fine  the same with a finer, fainter pixel grid than any training sample (OOD)
Session level: each val recording is played as a kiosk session at 25 fps, forwards then backwards
(NUAA keeps ~5 fps samples of short clips), from 5 start offsets, until `real_frames` consecutive live
frames (accept), `spoof_frames` consecutive spoof frames (deny) or the timeout (deny) - the rules of
kiosk/session/engine.py. --ema A smooths the scores before the threshold (a proposal for the
engine, not what it does today).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))



def simulate_session(scores: np.ndarray, real_frames: int, spoof_frames: int, max_frames: int,
                     start: int = 0) -> tuple[str, int]:
    """Feed a ping-pong loop of per-frame live decisions to the consecutive-frame rules."""
    loop = np.concatenate([scores, scores[::-1][1:-1]]) if len(scores) > 2 else scores
    real = spoof = 0
    for n in range(max_frames):
        if loop[(start + n) % len(loop)]:
            real, spoof = real + 1, 0
        else:
            spoof, real = spoof + 1, 0
        if spoof >= spoof_frames:
            return "denied", n + 1
        if real >= real_frames:
            return "accepted", n + 1
    return "timeout", max_frames


def ema(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average of per-frame scores (alpha = weight of the newest frame)."""
    if not alpha:
        return x
    out, acc = np.empty_like(x), x[0]
    for i, v in enumerate(x):
        acc = alpha * v + (1 - alpha) * acc
        out[i] = acc
    return out


def sessions(kind_scores, rows, index, thr, real_frames, spoof_frames, max_frames, offsets=5, alpha=0.0):
    import valset

    rec = np.array([valset.recording_id(index, i) for i in rows])
    out = []
    for r in np.unique(rec):
        sel = np.where(rec == r)[0]
        order = sel[np.argsort(index["frame"][rows[sel]])]
        live = ema(kind_scores[order], alpha) >= thr
        for k in range(offsets):
            start = int(k * len(live) / offsets)
            verdict, n = simulate_session(live, real_frames, spoof_frames, max_frames, start)
            out.append({"recording": r, "start": start, "verdict": verdict, "frames": n})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "liveness.tflite")
    ap.add_argument("--meta", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "report")
    ap.add_argument("--real-frames", type=int, default=100)
    ap.add_argument("--spoof-frames", type=int, default=25)
    ap.add_argument("--timeout-s", type=float, default=40.0)
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--threshold", type=float, default=None, help="override the json's threshold")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="session level only: smooth scores with an EMA (weight of the newest frame) first")
    ap.add_argument("--tag", default="", help="suffix for the report file name")
    ap.add_argument("--update-meta", action="store_true",
                    help="write validated_recall and the session figures into the model's json")
    args = ap.parse_args()
    import data
    import valset
    from kiosk.vision.liveness import LivenessModel

    t0 = time.time()
    model = LivenessModel(args.model, args.meta)
    index = data.load_index(args.work)
    frames = data.load_frames(args.datasets, index)
    val = valset.build(frames, index, model.crop_scale, model.size[0], adjust=model.bbox_adjust)
    scores = {k: np.array([model.score_crop(c) for c in crops]) for k, (crops, _) in val.items()}
    thr = model.threshold if args.threshold is None else args.threshold
    report = {"model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model),
              "threshold": thr, "val_subjects": list(data.VAL_SUBJECTS),
              "frames": {k: int(len(v)) for k, v in scores.items()},
              "frame_level": data.frame_metrics(scores, thr),
              "mean_score": {k: float(v.mean()) for k, v in scores.items()},
              "sweep": {f"{t:.2f}": data.frame_metrics(scores, t) for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)}}
    max_frames = int(args.timeout_s * args.fps)
    sess = {}
    for kind in ("real", "real_hard", "print", "screen", "screen_fine"):
        crops, rows = val[kind]
        sess[kind] = sessions(scores[kind], rows, index, thr, args.real_frames, args.spoof_frames, max_frames,
                              alpha=args.ema)
    summary = {}
    for kind, runs in sess.items():
        verdicts = [r["verdict"] for r in runs]
        summary[kind] = {"sessions": len(runs), "recordings": len({r["recording"] for r in runs}),
                         "accepted": verdicts.count("accepted"), "denied": verdicts.count("denied"),
                         "timeout": verdicts.count("timeout"),
                         "median_frames_to_decision": float(np.median([r["frames"] for r in runs]))}
    report["session_level"] = {"rules": {"real_frames": args.real_frames, "spoof_frames": args.spoof_frames,
                                         "timeout_frames": max_frames, "score_ema_alpha": args.ema}, "summary": summary, "runs": sess}
    report["per_recording_mean_score"] = {}
    for kind in ("real", "real_hard", "print", "screen", "screen_fine"):
        rows = val[kind][1]
        rec = np.array([valset.recording_id(index, i) for i in rows])
        report["per_recording_mean_score"][kind] = {r: round(float(scores[kind][rec == r].mean()), 4)
                                                    for r in np.unique(rec)}
    report["seconds"] = round(time.time() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.model.stem + args.tag
    (args.out / f"eval_{name}.json").write_text(json.dumps(report, indent=2))
    if args.update_meta:
        meta_path = Path(args.meta) if args.meta else args.model.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        fl = report["frame_level"]
        meta["validated_recall"] = {"live": round(1 - fl["BPCER"], 4), "print": round(1 - fl["APCER_print"], 4),
                                    "screen": round(1 - fl["APCER_screen"], 4),
                                    "screen_fine": round(1 - fl["APCER_screen_fine"], 4)}
        meta["validation"] = {"subjects": list(data.VAL_SUBJECTS), "frame_level": fl,
                              "session_level": summary, "command": "training/liveness/evaluate.py --update-meta",
                              "report": f"training/liveness/report/eval_{name}.json"}
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("threshold", "frames", "frame_level", "mean_score")}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
