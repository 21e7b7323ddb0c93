"""Score the validation runs written by train.py and the shipped model; write the report and the
measured recall into models/gesture_classifier.json. Runs in the RUNTIME venv (MediaPipe for the
photo check, ai-edge-litert through kiosk.vision.tflite: the same int8 path as the kiosk):

    .venv/bin/python -m training.gestures.evaluate --datasets ../shared/datasets

Writes training/gestures/report/{report.md, metrics.json, confusion_matrix.png,
confusion_matrix_synthetic.png, leave_one_shape_out.png}. Every figure is measured through the kiosk's
own kiosk.vision.gestures.GestureClassifier (the int8 file and the JSON's thresholds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.modelcard import ModelCard  # noqa: E402
from kiosk.session.catalogue import drawable  # noqa: E402
from kiosk.vision.gestures import NONE_LABEL, GestureClassifier, finger_measures  # noqa: E402
from training.gestures import finger_rule, shape_check  # noqa: E402
from training.gestures.labels import LABELS, NONE, REAL_NONE_FAMILY, SIDEWAYS_DEG, SYNTHETIC_ONLY, UPRIGHT  # noqa: E402
from training.gestures.loaders import load_all, load_not_upright, upright_mask  # noqa: E402
from training.gestures.splits import blocked_folds  # noqa: E402
from training.gestures.synth import SYNTH_NONE_FAMILIES, generate, generate_none_with_tilt  # noqa: E402

REPORT = Path(__file__).resolve().parent / "report"
SYNTH_VAL_PER_CLASS = 400
LOSO_PER_FAMILY = 400
DRAW_MIN_RECALL = 0.95
OPEN_SET_TARGET = 0.03
# per-class thresholds: the highest of these that costs the class at most MAX_RECALL_COST of its
# real (blocked-fold) recall at min_confidence. Chosen on real gestures only, never on the "none"
# families, so the leave-one-shape-out figures stay a measurement.
THRESHOLD_GRID = (0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
MAX_RECALL_COST = 0.01
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9)
# photo, transform -> expected gesture (vertical flip / 180-degree turn of a thumbs-up is a thumbs-down)
PHOTO_CASES = [
    (p, t, "like" if t in ("original", "mirrored") else "dislike")
    for p in ("hand_thumb_up.jpg", "two_thumbs_up.jpg")
    for t in ("original", "mirrored", "upside_down", "rotated_180")
]
# hands that make no gesture: fingers resting on a shoulder, fingers holding glasses
PHOTO_CASES += [(p, t, NONE) for p in ("two_faces.jpg", "business_person.png") for t in ("original", "mirrored")]


def kiosk_draw_floor() -> float:
    """gesture.min_validated_recall of the kiosk's default config: what a kiosk draws by default."""
    from kiosk.config import config_from_dict

    return config_from_dict({}).gesture.min_validated_recall


def read_runs(work: Path) -> list[dict]:
    """The run entries train.py wrote (<work>/runs/<name>.json), in name order."""
    return [json.loads(p.read_text()) for p in sorted((work / "runs").glob("*.json"))]


def runtime_classifier(model: Path, meta: dict, min_confidence: float | None = None) -> GestureClassifier:
    """The kiosk's own GestureClassifier on a model file, reading `meta` (labels, thresholds) as its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "meta.json"
        meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        return GestureClassifier(model, meta_path, min_confidence=min_confidence)


def classify(clf: GestureClassifier, X: np.ndarray, tilt: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label index and top probability of every row, exactly as the kiosk decides them; tilt: each
    row's palm_tilt_degrees (NaN or None: the row has no depth, as the kiosk's own hands do)."""
    results = classify_results(clf, X, tilt)
    return (
        np.array([LABELS.index(r.label) for r in results], int).reshape(-1),
        np.array([r.confidence for r in results], float).reshape(-1),
    )


def classify_results(clf: GestureClassifier, X: np.ndarray, tilt: np.ndarray | None = None) -> list:
    """GestureResult of every row through the runtime classifier (palm tilt as in `classify`)."""
    if tilt is None:
        return [clf.classify_features(x) for x in X]
    return [
        clf.classify_features(x, palm_tilt=None if not np.isfinite(t) else float(t))
        for x, t in zip(X, tilt, strict=True)
    ]


def fold_splits(work: Path, runs: list[dict], real) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """(run, training rows, validation rows) of every blocked-fold run, the training rows as
    splits.blocked_folds made them (checked against the validation rows train.py stored)."""
    fold_runs = [r for r in runs if r["kind"] == "blocked_fold"]
    out = []
    for k, (train, val) in enumerate(blocked_folds(real, len(fold_runs))):
        run = next((r for r in fold_runs if r["name"] == f"fold{k}"), None)
        if run is None or not np.array_equal(np.sort(np.load(work / run["val_indices"])), np.sort(val)):
            raise ValueError(f"{work}: fold{k} was not split as splits.blocked_folds splits these rows: retrain")
        out.append((run, train, val))
    return out


