"""Step 2 (training venv + torch, only to read the .pth): port the MiniFASNet weights to Keras and
check the port against an independent PyTorch forward pass (torch.nn.functional on the same state dict).

    /work/venvs/train/bin/python training/liveness/port_minifasnet.py ../shared/datasets artifacts/liveness

Writes <work>/<model>.npz (weights, torch names without 'module.') and <work>/<model>.keras and
prints the max |logit difference| on random 0..255 inputs; fails if it exceeds 1e-3 relative.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

MODELS = {"MiniFASNetV2": "2.7_80x80_MiniFASNetV2.pth", "MiniFASNetV1SE": "4_0_0_80x80_MiniFASNetV1SE.pth"}


def torch_forward(sd, x_nchw):
    """Reference forward pass written against torch.nn.functional, independent of the Keras code."""
    import torch
    import torch.nn.functional as F

    def block(x, name, stride=1, pad=None, act=True):
        k = sd[name + ".conv.weight"]
        groups = x.shape[1] if k.shape[1] == 1 and k.shape[0] == x.shape[1] and x.shape[1] > 1 else 1
        pad = k.shape[2] // 2 if pad is None else pad
        x = F.conv2d(x, k, stride=stride, padding=pad, groups=groups)
        x = F.batch_norm(
            x,
            sd[name + ".bn.running_mean"],
            sd[name + ".bn.running_var"],
            sd[name + ".bn.weight"],
            sd[name + ".bn.bias"],
            False,
            0.0,
            1e-5,
        )
        return F.prelu(x, sd[name + ".prelu.weight"]) if act else x

    def se(x, name):
        g = x.mean(dim=(2, 3), keepdim=True)
        for i, act in ((1, torch.relu), (2, torch.sigmoid)):
            g = F.conv2d(g, sd[f"{name}.fc{i}.weight"])
            g = F.batch_norm(
                g,
                sd[f"{name}.bn{i}.running_mean"],
                sd[f"{name}.bn{i}.running_var"],
                sd[f"{name}.bn{i}.weight"],
                sd[f"{name}.bn{i}.bias"],
                False,
                0.0,
                1e-5,
            )
            g = act(g)
        return x * g

    def dw(x, name, stride, residual):
        y = block(x, name + ".conv", pad=0)
        y = block(y, name + ".conv_dw", stride=stride, pad=1)
        y = block(y, name + ".project", pad=0, act=False)
        if residual:
            if name + ".se_module.fc1.weight" in sd:
                y = se(y, name + ".se_module")
            y = x + y
        return y

    def stage(x, s):
        for i in sorted({int(k.split(".")[2]) for k in sd if k.startswith(s + ".model.")}):
            x = dw(x, f"{s}.model.{i}", 1, True)
        return x

    with torch.no_grad():
        x = block(x_nchw, "conv1", stride=2, pad=1)
        x = block(x, "conv2_dw", pad=1)
        x = stage(dw(x, "conv_23", 2, False), "conv_3")
        x = stage(dw(x, "conv_34", 2, False), "conv_4")
        x = stage(dw(x, "conv_45", 2, False), "conv_5")
        x = block(x, "conv_6_sep", pad=0)
        x = block(x, "conv_6_dw", pad=0, act=False).flatten(1)
        x = F.linear(x, sd["linear.weight"])
        x = F.batch_norm(
            x, sd["bn.running_mean"], sd["bn.running_var"], sd["bn.weight"], sd["bn.bias"], False, 0.0, 1e-5
        )
        return F.linear(x, sd["prob.weight"]).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    args = ap.parse_args()
    import tensorflow as tf
    import torch

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    torch.set_num_threads(1)
    import minifasnet

    args.work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 80, 80, 3)).astype(np.float32)
    for name, fname in MODELS.items():
        sd = torch.load(args.datasets / "pretrained" / fname, map_location="cpu")
        sd = {k.removeprefix("module."): v.float() for k, v in sd.items() if "num_batches_tracked" not in k}
        np.savez(args.work / f"{name}.npz", **{k: v.numpy() for k, v in sd.items()})
        ref = torch_forward(sd, torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
        model = minifasnet.build({k: v.numpy() for k, v in sd.items()}, name=name)
        got = model.predict(x, verbose=0)
        err = float(np.abs(got - ref).max())
        rel = err / float(np.abs(ref).max())
        same_argmax = float((got.argmax(1) == ref.argmax(1)).mean())
        print(
            f"{name}: params {model.count_params()}, max|keras-torch| {err:.2e} (rel {rel:.2e}), "
            f"argmax agree {same_argmax:.2f}"
        )
        if rel > 1e-3:
            raise SystemExit(f"{name}: Keras port does not match torch")
        model.save(args.work / f"{name}.keras")


if __name__ == "__main__":
    main()
