"""Calibrate and evaluate models/emotion.tflite exactly as the kiosk runs it (runtime venv).

    .venv/bin/python training/emotion/evaluate.py ../shared/datasets

1. On the val split: decide mirror-averaging (only if it raises val accuracy) and fit the softmax
   temperature (minimum negative log-likelihood).
2. On the untouched test split: accuracy, per-class precision / recall / F1, confusion matrix,
   expected calibration error before / after the temperature, reliability diagram, the challenge
   pass / false-accept rates at the configured margin, and the same metrics on degraded copies
   (low resolution + blur + JPEG) as a proxy for webcam faces.
3. Writes training/emotion/report/{metrics.json,report.md,confusion_matrix.png,reliability_diagram.png}
   and puts temperature, flip_average and validated_recall (test-split recall) into models/emotion.json.
Uses kiosk.vision.emotion.EmotionClassifier, so the figures are those of the runtime code path.
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from split import SEED, load_fer, split_indices  # noqa: E402
from kiosk.vision.emotion import EmotionClassifier  # noqa: E402


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    p = softmax(logits / t)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> tuple[float, list[dict]]:
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    total, rows = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            acc, c = float(np.mean(pred[m] == y[m])), float(conf[m].mean())
            total += m.mean() * abs(acc - c)
            rows.append({"lo": float(lo), "hi": float(hi), "n": int(m.sum()), "accuracy": acc, "confidence": c})
    return float(total), rows


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A webcam-like copy: low resolution, slight blur, JPEG."""
    small = cv2.resize(img, (28, 28), interpolation=cv2.INTER_AREA)
    img = cv2.resize(small, (48, 48), interpolation=cv2.INTER_LINEAR)
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    _, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 60))])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def metrics(probs: np.ndarray, y: np.ndarray, classes: list[str], margin: float) -> dict:
    pred = probs.argmax(1)
    k = len(classes)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y, pred), 1)
    per = {}
    srt = np.sort(probs, axis=1)
    margins = srt[:, -1] - srt[:, -2]
    for i, c in enumerate(classes):
        tp, support, predicted = cm[i, i], cm[i].sum(), cm[:, i].sum()
        prec = tp / predicted if predicted else 0.0
        rec = tp / support if support else 0.0
        confident = (pred == i) & (margins >= margin)
        per[c] = {"support": int(support), "precision": float(prec), "recall": float(rec),
                  "f1": float(2 * prec * rec / (prec + rec)) if prec + rec else 0.0,
                  # challenge view: the user poses c -> passes a frame when c wins by the margin;
                  # someone not showing c -> wrongly passes when c wins by the margin anyway
                  "challenge_pass_rate": float(confident[y == i].mean()) if support else 0.0,
                  "challenge_false_accept_rate": float(confident[y != i].mean())}
    e, _ = ece(probs, y)
    return {"n": int(len(y)), "accuracy": float(np.mean(pred == y)),
            "macro_recall": float(np.mean([per[c]["recall"] for c in classes])),
            "ece_15_bins": e, "per_class": per, "confusion_matrix": cm.tolist()}


