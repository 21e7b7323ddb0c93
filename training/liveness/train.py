"""Step 3 (training venv): fine-tune the ported MiniFASNetV2 on NUAA train subjects + synthetic
screen replays + capture augmentation, validate on held-out subjects.

    /work/venvs/train/bin/python training/liveness/train.py ../shared/datasets artifacts/liveness \
        [--epochs 4] [--lr 1e-4]

Output: <work>/liveness_finetuned.keras (input 80x80x3 BGR 0..255, output P(live)) and
training/liveness/report/train_log.json (loss per epoch, float val metrics before/after).
BatchNorm statistics stay frozen at the pretrained values: 6 subjects are too few to re-estimate them
without pulling the network towards NUAA's one camera.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
HERE = Path(__file__).resolve().parent
SCALE = 2.7


def live_prob_model(base):
    import keras

    probs = keras.layers.Softmax(name="softmax")(base.output)
    live = keras.layers.Lambda(lambda p: p[:, 1:2], name="p_live")(probs)  # index 1 = live
    return keras.Model(base.input, live, name="liveness")


def tflite_live_scores(path, x):
    """P(live) of a TFLite liveness model (int8 or float I/O) on float crops, one at a time."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    d_in, d_out = interp.get_input_details()[0], interp.get_output_details()[0]
    s_in, z_in = d_in["quantization"]
    s_out, z_out = d_out["quantization"]
    out = np.empty(len(x), np.float32)
    for i, c in enumerate(x):
        c = c[None].astype(np.float32)
        if s_in:
            c = np.clip(np.round(c / s_in + z_in), -128, 127).astype(d_in["dtype"])
        interp.set_tensor(d_in["index"], c)
        interp.invoke()
        y = interp.get_tensor(d_out["index"]).astype(np.float32).ravel()[0]
        out[i] = (y - z_out) * s_out if s_out else y
    return np.clip(out, 0.0, 1.0)


