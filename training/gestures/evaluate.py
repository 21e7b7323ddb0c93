"""Score the validation runs written by train.py and the shipped model; write the report and the
measured recall into models/gesture_classifier.json. Runs in the RUNTIME venv (MediaPipe for the
photo check, ai-edge-litert through kiosk.vision.tflite: the same int8 path as the kiosk):

    .venv/bin/python -m training.gestures.evaluate --datasets ../shared/datasets

Writes training/gestures/report/{report.md, metrics.json, confusion_matrix.png,
confusion_matrix_synthetic.png}.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import GestureClassifier  # noqa: E402
from kiosk.vision.tflite import TFLiteModel  # noqa: E402
from training.gestures.labels import LABELS, NONE, SYNTHETIC_ONLY  # noqa: E402
from training.gestures.loaders import load_all  # noqa: E402
from training.gestures.synth import generate  # noqa: E402

REPORT = Path(__file__).resolve().parent / "report"
SYNTH_VAL_PER_CLASS = 400
DRAW_MIN_RECALL = 0.95
# photo, transform -> expected gesture (vertical flip / 180-degree turn of a thumbs-up is a thumbs-down)
PHOTO_CASES = [(p, t, "like" if t in ("original", "mirrored") else "dislike")
               for p in ("hand_thumb_up.jpg", "two_thumbs_up.jpg")
               for t in ("original", "mirrored", "upside_down", "rotated_180")]
# hands that make no gesture: fingers resting on a shoulder, fingers holding glasses
PHOTO_CASES += [(p, t, NONE) for p in ("two_faces.jpg", "business_person.png") for t in ("original", "mirrored")]


def kiosk_draw_floor() -> float:
    """gesture.min_validated_recall of the kiosk's default config: what a kiosk draws by default."""
    from kiosk.config import config_from_dict
    return config_from_dict({}).gesture.min_validated_recall


def predict(model: TFLiteModel, X: np.ndarray, min_conf: float) -> tuple[np.ndarray, np.ndarray]:
    probs = np.stack([model.predict(x[None, :])[0] for x in X]) if len(X) else np.zeros((0, len(LABELS)))
    pred = probs.argmax(1)
    pred[probs.max(1) < min_conf] = LABELS.index(NONE)
    return pred, probs


def blocked_fold_predictions(work: Path, manifest: dict, real, min_conf: float):
    """The blocked-fold runs of train.py pooled: every real row predicted once by the fold model
    that did not train on it. Returns true labels, predictions, sources and probabilities."""
    parts = []
    for r in manifest["runs"]:
        if r["kind"] == "blocked_fold":
            idx = np.load(work / r["val_indices"])
            pred, probs = predict(TFLiteModel(work / r["model"]), real.X[idx], min_conf)
            parts.append((real.y[idx], pred, real.source[idx], probs))
    if not parts:
        raise ValueError(f"{work}: no blocked-fold runs in runs.json (trained with --skip-validation?)")
    return tuple(np.concatenate(column) for column in zip(*parts))


