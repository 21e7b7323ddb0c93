"""Step 5 (runtime venv): evaluate level 1 as a person meets it - through the kiosk's own
`VisionPipeline` (face mesh, tracker, capture quality, still-frame check, liveness model, score
smoothing) and `SessionEngine` (the counting rules), driven by a `ManualClock` at 25 fps. Nothing of
the runtime's rules is copied here: this script only feeds frames and counts what comes out.

    PYTHONPATH=. .venv/bin/python training/liveness/evaluate.py ../shared/datasets artifacts/liveness \
        [--model models/liveness.tflite] [--threshold T] [--ema A] [--tag _x] [--update-meta]
        [--screen-settings N] [--kinds ...] [--blur-sharpness S] [--judge-backlit]   # studies

Validation: NUAA subjects 0003, 0006, 0008 (never trained on; data.VAL_SUBJECTS).
Sequences (one NUAA recording each, frames in recorded order):
  live/<condition>  the live recordings under each synthetic capture condition (conditions.py)
  print             NUAA printed-photo attacks as recorded
  screen            synthetic screen replays of the live recordings (augment.screen_replay, in
                    --screen-settings display settings per recording, default 3: <kind>#<k>)
  print_<capture>, screen_<capture>
                    the same attacks under bad capture (low_light, backlight, motion_blur:
                    conditions.py): an attacker in a dark room, in front of a window, or moving
  frozen            one live frame repeated: a still image / frozen or injected feed
Every sequence starts as a new person does at the kiosk: one empty frame (nobody in front of the
camera), then the pipeline's reset between sessions (`next_person`), so no recording's figures
depend on which one came before it.
Frame level (one pass over each sequence, pipeline state carried from frame to frame as at the kiosk):
  raw BPCER/APCER   the model's own score against its threshold, every frame with one face (with a
                    second face in view the pipeline does not run the model: nothing is judged)
  runtime BPCER     among the frames the engine judges (one face, no capture problem, not still),
                    those whose (smoothed) decision is spoof; APCER the same for attacks decided live
  per subject, per condition, per glasses (file-name field GG), share of frames not judged and why
Session level: each sequence played as a kiosk session (ping-pong loop, so short recordings last),
from `--offsets` start frames, until the engine leaves level 1 (accepted = challenge state) or denies.
A DET curve of the raw scores (live under all conditions vs print / screen) goes to models/liveness_det.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import augment  # noqa: E402
import conditions  # noqa: E402
import data  # noqa: E402

from kiosk.config import load_config  # noqa: E402
from kiosk.session.catalogue import HEAD_POSE_CHALLENGES  # noqa: E402
from kiosk.session.clock import ManualClock  # noqa: E402
from kiosk.session.engine import EngineSettings, SessionEngine, State  # noqa: E402
from kiosk.session.events import Need  # noqa: E402
from kiosk.vision.capture_quality import CaptureQuality  # noqa: E402
from kiosk.vision.pipeline import VisionPipeline  # noqa: E402

FPS = 25.0
SCREEN_SEED = 12345
# Display settings (size, colour, pixel grid, glare, background) per replayed recording. One setting
# decides a whole recording's outcome (a backlight study found one of 0008's settings passing on
# every crop and another on none), so each recording is replayed in several.
SCREEN_SETTINGS = 3
# Attacks replayed under bad capture too: in bad light (an attacker in a dark room or in front of a
# window) and moving (motion blur hides the print and screen texture the model tells attacks by,
# and blurred frames are what the capture check keeps from being judged).
ATTACK_CAPTURE = ("low_light", "backlight", "motion_blur")
ATTACK_CONDITIONS = ("as_recorded", *ATTACK_CAPTURE)


def attack_kind(attack: str, condition: str) -> str:
    """The sequence kind: the attack's name as recorded ("print"), with the light in bad light ("print_low_light")."""
    return attack if condition == "as_recorded" else f"{attack}_{condition}"