def plot_confusion(cm: np.ndarray, classes: list[str], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{norm[i, j]:.2f}\n({cm[i, j]})", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(before: list[dict], after: list[dict], e0: float, e1: float, t: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    for rows, lab, mk in ((before, f"T=1 (ECE {e0:.3f})", "o-"), (after, f"T={t:.2f} (ECE {e1:.3f})", "s-")):
        rows = [r for r in rows if r["n"] >= 10]  # a bin of 2 faces says nothing
        ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], mk, label=lab)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability, FER2013 test split (bins with n >= 10)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def photo_predictions(clf: EmotionClassifier, datasets: Path) -> list[dict]:
    """Unlabelled sanity check on the real photos (runs MediaPipe like the kiosk)."""
    try:
        from kiosk.vision.face import FaceMeshDetector
    except ImportError:
        return []
    rows = []
    with FaceMeshDetector(max_faces=4, static_image_mode=True) as det:
        for p in sorted(glob.glob(str(datasets / "photos" / "*"))):
            img = cv2.imread(p)
            if img is None:
                continue
            for k, face in enumerate(det.detect(img)):
                r = clf.classify(img, face)
                top = sorted(r.probs.items(), key=lambda kv: -kv[1])[:3]
                rows.append({"photo": Path(p).name, "face": k, "label": r.label, "margin": round(r.margin, 3),
                             "top3": [(a, round(b, 3)) for a, b in top]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets")
    ap.add_argument("--model", default="models/emotion.tflite")
    ap.add_argument("--report", default=str(HERE / "report"))
    ap.add_argument("--margin", type=float, default=0.15, help="challenge margin ([emotion] min_margin)")
    args = ap.parse_args()
    datasets, report = Path(args.datasets), Path(args.report)
    report.mkdir(parents=True, exist_ok=True)

    images, labels, classes = load_fer(datasets)
    parts = split_indices(images, labels)
    clf = EmotionClassifier(args.model)
    assert clf.labels == classes, (clf.labels, classes)

    def logits_of(idx, flip, imgs=images):
        return np.stack([clf.logits(imgs[i], flip_average=flip) for i in idx])

    y_val, y_test = labels[parts["val"]], labels[parts["test"]]
    t0 = time.time()
    val_plain, val_flip = logits_of(parts["val"], False), logits_of(parts["val"], True)
    acc_plain, acc_flip = np.mean(val_plain.argmax(1) == y_val), np.mean(val_flip.argmax(1) == y_val)
    flip = bool(acc_flip > acc_plain)
    val_logits = val_flip if flip else val_plain
    grid = np.arange(0.5, 3.0001, 0.01)
    temperature = round(float(grid[np.argmin([nll(val_logits, y_val, t) for t in grid])]), 2)
    print(f"val accuracy plain {acc_plain:.4f} mirror-averaged {acc_flip:.4f} -> flip_average={flip}; "
          f"temperature {temperature:.2f} ({time.time() - t0:.0f}s)", flush=True)

    test_logits = logits_of(parts["test"], flip)
    probs_raw, probs = softmax(test_logits), softmax(test_logits / temperature)
    test = metrics(probs, y_test, classes, args.margin)
    e0, rows0 = ece(probs_raw, y_test)
    e1, rows1 = ece(probs, y_test)
    test["ece_15_bins_uncalibrated"] = e0
    test["nll_uncalibrated"], test["nll"] = nll(test_logits, y_test, 1.0), nll(test_logits, y_test, temperature)

    rng = np.random.default_rng(SEED)
    degraded = np.stack([degrade(images[i], rng) for i in parts["test"]])
    deg_logits = logits_of(range(len(degraded)), flip, degraded)
    test_degraded = metrics(softmax(deg_logits / temperature), y_test, classes, args.margin)

    photos = photo_predictions(clf, datasets)
    results = {
        "model": args.model, "model_bytes": Path(clf.model_path).stat().st_size,
        "split_seed": SEED, "val": {"n": int(len(y_val)), "accuracy_plain": float(acc_plain),
                                    "accuracy_mirror_averaged": float(acc_flip)},
        "flip_average": flip, "temperature": temperature, "margin": args.margin,
        "test": test, "test_degraded": {k: v for k, v in test_degraded.items() if k != "confusion_matrix"},
        "photos": photos,
    }
    (report / "metrics.json").write_text(json.dumps(results, indent=1) + "\n")
    plot_confusion(np.array(test["confusion_matrix"]), classes, report / "confusion_matrix.png",
                   f"FER2013 test split, int8 model (acc {test['accuracy']:.3f})")
    plot_reliability(rows0, rows1, e0, e1, temperature, report / "reliability_diagram.png")

    lines = [
        "# Emotion model evaluation", "",
        f"Command: `.venv/bin/python training/emotion/evaluate.py {args.datasets}` (runtime venv, "
        f"int8 `{args.model}` through `kiosk.vision.emotion.EmotionClassifier`).", "",
        f"Split: duplicate-grouped stratified 80/10/10, seed {SEED}. Val (n={len(y_val)}) chose "
        f"mirror-averaging={flip} (plain {acc_plain:.4f}, mirrored {acc_flip:.4f}) and temperature "
        f"T={temperature:.2f}. Everything below is on the untouched test split (n={len(y_test)}).", "",
        f"- accuracy **{test['accuracy']:.4f}**, macro recall {test['macro_recall']:.4f}",
        f"- ECE (15 bins) {e0:.4f} at T=1 -> {e1:.4f} at T={temperature:.2f}; NLL "
        f"{test['nll_uncalibrated']:.4f} -> {test['nll']:.4f}",
        f"- degraded copies (28 px, blur, JPEG 30-60): accuracy {test_degraded['accuracy']:.4f}, "
        f"macro recall {test_degraded['macro_recall']:.4f}", "",
        f"| class | support | precision | recall | F1 | recall degraded | challenge pass (margin {args.margin}) "
        "| challenge false accept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in classes:
        p, d = test["per_class"][c], test_degraded["per_class"][c]
        lines.append(f"| {c} | {p['support']} | {p['precision']:.3f} | {p['recall']:.3f} | {p['f1']:.3f} | "
                     f"{d['recall']:.3f} | {p['challenge_pass_rate']:.3f} | {p['challenge_false_accept_rate']:.3f} |")
    lines += ["", "Challenge pass = share of test faces of that class whose top class is that class with at least "
              "the margin over the runner-up (per single frame); false accept = the same for faces of other classes.",
              "", "![confusion matrix](confusion_matrix.png)", "", "![reliability](reliability_diagram.png)", ""]
    if photos:
        lines += ["Unlabelled real photos (MediaPipe + align_face, sanity check only):", "",
                  "| photo | face | label | margin | top 3 |", "|---|---|---|---|---|"]
        lines += [f"| {r['photo']} | {r['face']} | {r['label']} | {r['margin']} | {r['top3']} |" for r in photos]
    (report / "report.md").write_text("\n".join(lines) + "\n")

    meta_path = Path(clf.model_path).with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["temperature"] = temperature
    meta["input"]["flip_average"] = flip
    meta["validated_recall"] = {c: round(test["per_class"][c]["recall"], 4) for c in classes}
    meta["validated_on"] = f"FER2013 test split of training/emotion/split.py (n={len(y_test)}), int8 model"
    meta["metrics"] = {"test_accuracy": round(test["accuracy"], 4), "test_macro_recall": round(test["macro_recall"], 4),
                       "test_ece": round(e1, 4), "test_degraded_accuracy": round(test_degraded["accuracy"], 4)}
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("\n".join(lines[:12]))
    print(f"wrote {report}/ and updated {meta_path}")


if __name__ == "__main__":
    main()