def blocked_fold_predictions(
    work: Path,
    runs: list[dict],
    real,
    meta: dict,
    min_conf: float | None = None,
    fold_changes: list[dict] | None = None,
):
    """The blocked-fold runs of train.py pooled: every real row predicted once, through the runtime
    classifier, by the fold model that did not train on it, with the shape check's envelope (if the
    JSON has one) rebuilt from that fold's training rows, and fold_changes[k] (JSON keys, e.g. the
    finger rule chosen without fold k's rows) applied to fold k. Returns true labels, predictions,
    sources and groups (the subject of collect.py rows), fold by fold in fold_splits' row order."""
    parts = []
    envelope = meta.get("shape_envelope")
    shapes = shape_check.shapes(real.X) if envelope else None
    for k, (r, train, idx) in enumerate(fold_splits(work, runs, real)):
        fold_meta = meta
        if shapes is not None:
            fold_meta = {**meta, "shape_envelope": shape_check.refit(envelope, shapes[train], real.y[train])}
        if fold_changes:
            fold_meta = {**fold_meta, **fold_changes[k]}
        pred, _ = classify(runtime_classifier(work / r["model"], fold_meta, min_conf), real.X[idx], real.tilt[idx])
        parts.append((real.y[idx], pred, real.source[idx], real.group[idx]))
    if not parts:
        raise ValueError(f"{work}: no blocked-fold runs (trained with --parts without folds?)")
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def choose_thresholds(work: Path, runs: list[dict], real, meta: dict) -> tuple[dict[str, float], dict]:
    """Per-class thresholds from the real gestures' blocked-fold recall (see THRESHOLD_GRID)."""
    plain = {**meta, "min_confidence_by_label": {}, "shape_envelope": None}
    base = float(meta["min_confidence"])
    recall = {}
    for t in (base,) + tuple(g for g in THRESHOLD_GRID if g > base):
        y, pred, _, _ = blocked_fold_predictions(work, runs, real, plain, t)
        recall[t] = {k: v["recall"] for k, v in per_class(y, pred).items()}
    chosen = {}
    for label, r0 in recall[base].items():
        if label == NONE or label in SYNTHETIC_ONLY:
            continue
        if r0 <= 0:
            continue
        ok = [t for t in recall if recall[t][label] >= r0 - MAX_RECALL_COST - 1e-9]
        if max(ok) > base:
            chosen[label] = max(ok)
    return chosen, {f"{t:.2f}": {k: round(v, 4) for k, v in r.items()} for t, r in recall.items()}


def leave_one_shape_out(
    work: Path,
    runs: list[dict],
    meta: dict,
    families_X: dict[str, np.ndarray],
    drawn: set[str],
    min_conf: float | None = None,
    families_tilt: dict[str, np.ndarray] | None = None,
) -> dict[str, dict]:
    """Share of each held-out "none" family taken for a drawn gesture (and for any gesture label) by
    the model that never saw the family, through the runtime classifier (families_tilt: each hand's
    palm_tilt_degrees, NaN without depth; None: no hand has depth)."""
    out = {}
    for r in runs:
        if r["kind"] != "leave_one_shape_out":
            continue
        family = r["held_out_family"]
        clf = runtime_classifier(work / r["model"], meta, min_conf)
        results = classify_results(clf, families_X[family], (families_tilt or {}).get(family))
        names = [res.label for res in results]
        taken = Counter(n for n in names if n != NONE)
        out[family] = {
            "hands": len(names),
            "accepted_as_drawn": float(np.mean([n in drawn for n in names])),
            "accepted_as_any_gesture": float(np.mean([n != NONE for n in names])),
            "taken_for": dict(taken.most_common(4)),
            # hands the classifier gave a drawn label that a later check turned into "none"
            "stopped_as_drawn_by": dict(
                Counter(res.rejected for res in results if res.rejected and max(res.probs, key=res.probs.get) in drawn)
            ),
        }
    return out