def jumpy(frames: list) -> list:
    """The same recording as a real tracker meets it: every 25 frames the face is lost for 2 frames
    (black frames), and every other block of 25 the picture is shifted sideways by 30 % of its width,
    so the face box jumps with no overlap (a quick move, or a tracker that lost and re-found it)."""
    import cv2

    out = []
    for j, img in enumerate(frames):
        h, w = img.shape[:2]
        if j % 25 in (10, 11):
            out.append(np.zeros_like(img))
            continue
        if (j // 25) % 2:
            m = np.float32([[1, 0, 0.3 * w], [0, 1, 0]])
            img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        out.append(img)
    return out


class ScoreTap:
    """Wraps the pipeline's LivenessModel to read the raw per-frame score the pipeline computed
    (the Observation carries the smoothed one). Everything else is the model's own."""

    def __init__(self, model):
        self.model = model
        self.last: float | None = None

    def __getattr__(self, name):
        return getattr(self.model, name)

    def score(self, frame, face) -> float:
        self.last = self.model.score(frame, face)
        return self.last


def glasses(session: str) -> str:
    return "glasses" if session.split("_")[1] != "00" else "no_glasses"


def build_sequences(index, frames, kinds, keep=lambda name: True, screen_settings: int = SCREEN_SETTINGS) -> list[dict]:
    """Every validation sequence (those whose name `keep` accepts): name, kind, condition, subject,
    glasses, frames (BGR list). Screen replays: `screen_settings` display settings per recording
    (the first as before there was more than one; the others named <kind>#<k>)."""
    val = data.split_mask(index)
    recs: dict[tuple, list[int]] = defaultdict(list)
    for i in np.where(val)[0]:
        recs[(index["subject"][i], index["session"][i])].append(int(i))
    seqs: list[dict] = []
    frozen_done: set[str] = set()  # one frozen photo per subject
    for (subject, session), rows in sorted(recs.items()):
        rows.sort(key=lambda i: index["frame"][i])
        key = f"{subject}_{session}"
        base = dict(subject=str(subject), session=str(session), glasses=glasses(session))
        if session.startswith("real"):
            for cond in conditions.CONDITIONS:
                if f"live/{cond}" not in kinds or not keep(f"{key}/{cond}"):
                    continue
                fn = conditions.make(cond, key)
                seqs.append(
                    dict(
                        base,
                        name=f"{key}/{cond}",
                        kind="live",
                        condition=cond,
                        frames=[fn(frames[i], index["bbox"][i]) for i in rows],
                    )
                )
            if "live/jumpy" in kinds and keep(f"{key}/jumpy"):
                seqs.append(
                    dict(
                        base,
                        name=f"{key}/jumpy",
                        kind="live",
                        condition="jumpy",
                        frames=jumpy([frames[i] for i in rows]),
                    )
                )
            for setting in range(screen_settings):
                tag = f"#{setting}" if setting else ""
                screen_conds = [
                    c
                    for c in ATTACK_CONDITIONS
                    if attack_kind("screen", c) in kinds and keep(f"{key}/{attack_kind('screen', c)}{tag}")
                ]
                if not screen_conds:
                    continue
                # one display setting, replayed once and shown under each light
                rng = np.random.default_rng(SCREEN_SEED + zlib.crc32(f"{key}{tag}".encode()))
                seed = int(rng.integers(1 << 31))
                bg = frames[int(rng.choice(np.where(val)[0]))]
                replays = [
                    augment.screen_replay(frames[i], index["bbox"][i], np.random.default_rng(seed), background=bg)
                    for i in rows
                ]
                for cond in screen_conds:
                    fn, kind = conditions.make(cond, f"{key}/screen"), attack_kind("screen", cond)
                    shots = [fn(img, box) for img, box in replays]
                    seqs.append(dict(base, name=f"{key}/{kind}{tag}", kind=kind, condition=cond, frames=shots))
            if "frozen" in kinds and subject not in frozen_done and keep(f"{key}/frozen"):
                still = frames[rows[len(rows) // 2]]
                seqs.append(
                    dict(
                        base,
                        name=f"{key}/frozen",
                        kind="frozen",
                        condition="as_recorded",
                        frames=[still.copy() for _ in range(60)],
                    )
                )
            frozen_done.add(subject)
        else:
            for cond in ATTACK_CONDITIONS:
                kind = attack_kind("print", cond)
                if kind in kinds and keep(f"{key}/{kind}"):
                    fn = conditions.make(cond, key)
                    seqs.append(
                        dict(
                            base,
                            name=f"{key}/{kind}",
                            kind=kind,
                            condition=cond,
                            frames=[fn(frames[i], index["bbox"][i]) for i in rows],
                        )
                    )
            if "print_jumpy" in kinds and keep(f"{key}/print_jumpy"):
                seqs.append(
                    dict(
                        base,
                        name=f"{key}/print_jumpy",
                        kind="print_jumpy",
                        condition="jumpy",
                        frames=jumpy([frames[i] for i in rows]),
                    )
                )
    return seqs


def next_person(pipeline: VisionPipeline, frame: np.ndarray) -> None:
    """Between two recordings the camera sees nobody, as it does at the kiosk between two people:
    one empty frame, then the reset the kiosk makes between sessions. Without the empty frame the
    face mesh went on tracking the last recording's face into the next one, and a recording's
    figures depended on which one came before it."""
    pipeline.process(np.zeros_like(frame), frozenset({Need.FACE}))
    pipeline.reset()


def frame_pass(pipeline: VisionPipeline, tap: ScoreTap, settings: EngineSettings, seq: dict) -> list[dict]:
    """Each frame once, in order, as level 1 asks for it; what the pipeline reported."""
    next_person(pipeline, seq["frames"][0])
    engine = SessionEngine(settings, HEAD_POSE_CHALLENGES, ManualClock())
    engine.start()
    needs = engine.needs()
    out = []
    for img in seq["frames"]:
        tap.last = None
        obs = pipeline.process(img, needs)
        out.append(
            {
                "face": obs.face,
                "faces": obs.faces,
                "raw": tap.last,
                "live": obs.live,
                "capture": obs.capture.value if obs.capture else None,
                "still": obs.still,
            }
        )
    return out


def session_pass(pipeline: VisionPipeline, settings: EngineSettings, seq: dict, start: int) -> dict:
    """One kiosk session over the sequence, looped forwards and backwards from `start`."""
    frames = seq["frames"]
    loop = frames + frames[-2:0:-1] if len(frames) > 2 else frames
    next_person(pipeline, frames[0])
    clock = ManualClock()
    engine = SessionEngine(settings, HEAD_POSE_CHALLENGES, clock)
    engine.start()
    max_frames = int(settings.liveness_timeout_s * FPS) + 5
    n = 0
    for n in range(1, max_frames + 1):
        clock.set(n / FPS)
        obs = pipeline.process(loop[(start + n - 1) % len(loop)], engine.needs())
        engine.feed(obs)
        if engine.state != State.LIVENESS:
            break
    rec = engine.last_record or engine.record
    if engine.state == State.CHALLENGE:
        outcome = "accepted"
    elif rec is not None and rec.result:
        outcome = f"{rec.result}:{rec.reason}"
    else:
        outcome = "undecided"
    return {"sequence": seq["name"], "start": start, "outcome": outcome, "frames": n}


def rates(rows: list[dict], thr: float, live_class: bool) -> dict:
    """Error rates of one group of frames. live_class: BPCER (live called spoof), else APCER."""
    faced = [r for r in rows if r["face"] and r["raw"] is not None]
    judged = [r for r in faced if r["faces"] == 1 and r["capture"] is None and not r["still"]]
    raw = np.array([r["raw"] for r in faced])
    if live_class:
        raw_err = float(np.mean(raw < thr)) if len(raw) else None
        run_err = float(np.mean([not r["live"] for r in judged])) if judged else None
        name = "BPCER"
    else:
        raw_err = float(np.mean(raw >= thr)) if len(raw) else None
        run_err = float(np.mean([bool(r["live"]) for r in judged])) if judged else None
        name = "APCER"
    return {
        "frames": len(rows),
        "with_face": len(faced),
        "judged": len(judged),
        f"{name}_raw": _r(raw_err),
        f"{name}_runtime": _r(run_err),
        "not_judged": dict(Counter(_why(r) for r in rows if r not in judged)),
    }


def _r(x):
    return None if x is None else round(x, 4)


def _why(r: dict) -> str:
    if not r["face"]:
        return "no_face"
    if r["faces"] > 1:
        return "two_faces"
    if r["capture"]:
        return r["capture"]
    return "still" if r["still"] else "unscored"


def det_plot(live: np.ndarray, attacks: dict[str, np.ndarray], thr: float, path: Path, title: str) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = np.unique(np.concatenate([np.linspace(0, 1, 501), live, *attacks.values()]))
    floor = 1e-4
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    points = {}
    for name, sc in attacks.items():
        apcer = np.array([np.mean(sc >= t) for t in ts])
        bpcer = np.array([np.mean(live < t) for t in ts])
        ax.plot(np.maximum(apcer, floor) * 100, np.maximum(bpcer, floor) * 100, label=f"{name} ({len(sc)} frames)")
        a, b = float(np.mean(sc >= thr)), float(np.mean(live < thr))
        ax.plot(max(a, floor) * 100, max(b, floor) * 100, "o", ms=8, mfc="none", mew=2, color=ax.lines[-1].get_color())
        points[name] = {"APCER": round(a, 4), "BPCER": round(b, 4)}
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("APCER % (attack frames accepted as live)")
    ax.set_ylabel("BPCER % (live frames called spoof)")
    ax.set_title(title, fontsize=9)
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.axhline(2.0, color="grey", ls=":", lw=1)
    ax.text(0.52, 50, "targets", color="grey", fontsize=7)
    ax.legend(fontsize=8, title=f"o = operating point, threshold {thr:g}", title_fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "liveness.tflite")
    ap.add_argument("--config", type=Path, default=None, help="kiosk config (default: the shipped defaults)")
    ap.add_argument("--threshold", type=float, default=None, help="override the model json's threshold")
    ap.add_argument("--ema", type=float, default=None, help="override [liveness] score_ema")
    ap.add_argument("--offsets", type=int, default=1, help="session start frames per sequence")
    ap.add_argument(
        "--kinds",
        default="live/*,live/jumpy,print,print_jumpy,screen,frozen,"
        "print_low_light,print_backlight,print_motion_blur,screen_low_light,screen_backlight,screen_motion_blur",
        help="comma list: live/<condition> or live/*, live/jumpy, print, print_jumpy, screen, frozen, "
        "print_<capture>, screen_<capture> (capture: low_light, backlight, motion_blur)",
    )
    ap.add_argument(
        "--blur-sharpness",
        type=float,
        default=None,
        help="study: another capture-check blur threshold (0 = blurred frames are judged)",
    )
    ap.add_argument(
        "--judge-backlit",
        action="store_true",
        help="study: backlit frames are judged (the capture check does not flag them)",
    )
    ap.add_argument(
        "--screen-settings",
        type=int,
        default=SCREEN_SETTINGS,
        help="display settings each recording is replayed in (1 = the evaluation before 2026-12-01, late)",
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "report")
    ap.add_argument(
        "--det", type=lambda v: Path(v) if v else None, default=ROOT / "models" / "liveness_det.png", help='"": none'
    )
    ap.add_argument("--tag", default="")
    ap.add_argument("--update-meta", action="store_true", help="write the figures into the model's json")
    ap.add_argument("--shard", default="", help="k/n: run only the k-th of n parts (parallel runs), write it to <work>")
    ap.add_argument("--merge", type=int, default=0, help="n: report from the n shard files in <work>")
    args = ap.parse_args()

    kinds = set()
    for k in args.kinds.split(","):
        kinds |= {f"live/{c}" for c in conditions.CONDITIONS} if k.strip() == "live/*" else {k.strip()}
    t0 = time.time()
    overrides: dict = {"liveness": {"model": str(args.model)}}
    if args.ema is not None:
        overrides["liveness"]["score_ema"] = args.ema
    cfg = load_config(args.config, overrides)
    pipeline = VisionPipeline(cfg)
    if pipeline.liveness is None:
        raise SystemExit(f"liveness model unavailable: {pipeline.models['liveness'].error}")
    if args.threshold is not None:
        pipeline.liveness.threshold = args.threshold
    if args.blur_sharpness is not None:
        pipeline.capture_quality = CaptureQuality(
            dataclasses.replace(pipeline.capture_quality.thresholds, blur_sharpness=args.blur_sharpness)
        )
    if args.judge_backlit:
        pipeline.capture_quality = CaptureQuality(
            dataclasses.replace(pipeline.capture_quality.thresholds, backlit_background=float("inf"))
        )
    tap = ScoreTap(pipeline.liveness)
    pipeline.liveness = tap
    thr = tap.threshold
    settings = EngineSettings.from_config(cfg)

    if args.merge:
        shards = [
            json.loads(p.read_text()) for p in sorted(args.work.glob(f"eval_shard_*of{args.merge}{args.tag}.json"))
        ]
        if len(shards) != args.merge:
            raise SystemExit(f"{len(shards)} of {args.merge} shards found in {args.work}")
        seqs = [q for sh in shards for q in sh["seqs"]]
        per_frame = {k: v for sh in shards for k, v in sh["per_frame"].items()}
        sessions = [x for sh in shards for x in sh["sessions"]]
    else:
        shard_k, shard_n = (int(v) for v in args.shard.split("/")) if args.shard else (0, 1)
        index = data.load_index(args.work)
        frames = data.load_frames(args.datasets, index)
        seqs = build_sequences(
            index,
            frames,
            kinds,
            keep=lambda name: zlib.crc32(name.encode()) % shard_n == shard_k,
            screen_settings=args.screen_settings,
        )
        del frames
        print(f"{len(seqs)} sequences, {sum(len(s['frames']) for s in seqs)} frames", flush=True)
        per_frame = {}
        sessions = []
        for n, seq in enumerate(seqs):
            rows = frame_pass(pipeline, tap, settings, seq)
            per_frame[seq["name"]] = rows
            loop_len = max(1, 2 * len(seq["frames"]) - 2)
            for k in range(args.offsets):
                s = session_pass(pipeline, settings, seq, start=int(k * loop_len / args.offsets))
                s.update(kind=seq["kind"], condition=seq["condition"], subject=seq["subject"])
                sessions.append(s)
            seq.pop("frames")
            print(
                f"[{n + 1}/{len(seqs)}] {seq['name']}: {rates(rows, thr, seq['kind'] == 'live')} "
                f"sessions {[s['outcome'] for s in sessions[-args.offsets :]]} ({time.time() - t0:.0f} s)",
                flush=True,
            )
        if args.shard:
            out = args.work / f"eval_shard_{shard_k}of{shard_n}{args.tag}.json"
            out.write_text(json.dumps({"seqs": seqs, "per_frame": per_frame, "sessions": sessions}))
            print(f"shard written: {out} ({time.time() - t0:.0f} s)")
            return
    pipeline.close()

    def group(pred) -> list[dict]:
        return [r for s in seqs if pred(s) for r in per_frame[s["name"]]]

    live = [s for s in seqs if s["kind"] == "live"]
    subjects = sorted({s["subject"] for s in live})
    conds = [c for c in (*conditions.CONDITIONS, "jumpy") if any(s["condition"] == c for s in live)]
    frame_level = {
        "live_all_conditions": rates(group(lambda s: s["kind"] == "live"), thr, True),
        "live_as_recorded": rates(group(lambda s: s["kind"] == "live" and s["condition"] == "as_recorded"), thr, True),
        "per_condition": {
            c: rates(group(lambda s, c=c: s["kind"] == "live" and s["condition"] == c), thr, True) for c in conds
        },
        "per_subject_all_conditions": {
            p: rates(group(lambda s, p=p: s["kind"] == "live" and s["subject"] == p), thr, True) for p in subjects
        },
        "per_subject_as_recorded": {
            p: rates(
                group(lambda s, p=p: s["kind"] == "live" and s["subject"] == p and s["condition"] == "as_recorded"),
                thr,
                True,
            )
            for p in subjects
        },
        "per_glasses_as_recorded": {
            g: rates(
                group(lambda s, g=g: s["kind"] == "live" and s["glasses"] == g and s["condition"] == "as_recorded"),
                thr,
                True,
            )
            for g in sorted({s["glasses"] for s in live})
        },
        "attacks": {
            k: rates(group(lambda s, k=k: s["kind"] == k), thr, False)
            for k in sorted({s["kind"] for s in seqs if s["kind"] != "live"})
        },
    }
    worst = (
        max(subjects, key=lambda p: frame_level["per_subject_all_conditions"][p]["BPCER_runtime"] or 0)
        if subjects
        else None
    )
    frame_level["worst_subject"] = worst

    summary: dict = {}
    for s in sessions:
        key = f"live/{s['condition']}" if s["kind"] == "live" else s["kind"]
        d = summary.setdefault(key, {"sessions": 0, "accepted": 0, "outcomes": Counter(), "frames": []})
        d["sessions"] += 1
        d["accepted"] += s["outcome"] == "accepted"
        d["outcomes"][s["outcome"]] += 1
        d["frames"].append(s["frames"])
    for d in summary.values():
        d["outcomes"] = dict(d["outcomes"])
        d["median_frames_to_decision"] = float(np.median(d.pop("frames")))
    live_sessions = [s for s in sessions if s["kind"] == "live"]
    attack_sessions = [s for s in sessions if s["kind"] != "live"]
    totals = {
        "genuine_sessions": len(live_sessions),
        "genuine_accepted": sum(s["outcome"] == "accepted" for s in live_sessions),
        "attack_sessions": len(attack_sessions),
        "attacks_accepted": sum(s["outcome"] == "accepted" for s in attack_sessions),
    }

    raw_live = np.array([r["raw"] for r in group(lambda s: s["kind"] == "live") if r["raw"] is not None])
    raw_att = {
        k: np.array([r["raw"] for r in group(lambda s, k=k: s["kind"] == k) if r["raw"] is not None])
        for k in ("print", "screen")
        if any(s["kind"] == k for s in seqs)
    }
    det = {}
    if len(raw_live) and raw_att and args.det:
        det = det_plot(
            raw_live,
            raw_att,
            thr,
            args.det,
            f"{args.model.name}, raw scores, NUAA subjects {', '.join(subjects)}\n"
            f"live frames under {len(conds)} capture conditions; 0 % drawn at 0.01 %",
        )
    sweep = (
        {
            f"{t:.2f}": {
                "BPCER_raw_live_all": _r(float(np.mean(raw_live < t))),
                **{f"APCER_raw_{k}": _r(float(np.mean(v >= t))) for k, v in raw_att.items()},
            }
            for t in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
        }
        if len(raw_live)
        else {}
    )

    report = {
        "model": str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model),
        "threshold": thr,
        "score_ema": cfg.liveness.score_ema,
        "rules": {
            "real_frames": settings.real_frames,
            "spoof_frames": settings.spoof_frames,
            "timeout_s": settings.liveness_timeout_s,
            "fps": FPS,
        },
        "val_subjects": subjects,
        "frame_level": frame_level,
        "sessions": summary,
        "session_totals": totals,
        "det_operating_point": det,
        "sweep_raw": sweep,
        "session_runs": sessions,
        # relative to the project root: `python -m training.liveness` passes the script's full path
        "command": "PYTHONPATH=. .venv/bin/python "
        + " ".join([str(Path(sys.argv[0]).resolve().relative_to(ROOT)), *sys.argv[1:]]),
        "seconds": round(time.time() - t0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"runtime_eval_{args.model.stem}{args.tag}.json"
    (args.out / name).write_text(json.dumps(report, indent=1) + "\n")
    if args.update_meta:
        meta_path = args.model.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        fa = frame_level["attacks"]
        meta["validated_recall"] = {
            "live": round(1 - (frame_level["live_all_conditions"]["BPCER_runtime"] or 0), 4),
            **{k: round(1 - (fa[k]["APCER_runtime"] or 0), 4) for k in ("print", "screen") if k in fa},
        }
        meta["validation"] = {
            "subjects": subjects,
            "worst_subject": worst,
            "BPCER_runtime_all_conditions": frame_level["live_all_conditions"]["BPCER_runtime"],
            "BPCER_runtime_worst_subject": frame_level["per_subject_all_conditions"][worst]["BPCER_runtime"]
            if worst
            else None,
            "APCER_runtime": {k: v["APCER_runtime"] for k, v in fa.items()},
            "sessions": totals,
            "command": report["command"],
            "report": f"training/liveness/report/{name}",
        }
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(
        json.dumps(
            {k: report[k] for k in ("threshold", "score_ema", "session_totals", "det_operating_point")}, indent=1
        )
    )
    print(json.dumps(frame_level, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
