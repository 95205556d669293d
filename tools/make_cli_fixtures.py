#!/usr/bin/python3
"""Fixtures for tests/apps/test_cli_parity.cpp: whole tiny VRWKV classifiers, real image files and
the logits the official evaluation pipeline gives for them (deterministic; rerun any time).

What `rwkv-vision classify -m <model>.pth --config <model>.json -i <image> <args>` must print
(with --output-type logit --topk 0) is computed here the way the official code evaluates:

  load       cv2.imread(path, cv2.IMREAD_COLOR) (BGR; mmcls LoadImageFromFile); gray models take
             PIL's convert('L') of the RGB image
  Resize     mmcls v0.25.0 Resize(size=(S, -1), adaptive_side='short', backend='pillow'),
             S = floor(input_size / crop_pct): nothing if min(h, w) == S, else the short side
             becomes S and the other int(S * long / short); mmcv.imresize(backend='pillow') =
             PIL Image.resize((w, h), BICUBIC or BILINEAR) on the uint8 array
  CenterCrop y1 = max(0, int(round((h - crop) / 2.))) (Python round: half to even), x likewise,
             clipped to the image
  Normalize  mmcv.imnormalize: astype(float32), BGR->RGB, cv2.subtract(mean), cv2.multiply(1/std)
  model      tools/rwkv_ref ImageClassifier, O(T) Bi-WKV, evaluated in float64 from the stored
             float32 (or float16) weights and the float32 input tensor

`--no-resize` skips Resize and CenterCrop (the patch embedding pads); `--input-size` /
`--crop-pct` replace the config's values.

Writes tests/fixtures/cli/: <model>.pth (checkpoint, various containers), <model>.json (our
config with "preprocess" and "labels"), the images (PNG; one JPEG, kept only if cv2 and PIL decode
it identically), expected.json ([{"model", "image", "args", "logits"}]) and labels5.txt (5 class
names, used by tests/apps/test_cli.cpp's convert round trip).

Needs Debian's python3-torch, python3-opencv, python3-pil (9.4), python3-numpy, opencv-doc:
    /usr/bin/python3 tools/make_cli_fixtures.py
"""
from __future__ import annotations

import collections
import copy
import json
import os
import sys

import cv2
import numpy as np
import PIL
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rwkv_ref.vrwkv as vrwkv  # noqa: E402
from rwkv_ref.bi_wkv import weight_table  # noqa: E402
from rwkv_ref.mmcls_pipeline import FILTERS, mmcls_center_crop, mmcls_resize_short, mmcv_imnormalize  # noqa: E402,F401
from rwkv_ref.vrwkv import build_classifier, config_from_json  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'cli')
PHOTOS = '/usr/share/doc/opencv-doc/examples/data'
F32, F64 = torch.float32, torch.float64
IMNET_MEAN, IMNET_STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]