def look_alike_families(not_upright, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The hands the open-set figures are measured on, per held-out family: LOSO_PER_FAMILY fresh
    synthetic hands of each "none" family (seed), and the real rows of REAL_NONE_FAMILY
    (`loaders.load_not_upright`); their features and each hand's palm_tilt_degrees (NaN without depth)."""
    X, fams, tilt = generate_none_with_tilt(SYNTH_NONE_FAMILIES, LOSO_PER_FAMILY, seed)
    families_X = {f: X[fams == f] for f in SYNTH_NONE_FAMILIES}
    families_tilt = {f: tilt[fams == f] for f in SYNTH_NONE_FAMILIES}
    families_X[REAL_NONE_FAMILY], families_tilt[REAL_NONE_FAMILY] = not_upright.X, not_upright.tilt
    return families_X, families_tilt


def four_like_rows(real) -> dict[str, int]:
    """Real rows whose 2-D shape is "four" (four fingers out, thumb tip by the index knuckle), per
    dataset label: a check whether any real data could stand for "four". Labels are not changed."""
    xy = real.X.reshape(-1, 21, 2)
    palm = np.linalg.norm(xy[:, 9], axis=1)

    def out(finger):  # tip farther from the wrist than the PIP joint
        return np.linalg.norm(xy[:, 4 * finger + 4], axis=1) > 1.15 * np.linalg.norm(xy[:, 4 * finger + 2], axis=1)

    four = out(1) & out(2) & out(3) & out(4) & (np.linalg.norm(xy[:, 4] - xy[:, 5], axis=1) < 0.35 * palm)
    return {
        f"{src}:{LABELS[c]}": int((four & (real.source == src) & (real.y == c)).sum())
        for src, c in sorted(set(zip(real.source, real.y, strict=True)))
        if (four & (real.source == src) & (real.y == c)).any()
    }


def per_class(y, pred, classes=None):
    classes = sorted(set(y.tolist())) if classes is None else classes
    out = {}
    for c in classes:
        tp = int(((pred == c) & (y == c)).sum())
        n_true, n_pred = int((y == c).sum()), int((pred == c).sum())
        out[LABELS[c]] = {
            "recall": tp / n_true if n_true else None,
            "precision": tp / n_pred if n_pred else None,
            "support": n_true,
        }
    return out


def missed_as(y, pred, source) -> dict[str, dict[str, dict[str, int]]]:
    """Per dataset and true label, what the rows that missed it were predicted as (most first)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for s in sorted(set(source)):
        for c in sorted(set(y[source == s])):
            wrong = pred[(source == s) & (y == c) & (pred != c)]
            if len(wrong):
                out.setdefault(s, {})[LABELS[c]] = dict(Counter(LABELS[p] for p in wrong).most_common())
    return out


def recall_by_group(y, pred, group, rows) -> dict[str, dict]:
    """Recall of each group among `rows` (a mask) whose rows all share one label, e.g. HaGRID's own
    classes ("hagrid:stop" -> "stop"): {name: {"label", "recall", "rows"}}."""
    out = {}
    for g in sorted(set(group[rows])):
        m = group == g
        label = LABELS[int(y[m][0])]
        stats = per_class(y[m], pred[m])[label]
        out[g.split(":", 1)[1]] = {"label": label, "recall": stats["recall"], "rows": stats["support"]}
    return out


def macro_recall(stats):
    vals = [s["recall"] for s in stats.values() if s["recall"] is not None]
    return float(np.mean(vals)) if vals else None


def confusion(y, pred):
    cm = np.zeros((len(LABELS), len(LABELS)), int)
    np.add.at(cm, (y, pred), 1)
    return cm


def draw_confusion(cm, path, title):
    """Row-normalised confusion matrix as a PNG (OpenCV: no matplotlib in the runtime venv)."""
    import cv2

    rows = [i for i in range(len(LABELS)) if cm[i].sum() > 0]
    cell, left, top = 56, 150, 175
    h, w = top + cell * len(rows) + 20, left + cell * len(LABELS) + 20
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.putText(img, title, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        img,
        "rows: true class, columns: predicted (counts, shade = row share)",
        (10, 46),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (60, 60, 60),
        1,
        cv2.LINE_AA,
    )
    for j, name in enumerate(LABELS):  # column labels, written upwards
        label = np.full((20, top - 62, 3), 255, np.uint8)
        cv2.putText(label, name, (2, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        label = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
        x = left + j * cell + cell // 2 - 10
        img[55 : 55 + label.shape[0], x : x + 20] = label
    for r, i in enumerate(rows):
        y0 = top + r * cell
        cv2.putText(img, LABELS[i], (8, y0 + cell // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        total = cm[i].sum()
        for j in range(len(LABELS)):
            share = cm[i, j] / total
            shade = int(255 * (1 - share))
            colour = (255, shade, shade) if i == j else (shade, shade, 255)
            x0 = left + j * cell
            cv2.rectangle(img, (x0, y0), (x0 + cell - 2, y0 + cell - 2), colour, -1)
            if cm[i, j]:
                text = str(cm[i, j])
                ink = (255, 255, 255) if share > 0.6 else (0, 0, 0)
                cv2.putText(
                    img, text, (x0 + 4, y0 + cell // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, ink, 1, cv2.LINE_AA
                )
    cv2.imwrite(str(path), img)


def photo_check(photos_dir: Path, clf: GestureClassifier):
    import cv2

    from kiosk.vision.hands import HandDetector

    transforms = {
        "original": lambda im: im,
        "mirrored": lambda im: cv2.flip(im, 1),
        "upside_down": lambda im: cv2.flip(im, 0),
        "rotated_180": lambda im: cv2.flip(im, -1),
    }
    results = []
    with HandDetector(max_hands=2, static_image_mode=True) as det:
        for photo, t, expected in PHOTO_CASES:
            img = cv2.imread(str(photos_dir / photo))
            if img is None:
                continue
            for hand in det.detect(transforms[t](img)):
                r = clf.classify(hand)
                results.append(
                    {
                        "photo": photo,
                        "transform": t,
                        "handedness": hand.handedness,
                        "expected": expected,
                        "predicted": r.label,
                        "confidence": round(r.confidence, 3),
                    }
                )
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--model", default=str(ROOT / "models" / "gesture_classifier.tflite"))
    ap.add_argument("--work", default=str(ROOT / "artifacts" / "gestures"))
    ap.add_argument("--report", default=str(REPORT), help="where report.md, metrics.json and the figures go")
    ap.add_argument("--no-update-meta", action="store_true")
    args = ap.parse_args(argv)

    work, report_dir = Path(args.work), Path(args.report)
    manifest = json.loads((work / "runs.json").read_text())
    runs = read_runs(work)
    real = load_all(args.datasets, manifest.get("collected", []))
    not_upright = load_not_upright(args.datasets, manifest.get("collected", []))
    if len(real) != manifest["rows"] or len(not_upright) != manifest.get("not_upright_rows"):
        sys.exit(f"dataset rows changed ({len(real)} vs {manifest['rows']} at training): retrain first")
    missing = {"blocked_fold", "leave_one_shape_out"} - {r["kind"] for r in runs}
    if missing:
        sys.exit(f"{work}: no {', '.join(sorted(missing))} runs: train every part first")
    model_path = Path(args.model)
    meta_path = model_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    min_conf = float(meta["min_confidence"])
    # the labels the kiosk asks for with the fingers up, and how far from up a hand may turn
    # (labels.UPRIGHT: the rule that also made the real sideways rows "none" in training)
    meta["fingers_up"] = {"labels": [k for k in LABELS if k in UPRIGHT], "max_degrees": SIDEWAYS_DEG}
    meta.pop("finger_rule", None)  # chosen again below, after the thresholds and the envelope it follows
    meta.pop("palm_facing", None)  # likewise, after the finger rule
    report_dir.mkdir(parents=True, exist_ok=True)
    metrics = {
        "min_confidence": min_conf,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m training.gestures.evaluate " + " ".join(argv if argv is not None else sys.argv[1:]),
    }

    # 0. per-class thresholds, from the real gestures' out-of-fold recall only
    thresholds, recall_by_threshold = choose_thresholds(work, runs, real, meta)
    meta["min_confidence_by_label"] = thresholds
    metrics["min_confidence_by_label"] = thresholds
    metrics["threshold_choice"] = {
        "rule": f"highest of {list(THRESHOLD_GRID)} that costs a class at most "
        f"{MAX_RECALL_COST} of its blocked-fold recall at {min_conf}",
        "blocked_fold_recall_at_uniform_threshold": recall_by_threshold,
    }

    # 0b. the shape check's envelope, from the real gestures' out-of-fold recall only
    shapes = shape_check.shapes(real.X)
    unchecked = {**meta, "shape_envelope": None}
    fold_preds = [
        (train, val, classify(runtime_classifier(work / r["model"], unchecked), real.X[val])[0])
        for r, train, val in fold_splits(work, runs, real)
    ]
    pads, fold_recall, cross_admitted = shape_check.feature_pads(fold_preds, shapes, real.y, real.source)
    meta["shape_envelope"] = shape_check.envelope_meta(shapes, real.y, pads)
    metrics["shape_envelope"] = {
        "rule": f"per label and measure a pad of {list(shape_check.PADS)} (times the "
        f"{shape_check.QUANTILE}..{1 - shape_check.QUANTILE} quantile range of the measure), every measure "
        "starting unbounded and the one whose range shrinks most narrowed a step at a time while the label "
        f"keeps within {shape_check.MAX_RECALL_COST} of its blocked-fold recall (each fold's envelope from "
        "that fold's training rows) and, where two datasets hold it, each dataset's envelope admits "
        f">= {1 - shape_check.MAX_CROSS_LOSS:.2f} of the other's hands; one-dataset labels at least the "
        "widest single pad (one for all measures) a two-dataset label needed; "
        "none fits -> unchecked",
        "measures": list(shape_check.SHAPE_FEATURES),
        "pads": pads,
        "unchecked": [k for k in shape_check.CHECKED if k not in pads],
        "blocked_fold_recall": fold_recall,
        "cross_dataset_admitted": cross_admitted,
    }

    # 0c. the finger rule's bounds, from the real gestures' out-of-fold predictions only: once on every
    #     row (shipped), and once per fold without that fold's rows (the recall reported below)
    splits = fold_splits(work, runs, real)
    fold_of = np.concatenate([np.full(len(val), k) for k, (_, _, val) in enumerate(splits)])
    fold_rows = np.concatenate([val for _, _, val in splits])
    y0, pred0, src0, _ = blocked_fold_predictions(work, runs, real, meta)
    measures0 = finger_measures(real.X[fold_rows])
    rule = finger_rule.choose(y0, pred0, measures0, src0)
    meta["finger_rule"] = finger_rule.rule_meta(rule)
    fold_rules = []
    for k in range(len(splits)):
        out = fold_of != k
        fold_rules.append(
            {"finger_rule": finger_rule.rule_meta(finger_rule.choose(y0[out], pred0[out], measures0[out], src0[out]))}
        )
    unruled = per_class(y0, pred0)
    metrics["finger_rule"] = {
        "rule": f"per label two datasets hold, what its instruction says (training/gestures/labels.py "
        f"INSTRUCTION_SHAPE) as bounds on {list(finger_rule.FINGER_MEASURES)}, each moved inwards in steps of "
        f"{finger_rule.GRID[1] - finger_rule.GRID[0]:.2f} while the label keeps within {finger_rule.MAX_RECALL_COST} "
        f"of its out-of-fold recall and each dataset's hands are admitted >= {1 - finger_rule.MAX_CROSS_LOSS:.2f}, "
        f"then moved back out by {finger_rule.MARGIN}; labels one dataset holds get only the bound the words "
        f"give (a finger held out: <finger>_out >= {finger_rule.HELD_OUT}); the recall 'with' has each fold's "
        "bounds chosen without that fold's rows",
        "instruction_shape": {k: list(v) for k, v in finger_rule.INSTRUCTION_SHAPE.items()},
        "bounds": meta["finger_rule"]["bounds"],
        "blocked_fold_recall_without": {k: round(v["recall"], 4) for k, v in unruled.items()},
        "admitted_per_dataset": finger_rule.admitted_per_source(rule, y0, measures0, src0),
    }

    # 0d. "palm to the camera" in depth: the largest palm tilt of the facing labels' real hands that
    #     carry depth, plus a margin; once on every row (shipped) and once per fold without its rows
    y1, pred1, _, _ = blocked_fold_predictions(work, runs, real, meta, fold_changes=fold_rules)
    before_palm = {k: round(v["recall"], 4) for k, v in per_class(y1, pred1).items()}
    metrics["finger_rule"]["blocked_fold_recall_with"] = before_palm
    palm = finger_rule.choose_palm_facing(real.y, real.tilt)
    if palm is not None:
        meta["palm_facing"] = palm
        for k, (_, train, _) in enumerate(splits):
            fold_palm = finger_rule.choose_palm_facing(real.y[train], real.tilt[train])
            if fold_palm is not None:
                fold_rules[k]["palm_facing"] = fold_palm
    facing = np.isin(real.y, [LABELS.index(k) for k in finger_rule.facing_labels()]) & np.isfinite(real.tilt)
    metrics["palm_facing"] = {
        "rule": f"labels whose instruction says palm to the camera ({', '.join(finger_rule.facing_labels())}): "
        "a hand whose landmarks carry depth is not that label when its palm's normal is further from the camera "
        f"axis than the largest tilt of those labels' real hands with depth plus {finger_rule.PALM_TILT_MARGIN:g} "
        f"degrees, rounded up to {finger_rule.PALM_TILT_STEP:g}; the recall with it has each fold's bound chosen "
        "without that fold's rows",
        "chosen": palm,
        "per_fold": [fr.get("palm_facing") for fr in fold_rules],
        "blocked_fold_recall_without": before_palm,
        "real_tilt_percentiles": {
            f"p{q}": round(float(np.percentile(real.tilt[facing], q)), 1) for q in (50, 90, 99, 100)
        }
        if facing.any()
        else {},
    }

    # 1. blocked folds, pooled: every real row is predicted once by the fold model that did not train on it
    fold_y, fold_pred, fold_src, fold_group = blocked_fold_predictions(work, runs, real, meta, fold_changes=fold_rules)
    blocked = per_class(fold_y, fold_pred)
    metrics["palm_facing"]["blocked_fold_recall_with"] = {k: round(v["recall"], 4) for k, v in blocked.items()}
    # per dataset: HaGRID is photos of many people, kinivi webcam frames of one or a few, so a class
    # can miss its target on one and not the other (per_class lists only the labels a dataset holds)
    by_source = {s: per_class(fold_y[fold_src == s], fold_pred[fold_src == s]) for s in sorted(set(fold_src))}
    metrics["blocked_folds"] = {
        "per_class": blocked,
        "macro_recall": macro_recall(blocked),
        "rows": int(len(fold_y)),
        "per_source_macro_recall": {s: macro_recall(stats) for s, stats in by_source.items()},
        "per_source_per_class": {
            s: {k: {"recall": v["recall"], "support": v["support"]} for k, v in stats.items()}
            for s, stats in by_source.items()
        },
        # what each class's missed rows became, per dataset
        "missed_as": missed_as(fold_y, fold_pred, fold_src),
        # HaGRID's own classes where several map onto one label (palm, stop and stop_inverted are all
        # hi_five): an open hand held flat can be refused where a spread one is not
        "hagrid_by_own_class": recall_by_group(fold_y, fold_pred, fold_group, fold_src == "hagrid"),
        # real rows of other gestures taken for a class no real data has
        "real_rows_predicted_as": {
            LABELS[c]: int((fold_pred == c).sum()) for c in range(len(LABELS)) if LABELS[c] in SYNTHETIC_ONLY
        },
    }
    collected = fold_src == "collected"
    if collected.any():  # recorded with collect.py: each fold held out whole people
        metrics["collected_by_subject"] = {
            g: {k: v["recall"] for k, v in per_class(fold_y[fold_group == g], fold_pred[fold_group == g]).items()}
            for g in sorted(set(fold_group[collected]))
        }
    draw_confusion(
        confusion(fold_y, fold_pred),
        report_dir / "confusion_matrix.png",
        "Real landmarks, blocked 5-fold validation (int8 models, kiosk thresholds)",
    )

    # what the kiosk may draw: real-validated classes, recall from the blocked folds
    validated_recall, validated_on = {}, {}
    for label in LABELS:
        if label == NONE:
            continue
        if label in blocked and label not in SYNTHETIC_ONLY:
            validated_recall[label] = round(blocked[label]["recall"], 4)
            validated_on[label] = "real"
        else:
            validated_recall[label] = 0.0  # not measurable on real landmarks: keep out of the draw
            validated_on[label] = "synthetic"
    floor = kiosk_draw_floor()
    # what the kiosk's own draw rule makes of these figures (the card as the runtime will read it)
    card = ModelCard.from_meta(
        {**meta, "validated_recall": validated_recall, "validated_on": validated_on},
        reject_labels=frozenset({NONE_LABEL}),
    )
    drawn = {k for k in LABELS if drawable(card, k, floor)[0]}
    metrics["validated_recall"] = validated_recall
    metrics["validated_on"] = validated_on
    metrics["challenge_labels"] = [k for k in LABELS if drawable(card, k, DRAW_MIN_RECALL)[0]]
    metrics["kiosk_draw_floor"] = floor
    metrics["kiosk_draws"] = [k for k in LABELS if k in drawn]
    real_labels = [k for k in validated_recall if validated_on[k] == "real"]
    worst = min(real_labels, key=validated_recall.__getitem__)
    metrics["worst_class"] = {"label": worst, "recall": validated_recall[worst]}
    metrics["four_like_real_rows"] = four_like_rows(real)

    # 2. leave-one-shape-out: each "none" family held out of training in turn
    families_X, families_tilt = look_alike_families(not_upright, manifest["synthetic_val_seed"])
    loso = leave_one_shape_out(work, runs, meta, families_X, drawn, families_tilt=families_tilt)
    worst_family = max(loso, key=lambda f: loso[f]["accepted_as_drawn"])
    shipped_clf = runtime_classifier(model_path, meta)
    in_training = {}
    for f, X in families_X.items():
        pred, _ = classify(shipped_clf, X, families_tilt[f])
        in_training[f] = float(np.mean([LABELS[i] in drawn for i in pred]))
    metrics["leave_one_shape_out"] = {
        "families": loso,
        "worst": {"family": worst_family, "accepted_as_drawn": loso[worst_family]["accepted_as_drawn"]},
        "target": OPEN_SET_TARGET,
        "families_over_target": [f for f, v in loso.items() if v["accepted_as_drawn"] > OPEN_SET_TARGET],
        "hands_per_synthetic_family": LOSO_PER_FAMILY,
        "real_family_rows": len(not_upright),
        "drawn_labels": sorted(drawn),
        "shipped_model_accepted_as_drawn": in_training,  # the same hands, the model that trained on every family
    }
    draw_bars(loso, report_dir / "leave_one_shape_out.png", OPEN_SET_TARGET)

    # 3. cross-dataset and synthetic-only -> real
    metrics["cross_dataset"] = {}
    for r in runs:
        name = r["name"]
        if r["kind"] not in ("cross_dataset", "sim_to_real"):
            continue
        idx = np.load(work / r["val_indices"])
        train_src = name.split("_")[1] if r["kind"] == "cross_dataset" else None
        # the envelope from the training dataset's rows only (none for the synthetic-only model)
        own = real.source == train_src
        run_meta = {**meta, "shape_envelope": shape_check.refit(meta["shape_envelope"], shapes[own], real.y[own])}
        # the finger rule one dataset gives: the words' bounds only (finger_rule.choose on its rows)
        run_meta["finger_rule"] = finger_rule.rule_meta(finger_rule.words_only())
        # palm facing from the training dataset's own hands with depth (none: not checked)
        run_meta["palm_facing"] = finger_rule.choose_palm_facing(real.y[own], real.tilt[own])
        pred, _ = classify(runtime_classifier(work / r["model"], run_meta), real.X[idx], real.tilt[idx])
        stats = per_class(real.y[idx], pred)
        # classes the training source had real rows of (others were learnt from synthetic poses only)
        seen = set(real.y[real.source == train_src].tolist()) if train_src else set()
        entry = {
            "per_class": stats,
            "macro_recall": macro_recall(stats),
            "classes_with_real_training_rows": [LABELS[c] for c in sorted(seen & set(real.y[idx].tolist()))],
        }
        if seen:
            entry["macro_recall_on_those"] = macro_recall({k: v for k, v in stats.items() if LABELS.index(k) in seen})
        if r["kind"] == "cross_dataset":
            metrics["cross_dataset"][name] = entry
        else:
            metrics["synthetic_only_to_real"] = entry

    # 4. the shipped model on fresh synthetic gestures (other random "subjects" than training)
    sX, snames = generate(LABELS, SYNTH_VAL_PER_CLASS, manifest["synthetic_val_seed"])
    sy = np.array([LABELS.index(n) for n in snames])
    keep = upright_mask(sX, sy)  # a fingers-up gesture laid sideways by the camera is not that gesture
    sX, sy = sX[keep], sy[keep]
    spred, _ = classify(shipped_clf, sX)
    synth = per_class(sy, spred)
    metrics["synthetic_validation"] = {
        "per_class": synth,
        "macro_recall": macro_recall(synth),
        "per_class_count": SYNTH_VAL_PER_CLASS,
    }
    draw_confusion(
        confusion(sy, spred),
        report_dir / "confusion_matrix_synthetic.png",
        f"Synthetic hands (seed {manifest['synthetic_val_seed']}), shipped model",
    )

    # 5. the min_confidence trade-off (per-class thresholds still applied on top): real recall against
    #    the held-out families accepted
    sweep = {}
    for t in SWEEP:
        y, p, _, _ = blocked_fold_predictions(work, runs, real, meta, t, fold_changes=fold_rules)
        stats = per_class(y, p)
        lo = leave_one_shape_out(work, runs, meta, families_X, drawn, t, families_tilt)
        sweep[f"{t:.1f}"] = {
            "real_macro_recall": round(macro_recall(stats), 4),
            "real_recall": {k: round(v["recall"], 4) for k, v in stats.items()},
            "loso_worst_accepted": round(max(v["accepted_as_drawn"] for v in lo.values()), 4),
            "loso_mean_accepted": round(float(np.mean([v["accepted_as_drawn"] for v in lo.values()])), 4),
        }
    metrics["min_confidence_sweep"] = sweep

    # 6. real photos through MediaPipe
    photos_dir = Path(args.datasets) / "photos"
    try:
        photos = photo_check(photos_dir, shipped_clf) if photos_dir.is_dir() else []
    except ImportError as exc:
        photos = []
        print(f"photo check skipped: {exc}")
    metrics["photos"] = {
        "cases": photos,
        "correct": sum(p["predicted"] == p["expected"] for p in photos),
        "hands": len(photos),
    }

    (report_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (report_dir / "report.md").write_text(render(metrics), encoding="utf-8")

    if not args.no_update_meta:
        meta["validated_recall"] = validated_recall
        meta["validated_on"] = validated_on
        meta["synthetic_recall"] = {k: round(v["recall"], 4) for k, v in synth.items()}
        # the same blocked-fold recall at other thresholds, for a kiosk configured differently
        meta["validated_recall_by_min_confidence"] = {t: e["real_recall"] for t, e in sweep.items()}
        meta["open_set"] = {
            "leave_one_shape_out_accepted_as_drawn": {f: round(v["accepted_as_drawn"], 4) for f, v in loso.items()},
            "worst": metrics["leave_one_shape_out"]["worst"],
            "drawn_labels": sorted(drawn),
        }
        meta["validation"] = (
            "validated_recall: real MediaPipe landmarks, blocked 5-fold validation (contiguous "
            "blocks of each dataset/class in file order, 10-row gap; no subject ids exist), "
            "int8 models through kiosk.vision.gestures.GestureClassifier with min_confidence and "
            "min_confidence_by_label applied. Classes with validated_on='synthetic' have no "
            "real data: validated_recall 0.0, synthetic_recall measured on fresh synthetic hands. "
            "open_set: share of each 'none' shape family, held out of training, taken for a drawn "
            "gesture (leave-one-shape-out)."
        )
        meta["evaluated"] = metrics["created"]
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print((report_dir / "report.md").read_text())


def draw_bars(loso: dict[str, dict], path: Path, target: float) -> None:
    """Leave-one-shape-out false accepts per family as a horizontal bar chart (OpenCV)."""
    import cv2

    names = sorted(loso, key=lambda f: -loso[f]["accepted_as_drawn"])
    row, left, width = 26, 170, 420
    top = 50
    img = np.full((top + row * len(names) + 40, left + width + 90, 3), 255, np.uint8)
    cv2.putText(
        img,
        "Held-out 'none' family accepted as a drawn gesture",
        (10, 22),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.55,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    scale = width / max(0.1, max(v["accepted_as_drawn"] for v in loso.values()) * 1.1)
    x_target = left + int(target * scale)
    for i, f in enumerate(names):
        v = loso[f]["accepted_as_drawn"]
        y0 = top + i * row
        colour = (60, 60, 220) if v > target else (80, 170, 60)
        cv2.putText(img, f, (8, y0 + 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.rectangle(img, (left, y0 + 4), (left + max(1, int(v * scale)), y0 + row - 4), colour, -1)
        cv2.putText(
            img,
            f"{100 * v:.1f} %",
            (left + int(v * scale) + 6, y0 + 17),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    cv2.line(img, (x_target, top - 6), (x_target, top + row * len(names)), (0, 0, 0), 1)
    cv2.putText(
        img,
        f"target {100 * target:.0f} %",
        (x_target - 30, top + row * len(names) + 20),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.42,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    cv2.imwrite(str(path), img)


def _fmt(v):
    return "-" if v is None else f"{v:.3f}"


def _class_table(per_class: dict) -> list[str]:
    """Recall, precision and support per class, as a markdown table."""
    return ["| class | recall | precision | support |", "|---|---|---|---|"] + [
        f"| {k} | {_fmt(v['recall'])} | {_fmt(v['precision'])} | {v['support']} |" for k, v in per_class.items()
    ]


def _source_table(blocked: dict) -> list[str]:
    """Recall per class and dataset, with what the missed rows were predicted as."""
    by_source = blocked.get("per_source_per_class")
    if not by_source:
        return []
    sources = list(by_source)
    labels = [k for k in blocked["per_class"] if any(k in by_source[s] for s in sources)]
    lines = [
        "",
        "Per dataset (HaGRID: photos of many people; kinivi: webcam frames of one or a few people, recorded in runs):",
        "",
        "| class | " + " | ".join(f"{s} recall (rows); missed rows predicted as" for s in sources) + " |",
        "|---|" + "---|" * len(sources),
    ]
    for k in labels:
        cells = []
        for s in sources:
            v = by_source[s].get(k)
            if v is None:
                cells.append("-")
                continue
            missed = blocked.get("missed_as", {}).get(s, {}).get(k, {})
            cells.append(
                f"{_fmt(v['recall'])} ({v['support']}); " + (", ".join(f"{p} {n}" for p, n in missed.items()) or "-")
            )
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    own = blocked.get("hagrid_by_own_class", {})
    classes_per_label = Counter(v["label"] for v in own.values())
    shared = {k for k, n in classes_per_label.items() if n > 1}
    if shared:
        lines += [
            "",
            "HaGRID's own classes where several are one label: "
            + "; ".join(
                f"{k}: "
                + ", ".join(f"{c} {_fmt(v['recall'])} ({v['rows']})" for c, v in own.items() if v["label"] == k)
                for k in sorted(shared)
            ),
        ]
    return lines


def render(m) -> str:
    th = ", ".join(f"{k} {v}" for k, v in m["min_confidence_by_label"].items()) or "none"
    lines = [
        "# Gesture classifier evaluation",
        "",
        f"Generated {m['created']} by `{m['command']}`. Every prediction goes through the kiosk's "
        "`GestureClassifier` (int8 TFLite, min_confidence "
        f"{m['min_confidence']}, per-class thresholds: {th}; a prediction under its threshold counts as 'none').",
        "",
        "## Real landmarks, blocked 5-fold validation",
        f"{m['blocked_folds']['rows']} rows; macro recall **{_fmt(m['blocked_folds']['macro_recall'])}**, worst class "
        f"**{m['worst_class']['label']} {_fmt(m['worst_class']['recall'])}**; per source: "
        + ", ".join(f"{k} {_fmt(v)}" for k, v in m["blocked_folds"]["per_source_macro_recall"].items()),
        "Real rows predicted as a class without real data (false alarms of synthetic-only classes, and 'none'): "
        + ", ".join(f"{k} {v}" for k, v in m["blocked_folds"]["real_rows_predicted_as"].items()),
        "",
        *_class_table(m["blocked_folds"]["per_class"]),
        *_source_table(m["blocked_folds"]),
    ]
    lo = m["leave_one_shape_out"]
    lines += [
        "",
        "![confusion matrix](confusion_matrix.png)",
        "",
        "## Open set: leave-one-shape-out",
        f"Each 'none' family is left out of training in turn; its hands ({lo['hands_per_synthetic_family']} fresh "
        f"synthetic ones, or the {lo['real_family_rows']} real rows of `real_not_upright`) go through that model. "
        f"Drawn gestures (kiosk default floor {m['kiosk_draw_floor']}): {', '.join(lo['drawn_labels'])}. "
        f"Target <= {100 * lo['target']:.0f} %; worst **{lo['worst']['family']} "
        f"{100 * lo['worst']['accepted_as_drawn']:.1f} %**; over target: {', '.join(lo['families_over_target']) or 'none'}.",
        "",
        "| held-out family | accepted as a drawn gesture | as any gesture label | taken for | shipped model (trained on it) |",
        "|---|---|---|---|---|",
    ]
    for f, v in sorted(lo["families"].items(), key=lambda kv: -kv[1]["accepted_as_drawn"]):
        taken = ", ".join(f"{k} {n}" for k, n in v["taken_for"].items()) or "-"
        lines.append(
            f"| {f} | {100 * v['accepted_as_drawn']:.1f} % | {100 * v['accepted_as_any_gesture']:.1f} % | {taken} "
            f"| {100 * lo['shipped_model_accepted_as_drawn'][f]:.1f} % |"
        )
    if "shape_envelope" in m:
        env = m["shape_envelope"]
        lines += [
            "",
            "Checks after the classifier (a drawn label it gave, turned into 'none'), hands per family: "
            + (
                "; ".join(
                    f"{f} " + ", ".join(f"{k} {n}" for k, n in v["stopped_as_drawn_by"].items())
                    for f, v in sorted(lo["families"].items())
                    if v.get("stopped_as_drawn_by")
                )
                or "none"
            ),
            "",
            "### Shape check",
            f"Rule: {env['rule']}. Unchecked: {', '.join(env['unchecked']) or 'none'}.",
            "",
            "Cross-dataset admission with the chosen pads (one dataset's envelope, the other's hands): "
            + (
                "; ".join(
                    f"{k} " + ", ".join(f"{d} {v:.3f}" for d, v in by.items())
                    for k, by in env["cross_dataset_admitted"].items()
                )
                or "-"
            ),
            "",
            "| class | blocked-fold recall unchecked | checked | pads ("
            + ", ".join(env["measures"])
            + f"; {shape_check.UNBOUNDED:g} = unbounded) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {k} | {r['unchecked']:.3f} | {r['checked']:.3f} | {' '.join(f'{p:g}' for p in env['pads'][k])} |"
            for k, r in env["blocked_fold_recall"].items()
            if k in env["pads"]
        ]
    if "finger_rule" in m:
        fr = m["finger_rule"]
        lines += [
            "",
            "### Finger rule",
            f"Rule: {fr['rule']}.",
            "",
            "| class | instruction (" + ", ".join(finger_rule.FINGER_MEASURES) + ") | low | high "
            "| blocked-fold recall without | with | admitted per dataset |",
            "|---|---|---|---|---|---|---|",
        ]
        for k, b in fr["bounds"].items():
            shape = " ".join(v or "-" for v in fr["instruction_shape"][k])
            bounds = [" ".join("-" if v is None else f"{v:g}" for v in b[side]) for side in ("low", "high")]
            admitted = ", ".join(f"{d} {v:.3f}" for d, v in fr["admitted_per_dataset"].get(k, {}).items())
            lines.append(
                f"| {k} | {shape} | {bounds[0]} | {bounds[1]} | {fr['blocked_fold_recall_without'].get(k, 0):.3f} "
                f"| {fr['blocked_fold_recall_with'].get(k, 0):.3f} | {admitted} |"
            )
    if (m.get("palm_facing") or {}).get("chosen"):
        pf = m["palm_facing"]
        lines += [
            "",
            "### Palm facing (depth)",
            f"Rule: {pf['rule']}. Bound **{pf['chosen']['max_tilt_degrees']:g} degrees** from "
            f"{pf['chosen']['rows_with_depth']} real hands with depth (their tilt: "
            + ", ".join(f"{q} {v:g}" for q, v in pf["real_tilt_percentiles"].items())
            + "); per fold "
            + ", ".join("-" if f is None else f"{f['max_tilt_degrees']:g}" for f in pf["per_fold"])
            + ".",
            "",
            "| class | blocked-fold recall without | with |",
            "|---|---|---|",
        ]
        for k in pf["chosen"]["labels"]:
            if k in pf["blocked_fold_recall_without"]:
                lines.append(
                    f"| {k} | {pf['blocked_fold_recall_without'][k]:.3f} | {pf['blocked_fold_recall_with'].get(k, 0):.3f} |"
                )
    lines += [
        "",
        "![leave-one-shape-out](leave_one_shape_out.png)",
        "",
        "## Cross-dataset (train on one dataset, validate on the other)",
    ]
    for name, e in m["cross_dataset"].items():
        lines += [
            "",
            f"### {name}",
            f"macro recall {_fmt(e['macro_recall'])}; on classes the training dataset had real rows of "
            f"({', '.join(e['classes_with_real_training_rows']) or 'none'}): {_fmt(e.get('macro_recall_on_those'))}",
            "",
            *_class_table(e["per_class"]),
        ]
    if "synthetic_only_to_real" in m:
        e = m["synthetic_only_to_real"]
        lines += [
            "",
            "## Synthetic-only model on every real row (how far the hand-pose generator transfers)",
            f"macro recall {_fmt(e['macro_recall'])}",
            "",
            *_class_table(e["per_class"]),
        ]
    s = m["synthetic_validation"]
    lines += [
        "",
        f"## Shipped model on fresh synthetic hands (up to {s['per_class_count']} per class)",
        f"macro recall {_fmt(s['macro_recall'])}",
        "",
        "| class | recall | precision |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v['recall'])} | {_fmt(v['precision'])} |" for k, v in s["per_class"].items()]
    lines += [
        "",
        "![synthetic confusion matrix](confusion_matrix_synthetic.png)",
        "",
        "## min_confidence trade-off (per-class thresholds kept on top)",
        "",
        "| min_confidence | real macro recall | lowest class recall | held-out families accepted: worst | mean |",
        "|---|---|---|---|---|",
    ]
    for t, e in m["min_confidence_sweep"].items():
        low = min(e["real_recall"].items(), key=lambda kv: kv[1])
        lines.append(
            f"| {t} | {e['real_macro_recall']:.3f} | {low[0]} {low[1]:.3f} | {100 * e['loso_worst_accepted']:.1f} % "
            f"| {100 * e['loso_mean_accepted']:.1f} % |"
        )
    lines += [
        "",
        "Real rows shaped like 'four' (four fingers out, thumb tip by the index knuckle), by their dataset label: "
        + (", ".join(f"{k} {v}" for k, v in m["four_like_real_rows"].items()) or "none"),
        "",
        f"## Real photos through MediaPipe: {m['photos']['correct']}/{m['photos']['hands']} hands correct",
        "",
        "| photo | transform | MediaPipe handedness | expected | predicted | confidence |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {p['photo']} | {p['transform']} | {p['handedness']} | {p['expected']} | {p['predicted']} | {p['confidence']} |"
        for p in m["photos"]["cases"]
    ]
    lines += [
        "",
        "## Challenge draw",
        f"validated on real landmarks with recall >= {DRAW_MIN_RECALL} (the target): "
        + ", ".join(m["challenge_labels"]),
        f"drawn by a kiosk with the default `gesture.min_validated_recall = {m['kiosk_draw_floor']}`: "
        + ", ".join(m["kiosk_draws"]),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
