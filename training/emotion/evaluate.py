"""Evaluate the shipped emotion models exactly as the kiosk runs them (runtime venv).

    .venv/bin/python training/emotion/evaluate.py ../shared/datasets --work artifacts/emotion

On the `validation` part of dedup.py's held-out split (no image in it has an exact or near duplicate
in the CNN's training data or in head_train):
- the CNN alone (`EmotionClassifier.cnn_probabilities`, mirror-averaged int8, top class);
- the fused head (`EmotionClassifier.classify_crop` with the blendshapes that
  `kiosk.vision.emotion.crop_blendshapes` found, as features.py stored them), per class: recall and
  false accepts at the runtime's decision rule (class threshold from models/emotion.json, then
  `Judge.matches` incl. [emotion] min_margin), and the same with the blendshapes withheld (the
  CNN-only path of the head, as when the landmarker gives none);
- for contrast, the CNN on the held-out images dropped because a duplicate is in its training data.
Also runs the real sample photos through FaceLandmarkerDetector + classify (a sanity check).
Writes training/emotion/report/{metrics.json,report.md,confusion_matrix.png} and validated_recall,
validated_false_accept and metrics into models/emotion.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from runtime_eval import DRAWN, pass_matrix, rates, runtime_judge  # noqa: E402
from split import load_fer  # noqa: E402

from kiosk.vision.emotion import EmotionClassifier  # noqa: E402


def plot_confusion(cm: np.ndarray, classes: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}\n({cm[i, j]})",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted (top class)")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def confusion(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    cm = np.zeros((k, k), int)
    np.add.at(cm, (y, pred), 1)
    return cm


def photo_predictions(clf: EmotionClassifier, datasets: Path) -> list[dict]:
    """Unlabelled sanity check on the real photos (the runtime's Face Landmarker + classifier)."""
    from kiosk.vision.face import FaceLandmarkerDetector

    rows = []
    with FaceLandmarkerDetector(max_faces=4, static_image_mode=True) as det:
        for p in sorted(glob.glob(str(datasets / "photos" / "*"))):
            img = cv2.imread(p)
            if img is None:
                continue
            for k, face in enumerate(det.detect(img)):
                r = clf.classify(img, face)
                top = sorted(r.probs.items(), key=lambda kv: -kv[1])[:3]
                rows.append(
                    {
                        "photo": Path(p).name,
                        "face": k,
                        "label": r.label,
                        "top": r.top,
                        "margin": round(r.margin, 3),
                        "blendshapes": r.blendshapes_used,
                        "mouthSmile": round(
                            ((face.blendshape("mouthSmileLeft") or 0.0) + (face.blendshape("mouthSmileRight") or 0.0))
                            / 2,
                            3,
                        ),
                        "top3": [(a, round(b, 3)) for a, b in top],
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets")
    ap.add_argument("--work", default="artifacts/emotion")
    ap.add_argument("--model", default="models/emotion.tflite")
    ap.add_argument("--report", default=str(HERE / "report"))
    args = ap.parse_args(argv)
    datasets, work, report = Path(args.datasets), Path(args.work), Path(args.report)
    report.mkdir(parents=True, exist_ok=True)
    images, labels, classes = load_fer(datasets)
    split = np.load(work / "split.npz")
    feats = np.load(work / "features.npz")
    clf = EmotionClassifier(args.model)
    if clf.labels != classes or not clf.fused:
        sys.exit(f"{args.model}: labels {clf.labels} vs {classes}, fused head loaded: {clf.fused}")
    judge = runtime_judge()
    k = len(classes)

    val = split["validation"]
    y = labels[val]
    bs_all = feats["blendshapes"]
    found = ~np.isnan(bs_all[val, 0])
    cnn = np.stack([clf.cnn_probabilities(images[i]) for i in val])
    fused = np.stack([clf.probabilities(images[i], bs_all[i] if f else None) for i, f in zip(val, found, strict=True)])
    cnn_path = np.stack([clf.fuse(c, None) for c in cnn])
    dropped = split["dropped"]
    cnn_dropped = np.array([clf.cnn_probabilities(images[i]).argmax() for i in dropped])

    def summary(probs: np.ndarray, used: np.ndarray) -> dict:
        pred = probs.argmax(1)
        m = pass_matrix(judge, clf, probs, used)
        per = rates(m, y, classes)
        for c in classes:
            own = y == classes.index(c)
            per[c]["top1_recall"] = float(np.mean(pred[own] == classes.index(c)))
        return {
            "accuracy": float(np.mean(pred == y)),
            "per_class": per,
            "confusion_matrix": confusion(y, pred, k).tolist(),
        }

    fused_all = summary(fused, found)
    cnn_only_path = summary(cnn_path, np.zeros(len(y), bool))
    with_bs = {c: float(np.mean(fused[found & (y == j)].argmax(1) == j)) for j, c in enumerate(classes)}
    results = {
        "split": json.loads(str(split["stats"])),
        "validation_n": len(val),
        "landmarker_found_face": {
            "validation": float(found.mean()),
            "head_train": float(np.mean(~np.isnan(bs_all[split["head_train"], 0]))),
        },
        "cnn_alone": {
            "accuracy": float(np.mean(cnn.argmax(1) == y)),
            "recall": {c: float(np.mean(cnn[y == j].argmax(1) == j)) for j, c in enumerate(classes)},
            "accuracy_on_dropped_duplicates": float(np.mean(cnn_dropped == labels[dropped])) if len(dropped) else None,
            "n_dropped": len(dropped),
        },
        "fused": fused_all,
        "fused_top1_recall_rows_with_blendshapes": with_bs,
        "cnn_only_path_of_head": cnn_only_path,
        "thresholds": clf.thresholds,
        "min_margin": judge.emotion_min_margin,
        "photos": photo_predictions(clf, datasets),
    }
    (report / "metrics.json").write_text(json.dumps(results, indent=1) + "\n")
    # The validation indices into fer2013_train.npz, so tests check the same faces without the
    # minutes-long duplicate search.
    (report / "validation_index.txt").write_text(" ".join(str(int(i)) for i in val) + "\n")
    plot_confusion(
        np.array(fused_all["confusion_matrix"]),
        classes,
        report / "confusion_matrix.png",
        f"validation, fused head (top-class acc {fused_all['accuracy']:.3f})",
    )
    for old in ("reliability_diagram.png",):
        (report / old).unlink(missing_ok=True)

    s = results["split"]
    lines = [
        "# Emotion model evaluation (CNN + blendshape head)",
        "",
        f"Command: `.venv/bin/python training/emotion/evaluate.py {args.datasets} --work {args.work}` "
        "(through `kiosk.vision.emotion.EmotionClassifier` and the session's `Judge`).",
        "",
        f"Duplicates: {s['exact_duplicate_images']} exact duplicate images, {s['near_pairs']} near-duplicate pairs "
        f"(16x16 correlation >= {s['near_threshold']}, mirrored too) -> {s['groups']} groups; "
        f"{s['duplicate_images_total']} images are a duplicate of another. Held-out images dropped because a "
        f"duplicate is in the CNN's training part: {s['n_dropped']}. head_train {s['n_head_train']}, "
        f"validation {s['n_validation']}.",
        "",
        f"- Face Landmarker found a face in {found.mean():.3f} of validation images "
        f"(head_train: {results['landmarker_found_face']['head_train']:.3f}); the others take the head's CNN-only path.",
        f"- CNN alone: accuracy **{results['cnn_alone']['accuracy']:.4f}** (target 0.66); on the "
        f"{len(dropped)} dropped duplicates of its training faces: "
        f"{results['cnn_alone']['accuracy_on_dropped_duplicates'] or float('nan'):.4f}",
        f"- fused head: top-class accuracy **{fused_all['accuracy']:.4f}**; its CNN-only path "
        f"{cnn_only_path['accuracy']:.4f}",
        "",
        f"Decision rule: top class, its probability >= the class threshold, margin >= {judge.emotion_min_margin}.",
        "",
        "| class | n | threshold | recall | false accept | CNN-only path recall / FA | top-1 recall fused | CNN alone top-1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in classes:
        p, q = fused_all["per_class"][c], cnn_only_path["per_class"][c]
        mark = " (drawn kind)" if c in DRAWN else ""
        lines.append(
            f"| {c}{mark} | {p['n']} | {clf.thresholds.get(c, 0.0):.2f} | **{p['recall']:.3f}** | "
            f"**{p['false_accept']:.4f}** | {q['recall']:.3f} / {q['false_accept']:.4f} | "
            f"{p['top1_recall']:.3f} | {results['cnn_alone']['recall'][c]:.3f} |"
        )
    lines += [
        "",
        "Recall = share of that class's validation faces that pass its challenge in one frame; false "
        "accept = share of all other validation faces that pass it.",
        "",
        "![confusion matrix](confusion_matrix.png)",
        "",
        "Unlabelled real photos (Face Landmarker + classify, sanity check only):",
        "",
        "| photo | face | label | top | margin | blendshapes | mouthSmile | top 3 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['photo']} | {r['face']} | {r['label']} | {r['top']} | {r['margin']} | {r['blendshapes']} | "
        f"{r['mouthSmile']} | {r['top3']} |"
        for r in results["photos"]
    ]
    (report / "report.md").write_text("\n".join(lines) + "\n")

    meta_path = Path(clf.model_path).with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["validated_recall"] = {c: round(fused_all["per_class"][c]["recall"], 4) for c in classes}
    meta["validated_false_accept"] = {c: round(fused_all["per_class"][c]["false_accept"], 4) for c in classes}
    meta["validated_on"] = (
        f"FER2013 validation part of training/emotion/dedup.py (n={len(val)}, no exact or "
        "near duplicate in the CNN's or the head's training data), int8 CNN + head, one frame, "
        f"at the class thresholds and min_margin {judge.emotion_min_margin}"
    )
    meta["metrics"] = {
        "cnn_alone_accuracy": round(results["cnn_alone"]["accuracy"], 4),
        "fused_accuracy": round(fused_all["accuracy"], 4),
        "cnn_only_path_accuracy": round(cnn_only_path["accuracy"], 4),
        "landmarker_found_face": round(float(found.mean()), 4),
    }
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("\n".join(lines[:20]))
    print(f"wrote {report}/ and updated {meta_path}")


if __name__ == "__main__":
    main()