# --------------------------------------------------------------------------------------- models
# name: (model config, preprocess, labels, container, float16, seed)
MODELS = collections.OrderedDict([
    # RGB, pre-norm, linear head, ImageNet preprocessing at 32 (short side 36).
    ('rgb_pre_linear', (
        {'embed_dims': 16, 'depth': 2, 'patch_size': 4, 'img_size': 32, 'num_classes': 5},
        {'input_size': 32, 'crop_pct': 0.875, 'resize': True, 'interpolation': 'bicubic', 'color': 'rgb',
         'mean': IMNET_MEAN, 'std': IMNET_STD},
        ['apple', 'baboon', 'candy', 'sky', 'wing'], 'bare', False, 11)),
    # Like VRWKV-L: post-norm, layer scale, key_norm, MLP head, crop_pct 1.0; chunked Bi-WKV
    # (token_split 16 < T = 36). init_values is L's; the stored gammas are what runs.
    ('post_ls_kn_mlp', (
        {'embed_dims': 24, 'depth': 3, 'patch_size': 4, 'img_size': 24, 'num_classes': 6, 'hidden_rate': 2,
         'post_norm': True, 'init_values': 1e-5, 'key_norm': True, 'head': 'mlp', 'head_hidden_dims': 32,
         'token_split': 16},
        {'input_size': 24, 'crop_pct': 1.0, 'resize': True, 'interpolation': 'bicubic', 'color': 'rgb',
         'mean': IMNET_MEAN, 'std': IMNET_STD},
        ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'], 'model', False, 12)),
    # One input channel, float16 weights inside an mmcv {'meta', 'state_dict'} checkpoint.
    ('gray_f16', (
        {'embed_dims': 16, 'depth': 2, 'patch_size': 4, 'img_size': 28, 'in_channels': 1, 'num_classes': 4},
        {'input_size': 28, 'crop_pct': 0.875, 'resize': True, 'interpolation': 'bicubic', 'color': 'gray',
         'mean': [114.495], 'std': [57.63]},
        ['dark', 'light', 'edge', 'flat'], 'meta', True, 13)),
    # Bilinear resize, other mean/std, input 20 on a model made at 16 (position embedding resized
    # 4x4 -> 5x5); crop_pct 0.8 (20 / 0.8 in double is what both sides floor).
    ('rgb_bilinear_pos', (
        {'embed_dims': 16, 'depth': 2, 'patch_size': 4, 'img_size': 16, 'num_classes': 3, 'token_split': 8},
        {'input_size': 20, 'crop_pct': 0.8, 'resize': True, 'interpolation': 'bilinear', 'color': 'rgb',
         'mean': [127.5, 127.5, 127.5], 'std': [64.0, 60.0, 70.0]},
        ['x', 'y', 'z'], 'model_ema', False, 14)),
])

# --------------------------------------------------------------------------------------- images
# file: (opencv-doc photo, crop box x0, y0, x1, y1, kind)
IMAGES = collections.OrderedDict([
    ('fruits_61x47.png', ('fruits.jpg', (180, 120, 241, 167), 'rgb')),
    ('baboon_40x90.png', ('baboon.jpg', (300, 150, 340, 240), 'rgb')),
    ('smarties_33x33.png', ('smarties.png', (250, 120, 283, 153), 'rgb')),
    ('starry_36x50.png', ('starry_night.jpg', (260, 180, 296, 230), 'rgb')),     # short side 36 = S of rgb_pre_linear
    ('butterfly_gray_50x37.png', ('butterfly.jpg', (120, 60, 170, 97), 'gray')),
    ('home_45x57.jpg', ('home.jpg', (320, 170, 365, 227), 'jpeg')),
])

# (model, image, extra CLI args)
CASES = [
    ('rgb_pre_linear', 'fruits_61x47.png', []),
    ('rgb_pre_linear', 'baboon_40x90.png', []),          # long side int(36*90/40) = 81: crop offset 24.5 -> 24
    ('rgb_pre_linear', 'smarties_33x33.png', []),
    ('rgb_pre_linear', 'starry_36x50.png', []),          # short side already 36: no resize, crop only
    ('rgb_pre_linear', 'butterfly_gray_50x37.png', []),  # gray file, RGB model
    ('rgb_pre_linear', 'home_45x57.jpg', []),
    ('rgb_pre_linear', 'fruits_61x47.png', ['--no-resize']),
    ('rgb_pre_linear', 'baboon_40x90.png', ['--input-size', '40', '--crop-pct', '0.9']),
    ('rgb_pre_linear', 'smarties_33x33.png', ['--crop-pct', '1.0']),
    ('post_ls_kn_mlp', 'fruits_61x47.png', []),
    ('post_ls_kn_mlp', 'baboon_40x90.png', []),
    ('post_ls_kn_mlp', 'smarties_33x33.png', []),
    ('post_ls_kn_mlp', 'home_45x57.jpg', []),
    ('post_ls_kn_mlp', 'butterfly_gray_50x37.png', []),
    ('post_ls_kn_mlp', 'smarties_33x33.png', ['--no-resize']),
    ('post_ls_kn_mlp', 'starry_36x50.png', ['--input-size', '28']),
    ('gray_f16', 'butterfly_gray_50x37.png', []),
    ('gray_f16', 'fruits_61x47.png', []),
    ('gray_f16', 'baboon_40x90.png', []),
    ('gray_f16', 'home_45x57.jpg', []),
    ('gray_f16', 'butterfly_gray_50x37.png', ['--no-resize']),
    ('gray_f16', 'fruits_61x47.png', ['--input-size', '20', '--crop-pct', '0.7']),
    ('rgb_bilinear_pos', 'fruits_61x47.png', []),
    ('rgb_bilinear_pos', 'baboon_40x90.png', []),
    ('rgb_bilinear_pos', 'smarties_33x33.png', []),
    ('rgb_bilinear_pos', 'starry_36x50.png', []),
    ('rgb_bilinear_pos', 'butterfly_gray_50x37.png', ['--no-resize']),
]

MMCV_META = collections.OrderedDict([
    ('mmcv_version', '1.7.0'), ('time', 'Thu Jan  1 00:00:00 2024'), ('epoch', 1), ('iter', 100),
    ('CLASSES', ['dark', 'light', 'edge', 'flat']), ('seed', 0),
])

MIN_COND = 0.05
written = []


# --------------------------------------------------------------------------------------- helpers
def save_json(path, obj, indent=1):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=indent)
        f.write('\n')
    written.append(path)


def conditioning(w, u, k, ts):
    """min (signed denominator) / (sum of |weights|) of a Bi-WKV call: near 0 means the kernel's
    signed leak terms nearly cancel and float32 cannot match float64 (see make_model_fixtures.py)."""
    T = k.shape[1]
    G = weight_table(w.to(F64), T, ts, u.to(F64))
    ek = torch.exp(k.to(F64) - k.to(F64).amax(1, keepdim=True))
    den = torch.einsum('ctj,bjc->btc', G, ek)
    absden = torch.einsum('ctj,bjc->btc', G.abs(), ek)
    return (den / absden).min().item()


_plain_bi_wkv = vrwkv.bi_wkv
_worst_cond = [1.0]


def _checked_bi_wkv(w, u, k, v, token_split=32, eps=1e-6, impl='recurrent'):
    c = conditioning(w, u, k, token_split)
    _worst_cond[0] = min(_worst_cond[0], c)
    assert c > MIN_COND, f'ill-conditioned Bi-WKV denominator in a fixture (cond {c:.3g})'
    return _plain_bi_wkv(w, u, k, v, token_split, eps, impl)


vrwkv.bi_wkv = _checked_bi_wkv   # every reference forward below checks its Bi-WKV calls


@torch.no_grad()
def make_model(cfg, seed):
    """Random weights (torch.manual_seed) scaled so activations and logits are O(1) and depend
    clearly on the image: default inits x1.7, LayerNorms and mixes away from their defaults,
    a non-zero position embedding, layer-scale gammas of a trained model's size."""
    torch.manual_seed(seed)
    model = build_classifier(cfg)
    for name, p in model.named_parameters():
        leaf = name.rsplit('.', 1)[-1]
        is_norm = '.ln' in name or name.startswith('backbone.ln') or 'key_norm' in name
        if name == 'backbone.pos_embed':
            p.normal_(0.0, 0.5)
        elif is_norm and leaf == 'weight':
            p.copy_(1.0 + 0.2 * torch.randn_like(p))
        elif is_norm and leaf == 'bias':
            p.copy_(0.1 * torch.randn_like(p))
        elif leaf in ('spatial_decay', 'spatial_first'):
            p.add_(0.3 * torch.randn_like(p))
        elif leaf.startswith('spatial_mix_'):
            p.uniform_(0.0, 1.0)
        elif leaf in ('gamma1', 'gamma2'):
            p.uniform_(0.2, 0.8)
        elif name.startswith('head.') and leaf == 'weight':
            p.mul_(4.0)
        elif name.startswith('head.') and leaf == 'bias':
            p.normal_(0.0, 0.2)
        elif leaf == 'weight' or leaf == 'bias':
            p.mul_(1.7)
    return model.eval()


def photo_rgb(name, box):
    bgr = cv2.imread(os.path.join(PHOTOS, name), cv2.IMREAD_COLOR)
    assert bgr is not None, f'{name} missing: apt-get install opencv-doc'
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(bgr[y0:y1, x0:x1, ::-1])


def make_images():
    """Writes the image files; returns the names kept (the JPEG only if cv2 == PIL)."""
    kept = []
    for fname, (src, box, kind) in IMAGES.items():
        path = os.path.join(OUT, fname)
        rgb = photo_rgb(src, box)
        assert rgb.shape[:2] == (box[3] - box[1], box[2] - box[0]), (fname, rgb.shape)
        if kind == 'rgb':
            Image.fromarray(rgb).save(path, optimize=True)
        elif kind == 'gray':
            Image.fromarray(rgb).convert('L').save(path, optimize=True)
        else:
            Image.fromarray(rgb).save(path, quality=90)
            by_cv2 = cv2.imread(path, cv2.IMREAD_COLOR)[:, :, ::-1]
            by_pil = np.asarray(Image.open(path).convert('RGB'))
            if not np.array_equal(by_cv2, by_pil):
                print(f'{fname}: cv2 and PIL decode differently (max diff '
                      f'{np.abs(by_cv2.astype(int) - by_pil).max()}); dropped', file=sys.stderr)
                os.remove(path)
                continue
        written.append(path)
        kept.append(fname)
    return kept


# --------------------------------------------------------------------------- official pipeline
def official_input(path, pre, gray, input_size=None, crop_pct=None, no_resize=False):
    """The [1, C, H, W] float32 tensor the official evaluation feeds the model."""
    input_size = pre['input_size'] if input_size is None else input_size
    crop_pct = pre['crop_pct'] if crop_pct is None else crop_pct
    img = cv2.imread(path, cv2.IMREAD_COLOR)                       # BGR
    assert img is not None, path
    if gray:
        img = np.asarray(Image.fromarray(np.ascontiguousarray(img[:, :, ::-1])).convert('L'))
    if not no_resize:
        size = int(np.floor(input_size / crop_pct))
        img = mmcls_resize_short(img, size, pre['interpolation'])
        img, _ = mmcls_center_crop(img, input_size)
    img = mmcv_imnormalize(img, pre['mean'], pre['std'], to_rgb=not gray)
    if img.ndim == 2:
        img = img[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]  # ImageToTensor


def parse_args(args):
    out = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == '--no-resize':
            out['no_resize'] = True
            i += 1
        elif a == '--input-size':
            out['input_size'] = int(args[i + 1])
            i += 2
        elif a == '--crop-pct':
            out['crop_pct'] = float(args[i + 1])
            i += 2
        else:
            raise ValueError(a)
    return out


# --------------------------------------------------------------------------------------- main
def main():
    assert PIL.__version__.startswith('9.4'), f'fixtures are defined by Pillow 9.4, found {PIL.__version__}'
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    images = make_images()

    models = {}
    for name, (cfg, pre, labels, container, half, seed) in MODELS.items():
        cfg = config_from_json(cfg)
        model = make_model(cfg, seed)
        sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
        if half:
            sd = collections.OrderedDict((k, v.half()) for k, v in sd.items())
            model.load_state_dict({k: v.float() for k, v in sd.items()})  # the reference runs the f16 values
        if container == 'bare':
            obj = sd
        elif container == 'meta':
            obj = {'meta': MMCV_META, 'state_dict': sd}
        elif container == 'model':
            obj = {'model': sd, 'epoch': 1}
        elif container == 'model_ema':
            obj = {'model_ema': sd, 'epoch': 1}
        else:
            raise ValueError(container)
        path = os.path.join(OUT, f'{name}.pth')
        torch.save(obj, path)
        written.append(path)
        js = dict(cfg)
        js['preprocess'] = pre
        js['labels'] = labels
        save_json(os.path.join(OUT, f'{name}.json'), js)
        models[name] = (model, pre, cfg)

    expected = []
    worst_f32 = 0.0
    per_model = collections.defaultdict(list)
    for mname, iname, args in CASES:
        if iname not in images:
            continue
        model, pre, cfg = models[mname]
        opts = parse_args(args)
        x = official_input(os.path.join(OUT, iname), pre, cfg['in_channels'] == 1, **opts)
        with torch.no_grad():
            ref = copy.deepcopy(model).double()(x.to(F64))[0]
            f32 = model(x)[0]
        worst_f32 = max(worst_f32, (f32.double() - ref).abs().max().item())
        logits = [float(v) for v in ref]
        per_model[mname].append(logits)
        expected.append({'model': mname, 'image': iname, 'args': args, 'logits': logits})
        print(f'{mname:17s} {iname:25s} {" ".join(args):28s} in {tuple(x.shape[2:])} '
              f'logits {np.round(logits, 3).tolist()}')
    save_json(os.path.join(OUT, 'expected.json'), expected, indent=1)

    with open(os.path.join(OUT, 'labels5.txt'), 'w') as f:
        f.write('\n'.join(['tee', 'coat', 'sock', 'shoe', 'bag']) + '\n')
    written.append(os.path.join(OUT, 'labels5.txt'))

    for mname, rows in per_model.items():
        a = np.array(rows)
        print(f'{mname}: |logit| max {np.abs(a).max():.2f}, spread across images (mean std per class) '
              f'{a.std(axis=0).mean():.2f}, distinct top-1 {len(set(a.argmax(1).tolist()))}')
    print(f'worst Bi-WKV conditioning {_worst_cond[0]:.3f}; float32 PyTorch vs float64 reference: '
          f'max |diff| {worst_f32:.2e}')
    total = sum(os.path.getsize(p) for p in written)
    print(f'{len(expected)} cases; wrote {len(written)} files, {total / 1e3:.1f} KB in {os.path.relpath(OUT, ROOT)}')


if __name__ == '__main__':
    main()
