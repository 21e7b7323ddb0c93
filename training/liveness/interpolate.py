"""A study (training venv): a liveness model on the straight line between two students in weight space.

    PYTHONPATH=. /work/venvs/train/bin/python training/liveness/interpolate.py WORK \
        --strict STRICT.keras --kind KIND.keras|published --alpha 0.7 --out OUT.keras

theta = (1 - alpha) * theta_kind + alpha * theta_strict, array by array ("WiSE-FT": Wortsman et al.,
Robust fine-tuning of zero-shot models, 2022). Both ends must come from the same start (the published
MiniFASNetV2 with ReLU, `train.py --activation relu`) with BatchNorm frozen, as every student here is,
so their BatchNorm statistics are the same and a mixed model is a model of the same family. `published`
is that start itself (WORK/MiniFASNetV2.npz). Then export.py makes the runtime's int8 file as for any
student; study_crop_proxy.py and evaluate.py judge it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", type=Path, help="holds MiniFASNetV2.npz (for --kind published)")
    ap.add_argument("--strict", type=Path, required=True, help="the student of the shipped recipe (.keras)")
    ap.add_argument("--kind", required=True, help="the other end: a .keras student, or 'published'")
    ap.add_argument("--alpha", type=float, required=True, help="weight of the strict end, 0..1")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if not 0.0 <= args.alpha <= 1.0:
        ap.error(f"--alpha {args.alpha}: must be between 0 and 1")
    import keras
    import minifasnet
    from train import live_prob_model

    strict = keras.models.load_model(args.strict, safe_mode=False)
    if args.kind == "published":
        weights = minifasnet.load_state_npz(args.work / "MiniFASNetV2.npz")
        kind = live_prob_model(minifasnet.build(weights, dropout=0.2, activation="relu"))
    else:
        kind = keras.models.load_model(args.kind, safe_mode=False)
    a, b = kind.get_weights(), strict.get_weights()
    if [w.shape for w in a] != [w.shape for w in b]:
        raise SystemExit("the two models do not have the same arrays: not students of one start")
    strict.set_weights([(1.0 - args.alpha) * x + args.alpha * y for x, y in zip(a, b, strict=True)])
    moved = sum(float(np.abs(x - y).sum()) for x, y in zip(a, b, strict=True))
    strict.save(args.out)
    print(f"{args.out}: alpha {args.alpha} between {args.kind} and {args.strict} (total |difference| {moved:.1f})")


if __name__ == "__main__":
    main()
