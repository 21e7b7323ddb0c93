"""Which colour order and box does the published model expect? (training venv, ~3 min)

Scores all NUAA frames (the published weights never saw our split, so all 9 subjects are fair here)
with the ported, *not fine-tuned* MiniFASNetV2 (scale 2.7) and V1SE (scale 4.0), in BGR and RGB, with
and without the mesh-box -> detector-box correction. Writes report/preprocessing.json.

    /work/venvs/train/bin/python training/liveness/study_preprocessing.py ../shared/datasets artifacts/liveness
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    args = ap.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import data
    import minifasnet
    from sklearn.metrics import roc_auc_score

    index = data.load_index(args.work)
    frames = data.load_frames(args.datasets, index)
    y = index["label"]
    b, d = index["bbox"].astype(float), index["det_box"].astype(float)
    ok = d[:, 2] > 0
    box_study = {
        "frames": int(ok.sum()),
        "detector_w_over_mesh_w": float(np.median(d[ok, 2] / b[ok, 2])),
        "detector_h_over_mesh_h": float(np.median(d[ok, 3] / b[ok, 3])),
        "centre_dy_over_mesh_h": float(np.median(((d[ok, 1] + d[ok, 3] / 2) - (b[ok, 1] + b[ok, 3] / 2)) / b[ok, 3])),
        "fraction_where_2.7x_box_exceeds_frame": float(np.mean(2.7 * b[:, 3] > 239)),
    }
    rows = []
    configs = [
        ("MiniFASNetV2", 2.7, True, "BGR"),
        ("MiniFASNetV2", 2.7, True, "RGB"),
        ("MiniFASNetV2", 2.7, False, "BGR"),
        ("MiniFASNetV1SE", 4.0, True, "BGR"),
    ]
    models, crops = {}, {}
    for name, scale, adjusted, order in configs:
        if name not in models:
            models[name] = minifasnet.build(minifasnet.load_state_npz(args.work / f"{name}.npz"))
        key = (scale, adjusted)
        if key not in crops:
            adj = None if adjusted else {"width": 1.0, "height": 1.0, "shift_y": 0.0}
            crops[key] = data.make_crops(frames, index, scale, adjust=adj).astype(np.float32)
        x = crops[key] if order == "BGR" else crops[key][..., ::-1]
        logits = models[name].predict(x, batch_size=256, verbose=0)
        p = tf.nn.softmax(logits).numpy()
        live = p[:, 1]
        row = {
            "model": name,
            "crop_scale": scale,
            "mesh_box_corrected": adjusted,
            "colour_order": order,
            "auc": float(roc_auc_score(y, live)),
            "mean_live_real": float(live[y == 1].mean()),
            "mean_live_print": float(live[y == 0].mean()),
            "real_argmax_live": float((p[y == 1].argmax(1) == 1).mean()),
            "print_argmax_not_live": float((p[y == 0].argmax(1) != 1).mean()),
        }
        print(row, flush=True)
        rows.append(row)
    (HERE / "report").mkdir(exist_ok=True)
    (HERE / "report" / "preprocessing.json").write_text(
        json.dumps({"box": box_study, "zero_shot_all_nuaa": rows}, indent=2)
    )
    print(box_study)


if __name__ == "__main__":
    main()
