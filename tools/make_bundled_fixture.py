"""Expected logits of the bundled models on their bundled sample images, computed with the
official evaluation pipeline (cv2 load, mmcls Resize/CenterCrop with PIL, mmcv normalise) and the
float64 PyTorch reference. tests/apps/test_bundled.cpp runs `rwkv-vision classify` on the same
files and compares.

  /usr/bin/python3 tools/make_bundled_fixture.py      # writes tests/fixtures/cli/bundled_expected.json
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from make_cli_fixtures import official_input  # noqa: E402  (same pipeline as the CLI fixtures)
from rwkv_ref.safetensors_io import load_safetensors  # noqa: E402
from rwkv_ref.vrwkv import build_classifier  # noqa: E402

BUNDLED = [("vrwkv_fmnist", "data/models/vrwkv_fmnist.safetensors", "data/samples/fmnist")]


@torch.no_grad()
def main():
    cases = []
    for model_id, weights, samples in BUNDLED:
        tensors, meta = load_safetensors(os.path.join(ROOT, weights))
        cfg = json.loads(meta["config"])
        cfg.pop("arch", None)
        pre = json.loads(meta["preprocess"])
        model = build_classifier(cfg).double().eval()
        model.load_state_dict({k: v.double() for k, v in tensors.items()}, strict=True)
        for name in sorted(os.listdir(os.path.join(ROOT, samples))):
            if not name.endswith(".png"):
                continue
            rel = os.path.join(samples, name)
            x = official_input(os.path.join(ROOT, rel), pre, gray=pre["color"] == "gray")
            logits = model(x.double())[0]
            cases.append({"model": model_id, "image": rel, "logits": [float(v) for v in logits]})
    out = os.path.join(ROOT, "tests/fixtures/cli/bundled_expected.json")
    with open(out, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print("wrote", out, len(cases), "cases")


if __name__ == "__main__":
    main()