def per_class(y, pred, classes=None):
    classes = sorted(set(y.tolist())) if classes is None else classes
    out = {}
    for c in classes:
        tp = int(((pred == c) & (y == c)).sum())
        n_true, n_pred = int((y == c).sum()), int((pred == c).sum())
        out[LABELS[c]] = {"recall": tp / n_true if n_true else None,
                          "precision": tp / n_pred if n_pred else None, "support": n_true}
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
    cv2.putText(img, "rows: true class, columns: predicted (counts, shade = row share)", (10, 46),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    for j, name in enumerate(LABELS):  # column labels, written upwards
        label = np.full((20, top - 62, 3), 255, np.uint8)
        cv2.putText(label, name, (2, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        label = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
        x = left + j * cell + cell // 2 - 10
        img[55:55 + label.shape[0], x:x + 20] = label
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
                cv2.putText(img, text, (x0 + 4, y0 + cell // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, ink, 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)


def photo_check(photos_dir: Path, clf: GestureClassifier):
    import cv2

    from kiosk.vision.hands import HandDetector

    transforms = {"original": lambda im: im, "mirrored": lambda im: cv2.flip(im, 1),
                  "upside_down": lambda im: cv2.flip(im, 0), "rotated_180": lambda im: cv2.flip(im, -1)}
    results = []
    with HandDetector(max_hands=2, static_image_mode=True) as det:
        for photo, t, expected in PHOTO_CASES:
            img = cv2.imread(str(photos_dir / photo))
            if img is None:
                continue
            for hand in det.detect(transforms[t](img)):
                r = clf.classify(hand)
                results.append({"photo": photo, "transform": t, "handedness": hand.handedness, "expected": expected,
                                "predicted": r.label, "confidence": round(r.confidence, 3)})
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--model", default=str(ROOT / "models" / "gesture_classifier.tflite"))
    ap.add_argument("--work", default=str(ROOT / "artifacts" / "gestures"))
    ap.add_argument("--no-update-meta", action="store_true")
    args = ap.parse_args(argv)

    work = Path(args.work)
    manifest = json.loads((work / "runs.json").read_text())
    real = load_all(args.datasets, manifest.get("collected", []))
    if len(real) != manifest["rows"]:
        sys.exit(f"dataset rows changed ({len(real)} vs {manifest['rows']} at training): retrain first")
    meta_path = Path(args.model).with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    min_conf = float(meta["min_confidence"])
    REPORT.mkdir(parents=True, exist_ok=True)
    metrics = {"min_confidence": min_conf, "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "command": ".venv/bin/python -m training.gestures.evaluate " + " ".join(argv or sys.argv[1:])}

    # 1. blocked folds, pooled: every real row is predicted once by the fold model that did not train on it
    runs = {r["name"]: r for r in manifest["runs"]}
    fold_y, fold_pred, fold_src, fold_probs = blocked_fold_predictions(work, manifest, real, min_conf)
    blocked = per_class(fold_y, fold_pred)
    metrics["blocked_folds"] = {"per_class": blocked, "macro_recall": macro_recall(blocked),
                                "rows": int(len(fold_y)),
                                "per_source_macro_recall": {s: macro_recall(per_class(fold_y[fold_src == s], fold_pred[fold_src == s]))
                                                            for s in sorted(set(fold_src))},
                                # real rows of other gestures taken for a class no real data has
                                "real_rows_predicted_as": {LABELS[c]: int((fold_pred == LABELS.index(LABELS[c])).sum())
                                                           for c in range(len(LABELS)) if LABELS[c] in SYNTHETIC_ONLY}}
    draw_confusion(confusion(fold_y, fold_pred), REPORT / "confusion_matrix.png",
                   "Real landmarks, blocked 5-fold validation (int8 models)")

    # 2. cross-dataset and synthetic-only -> real
    metrics["cross_dataset"] = {}
    for name, r in runs.items():
        if r["kind"] not in ("cross_dataset", "sim_to_real"):
            continue
        idx = np.load(work / r["val_indices"])
        pred, _ = predict(TFLiteModel(work / r["model"]), real.X[idx], min_conf)
        stats = per_class(real.y[idx], pred)
        train_src = name.split("_")[1] if r["kind"] == "cross_dataset" else None
        # classes the training source had real rows of (others were learnt from synthetic poses only)
        seen = set(real.y[real.source == train_src].tolist()) if train_src else set()
        entry = {"per_class": stats, "macro_recall": macro_recall(stats),
                 "classes_with_real_training_rows": [LABELS[c] for c in sorted(seen & set(real.y[idx].tolist()))]}
        if seen:
            entry["macro_recall_on_those"] = macro_recall({k: v for k, v in stats.items() if LABELS.index(k) in seen})
        (metrics["cross_dataset"] if r["kind"] == "cross_dataset" else metrics).__setitem__(
            name if r["kind"] == "cross_dataset" else "synthetic_only_to_real", entry)

    # 3. the shipped model on fresh synthetic hands (other random "subjects" than training)
    clf = GestureClassifier(args.model, meta_path)
    sX, snames = generate(LABELS, SYNTH_VAL_PER_CLASS, manifest["synthetic_val_seed"])
    sy = np.array([LABELS.index(n) for n in snames])
    spred, _ = predict(clf.model, sX, min_conf)
    synth = per_class(sy, spred)
    none_idx = LABELS.index(NONE)
    metrics["synthetic_validation"] = {
        "per_class": synth, "macro_recall": macro_recall(synth), "per_class_count": SYNTH_VAL_PER_CLASS,
        "none_false_accept_rate": float((spred[sy == none_idx] != none_idx).mean()),
    }
    draw_confusion(confusion(sy, spred), REPORT / "confusion_matrix_synthetic.png",
                   f"Synthetic hands (seed {manifest['synthetic_val_seed']}), shipped model")

    # 3b. the min_confidence trade-off: real recall (blocked folds) against relaxed hands accepted
    _, none_probs = predict(clf.model, sX[sy == none_idx], 0.0)
    sweep = {}
    for t in (0.0, 0.5, 0.6, 0.7, 0.8, 0.9):
        p = fold_probs.argmax(1)
        p[fold_probs.max(1) < t] = none_idx
        pn = none_probs.argmax(1)
        pn[none_probs.max(1) < t] = none_idx
        stats = per_class(fold_y, p)
        sweep[f"{t:.1f}"] = {"real_macro_recall": round(macro_recall(stats), 4),
                             "real_recall": {k: round(v["recall"], 4) for k, v in stats.items()},
                             "synthetic_none_false_accept": round(float((pn != none_idx).mean()), 4)}
    metrics["min_confidence_sweep"] = sweep

    # 4. real photos through MediaPipe
    photos_dir = Path(args.datasets) / "photos"
    try:
        photos = photo_check(photos_dir, clf) if photos_dir.is_dir() else []
    except ImportError as exc:
        photos = []
        print(f"photo check skipped: {exc}")
    metrics["photos"] = {"cases": photos, "correct": sum(p["predicted"] == p["expected"] for p in photos),
                         "hands": len(photos)}

    # what the kiosk may draw: real-validated classes, recall from the blocked folds
    validated_recall, validated_on = {}, {}
    for label in LABELS:
        if label == NONE:
            continue
        if label in blocked and label not in SYNTHETIC_ONLY:
            validated_recall[label] = round(blocked[label]["recall"], 4)
            validated_on[label] = "real"
        else:
            validated_recall[label] = 0.0   # not measurable on real landmarks: keep out of the draw
            validated_on[label] = "synthetic"
    metrics["validated_recall"] = validated_recall
    metrics["validated_on"] = validated_on
    metrics["challenge_labels"] = [k for k, v in validated_recall.items()
                                   if validated_on[k] == "real" and v >= DRAW_MIN_RECALL]
    metrics["kiosk_draw_floor"] = kiosk_draw_floor()
    metrics["kiosk_draws"] = [k for k, v in validated_recall.items()
                              if validated_on[k] == "real" and v >= metrics["kiosk_draw_floor"]]
    (REPORT / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (REPORT / "report.md").write_text(render(metrics), encoding="utf-8")

    if not args.no_update_meta:
        meta["validated_recall"] = validated_recall
        meta["validated_on"] = validated_on
        meta["synthetic_recall"] = {k: round(v["recall"], 4) for k, v in synth.items()}
        # the same blocked-fold recall at other thresholds, for a kiosk configured differently
        meta["validated_recall_by_min_confidence"] = {t: e["real_recall"] for t, e in sweep.items() if t != "0.0"}
        meta["validation"] = ("validated_recall: real MediaPipe landmarks, blocked 5-fold validation (contiguous "
                              "blocks of each dataset/class in file order, 10-row gap; no subject ids exist), "
                              "int8 model, min_confidence applied. Classes with validated_on='synthetic' have no "
                              "real data: validated_recall 0.0, synthetic_recall measured on fresh synthetic hands.")
        meta["evaluated"] = metrics["created"]
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print((REPORT / "report.md").read_text())


def _fmt(v):
    return "-" if v is None else f"{v:.3f}"


def render(m) -> str:
    lines = ["# Gesture classifier evaluation", "",
             f"Generated {m['created']} by `{m['command']}`; min_confidence {m['min_confidence']} applied "
             "(a prediction under it counts as 'none').", "",
             "## Real landmarks, blocked 5-fold validation",
             f"{m['blocked_folds']['rows']} rows; macro recall **{_fmt(m['blocked_folds']['macro_recall'])}**; per source: "
             + ", ".join(f"{k} {_fmt(v)}" for k, v in m["blocked_folds"]["per_source_macro_recall"].items()),
             "Real rows predicted as a class without real data (false alarms of synthetic-only classes, and 'none'): "
             + ", ".join(f"{k} {v}" for k, v in m["blocked_folds"]["real_rows_predicted_as"].items()), "",
             "| class | recall | precision | support |", "|---|---|---|---|"]
    for k, v in m["blocked_folds"]["per_class"].items():
        lines.append(f"| {k} | {_fmt(v['recall'])} | {_fmt(v['precision'])} | {v['support']} |")
    lines += ["", "![confusion matrix](confusion_matrix.png)", "", "## Cross-dataset (train on one dataset, validate on the other)"]
    for name, e in m["cross_dataset"].items():
        lines += ["", f"### {name}", f"macro recall {_fmt(e['macro_recall'])}; on classes the training dataset had real rows of "
                  f"({', '.join(e['classes_with_real_training_rows']) or 'none'}): {_fmt(e.get('macro_recall_on_those'))}", "",
                  "| class | recall | precision | support |", "|---|---|---|---|"]
        lines += [f"| {k} | {_fmt(v['recall'])} | {_fmt(v['precision'])} | {v['support']} |" for k, v in e["per_class"].items()]
    if "synthetic_only_to_real" in m:
        e = m["synthetic_only_to_real"]
        lines += ["", "## Synthetic-only model on every real row (how far the hand-pose generator transfers)",
                  f"macro recall {_fmt(e['macro_recall'])}", "", "| class | recall | precision | support |", "|---|---|---|---|"]
        lines += [f"| {k} | {_fmt(v['recall'])} | {_fmt(v['precision'])} | {v['support']} |" for k, v in e["per_class"].items()]
    s = m["synthetic_validation"]
    lines += ["", f"## Shipped model on fresh synthetic hands ({s['per_class_count']} per class)",
              f"macro recall {_fmt(s['macro_recall'])}; relaxed/half-formed hands accepted as a gesture: "
              f"{s['none_false_accept_rate']:.3f}", "", "| class | recall | precision |", "|---|---|---|"]
    lines += [f"| {k} | {_fmt(v['recall'])} | {_fmt(v['precision'])} |" for k, v in s["per_class"].items()]
    lines += ["", "![synthetic confusion matrix](confusion_matrix_synthetic.png)", "",
              "## min_confidence trade-off (blocked folds, real rows; synthetic relaxed hands)", "",
              "| min_confidence | real macro recall | lowest class recall | relaxed hands accepted as a gesture |",
              "|---|---|---|---|"]
    for t, e in m["min_confidence_sweep"].items():
        low = min(e["real_recall"].items(), key=lambda kv: kv[1])
        lines.append(f"| {t} | {e['real_macro_recall']:.3f} | {low[0]} {low[1]:.3f} | {e['synthetic_none_false_accept']:.3f} |")
    lines += ["",
              f"## Real photos through MediaPipe: {m['photos']['correct']}/{m['photos']['hands']} hands correct", "",
              "| photo | transform | MediaPipe handedness | expected | predicted | confidence |", "|---|---|---|---|---|---|"]
    lines += [f"| {p['photo']} | {p['transform']} | {p['handedness']} | {p['expected']} | {p['predicted']} | {p['confidence']} |"
              for p in m["photos"]["cases"]]
    lines += ["", "## Challenge draw", f"validated on real landmarks with recall >= {DRAW_MIN_RECALL} (the target): "
              + ", ".join(m["challenge_labels"]),
              f"drawn by a kiosk with the default `gesture.min_validated_recall = {m['kiosk_draw_floor']}`: "
              + ", ".join(m["kiosk_draws"]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