def build_train_set(
    frames,
    index,
    rng,
    screens_per_real=2,
    aug_copies=1,
    light_copies=1,
    screen_light=0.3,
    with_clean=False,
    hard_capture=False,
):
    """Crops for training and, with_clean, row for row the same crops before bad light was added
    (`x_clean`, else None): a teacher that never learnt dark rooms judges the well-lit version, so
    the student learns that light does not change the answer. Only a distilled run needs them."""
    import copy

    import augment
    import data

    tr = np.where(~data.split_mask(index))[0]
    real = tr[index["label"][tr] == 1]
    imgs, clean, boxes, ys, kinds = [], [], [], [], []

    def add(img, before, box, y, kind):
        imgs.append(img)
        clean.append(before)
        boxes.append(box)
        ys.append(y)
        kinds.append(kind)

    for i in tr:  # recorded frames, plus capture- and light-augmented copies, both classes alike
        y, kind = index["label"][i], ("real" if index["label"][i] else "print")
        add(frames[i], frames[i], index["bbox"][i], y, kind)
        for _ in range(aug_copies):
            add(augment.capture(frames[i], rng, hard=hard_capture), frames[i], index["bbox"][i], y, kind)
        for _ in range(light_copies):
            lit = augment.light(frames[i], index["bbox"][i], rng)
            add(augment.capture(lit, rng, strength=0.5), frames[i], index["bbox"][i], y, kind)
    for _ in range(screens_per_real):
        for i in real:
            bg = frames[int(rng.choice(tr))]
            img, box = augment.screen_replay(frames[i], index["bbox"][i], rng, background=bg)
            lit = light_copies > 0 and rng.random() < screen_light  # a replay in a dark room or against a window
            shot = augment.light(img, box, rng) if lit else img
            if hard_capture and rng.random() < 0.5:  # a far, moving or cheap camera films the screen too
                shot = augment.capture(shot, rng, strength=0.5 if lit else 1.0, hard=True)
            add(shot, img, box, 0, "screen")
    crop_rng = copy.deepcopy(rng)  # the same box jitter for a crop and its clean twin
    x = data.make_crops(imgs, {"bbox": np.array(boxes)}, SCALE, jitter=(0.06, 0.12), rng=rng)
    x_clean = (
        data.make_crops(clean, {"bbox": np.array(boxes)}, SCALE, jitter=(0.06, 0.12), rng=crop_rng)
        if with_clean
        else None
    )
    return x, x_clean, np.array(ys, np.float32), np.array(kinds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--activation",
        choices=("prelu", "relu"),
        default="prelu",
        help="relu: PReLU slopes dropped before fine-tuning (3x faster int8 on one core)",
    )
    ap.add_argument("--out", default="liveness_finetuned.keras", help="file name in <work>")
    ap.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="a .tflite liveness model whose P(live) on the training crops is mixed into the targets "
        "(distillation: keeps a --activation relu student close to the shipped PReLU model)",
    )
    ap.add_argument(
        "--light-copies", type=int, default=1, help="bad-light copies of every training frame (augment.light)"
    )
    ap.add_argument(
        "--screen-light",
        type=float,
        default=0.3,
        help="share of the synthetic screen replays shown in bad light (a replay against a window); "
        "0.6 was tried and made screen replays pass far more often (models/liveness.md)",
    )
    ap.add_argument("--distill", type=float, default=0.7, help="weight of the teacher in the targets")
    ap.add_argument(
        "--screen-share",
        type=float,
        default=0.5,
        help="share of the attack crops' total weight given to the synthetic screen replays (the rest to "
        "prints); the attacks together weigh as much as the live crops",
    )
    ap.add_argument(
        "--hard-capture",
        action="store_true",
        help="capture augmentation also of far faces (fewer pixels), longer motion blur and stronger JPEG, "
        "and on the synthetic screen replays too (augment.capture hard=True)",
    )
    ap.add_argument(
        "--train-from",
        default="",
        help="freeze every layer before the first whose name starts with this (e.g. conv_34): the "
        "published early features stay as they are, only the later layers learn from the 6 subjects",
    )
    ap.add_argument("--report", type=Path, default=HERE / "report", help="where the training log goes")
    args = ap.parse_args()
    if not 0.0 < args.screen_share < 1.0:
        ap.error(f"--screen-share {args.screen_share}: must be between 0 and 1")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    keras.utils.set_random_seed(args.seed)
    import data
    import minifasnet
    import valset

    t0 = time.time()
    index = data.load_index(args.work)
    frames = data.load_frames(args.datasets, index)
    rng = np.random.default_rng(args.seed)
    x, x_clean, y, kinds = build_train_set(
        frames,
        index,
        rng,
        light_copies=args.light_copies,
        screen_light=args.screen_light,
        with_clean=bool(args.teacher),
        hard_capture=args.hard_capture,
    )
    val = valset.build(frames, index, SCALE)
    print(
        f"train {len(y)} crops ({dict(zip(*np.unique(kinds, return_counts=True), strict=False))}), "
        f"val { ({k: len(v[0]) for k, v in val.items()}) }, {time.time() - t0:.0f}s",
        flush=True,
    )

    base = minifasnet.build(
        minifasnet.load_state_npz(args.work / "MiniFASNetV2.npz"), dropout=0.2, activation=args.activation
    )
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    if args.train_from:
        names = [layer.name for layer in base.layers]
        first = next((i for i, n in enumerate(names) if n.startswith(args.train_from)), None)
        if first is None:
            ap.error(f"--train-from {args.train_from}: no layer name starts with it")
        for layer in base.layers[:first]:
            layer.trainable = False
    model = live_prob_model(base)

    def val_scores():
        return {k: model.predict(v[0].astype(np.float32), batch_size=256, verbose=0).ravel() for k, v in val.items()}

    log = {
        "epochs": args.epochs,
        "lr": args.lr,
        "seed": args.seed,
        "activation": args.activation,
        "light_copies": args.light_copies,
        "screen_light": args.screen_light,
        "hard_capture": args.hard_capture,
        "train_from": args.train_from,
        "screen_share": args.screen_share,
        "out": args.out,
        "train_counts": {k: int(n) for k, n in zip(*np.unique(kinds, return_counts=True), strict=False)},
        "val_subjects": list(data.VAL_SUBJECTS),
    }
    before = val_scores()
    log["pretrained_val@0.5"] = data.frame_metrics(before, 0.5)
    print("pretrained", log["pretrained_val@0.5"], flush=True)

    # balance live against all attacks together, and print against screen (--screen-share)
    w = np.where(y == 1, 1.0, 0.0)
    for k, share in (("print", 1.0 - args.screen_share), ("screen", args.screen_share)):
        w[kinds == k] = share * (y == 1).sum() / (kinds == k).sum()
    target = y
    if args.teacher:
        t = tflite_live_scores(args.teacher, x_clean)
        target = ((1.0 - args.distill) * y + args.distill * t).astype(np.float32)
        log.update(
            teacher=str(args.teacher),
            distill=args.distill,
            teacher_train_agreement=float(((t >= 0.5) == (y == 1)).mean()),
        )
        print(
            f"teacher {args.teacher}: agrees with the labels on {log['teacher_train_agreement']:.4f} of train crops",
            flush=True,
        )
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="binary_crossentropy")
    hist = model.fit(
        x.astype(np.float32),
        target,
        sample_weight=w.astype(np.float32),
        batch_size=64,
        epochs=args.epochs,
        shuffle=True,
        verbose=2,
    )
    log["loss"] = [float(v) for v in hist.history["loss"]]
    after = val_scores()
    log["finetuned_val@0.5"] = data.frame_metrics(after, 0.5)
    print("fine-tuned", log["finetuned_val@0.5"], flush=True)
    model.save(args.work / args.out)
    log["seconds"] = round(time.time() - t0, 1)
    args.report.mkdir(parents=True, exist_ok=True)
    (
        args.report / ("train_log.json" if args.activation == "prelu" else f"train_log_{args.activation}.json")
    ).write_text(json.dumps(log, indent=2))


if __name__ == "__main__":
    main()
