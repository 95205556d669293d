#!/usr/bin/python3
"""Generates tests/fixtures/image: small crops of real photographs and what Pillow / OpenCV / the
mmcls evaluation pipeline make of them, for tests/image/*.cpp to compare against bit for bit.

Needs Debian packages opencv-doc (the photos), python3-opencv, python3-pil (Pillow 9.4),
python3-numpy; run with /usr/bin/python3 from the repo root:

    /usr/bin/python3 tools/make_image_fixtures.py

Everything written is deterministic; the committed files are the output of this script.
The mmcls steps are re-stated here from mmcls v0.25.0 (mmcls/datasets/pipelines/transforms.py
Resize / CenterCrop / Normalize) and mmcv 1.7.0 (image/geometric.py imresize, imcrop;
image/photometric.py imnormalize_), using the same libraries they call (cv2, PIL).
"""
import json
import os
import struct
import sys

import cv2
import numpy as np
import PIL
from PIL import Image

PHOTOS = '/usr/share/doc/opencv-doc/examples/data'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'image')

from rwkv_ref.mmcls_pipeline import FILTERS, mmcls_center_crop, mmcls_resize_short, mmcv_imnormalize  # noqa: E402


def photo_rgb(name, box):
    """A crop of an opencv-doc photo, decoded by cv2 (as mmcls does), as an RGB array."""
    bgr = cv2.imread(os.path.join(PHOTOS, name), cv2.IMREAD_COLOR)
    assert bgr is not None, f'{name} missing: apt-get install opencv-doc'
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(bgr[y0:y1, x0:x1, ::-1])


def save_png(name, arr, mode=None):
    Image.fromarray(arr, mode).save(os.path.join(OUT, name), optimize=True)


# ---------------------------------------------------------------------------------------------
# resize_pil: Pillow Image.resize outputs
# ---------------------------------------------------------------------------------------------
def make_resize_cases(manifest):
    rgb = photo_rgb('fruits.jpg', (200, 120, 240, 150))                       # 40x30 RGB
    gray = np.asarray(Image.fromarray(photo_rgb('baboon.jpg', (300, 200, 333, 241))).convert('L'))  # 33x41
    row = photo_rgb('smarties.png', (60, 100, 97, 101))                        # 37x1 RGB
    col = np.asarray(Image.fromarray(photo_rgb('butterfly.jpg', (150, 80, 151, 109))).convert('L'))  # 1x29
    sources = {'rgb_src.png': rgb, 'gray_src.png': gray, 'row_src.png': row, 'col_src.png': col}
    for name, arr in sources.items():
        save_png(name, arr)

    sizes = {
        'rgb_src.png': [(17, 13), (6, 4), (68, 51), (13, 47), (1, 19), (25, 1), (1, 1)],
        'gray_src.png': [(14, 18), (5, 6), (56, 70), (50, 9), (1, 1)],
        'row_src.png': [(60, 1), (16, 1), (37, 5)],
        'col_src.png': [(3, 40), (1, 4)],
    }
    for src, outs in sizes.items():
        im = Image.open(os.path.join(OUT, src))
        assert im.mode in ('RGB', 'L')
        for (w, h) in outs:
            for fname, f in FILTERS.items():
                out = f'resize_{src[:-8]}_{w}x{h}_{fname}.png'
                im.resize((w, h), f).save(os.path.join(OUT, out), optimize=True)
                manifest.append(f'{src} {im.mode} {w} {h} {fname} {out}')


# ---------------------------------------------------------------------------------------------
# load_image: colour conversion, EXIF orientation, 16-bit, alpha, palette
# ---------------------------------------------------------------------------------------------
def cv2_color_rgb(path):
    """What mmcls' LoadImageFromFile sees (cv2.IMREAD_COLOR), as RGB."""
    return np.ascontiguousarray(cv2.imread(path, cv2.IMREAD_COLOR)[:, :, ::-1])


def make_load_cases():
    # Gray: PIL convert('L') of a colourful crop.
    colourful = photo_rgb('smarties.png', (150, 100, 190, 130))
    save_png('luma_src.png', colourful)
    Image.open(os.path.join(OUT, 'luma_src.png')).convert('L').save(os.path.join(OUT, 'luma_expected.png'))

    # EXIF orientation 1..8 on a small JPEG; expected = cv2.imread(IMREAD_COLOR), which rotates.
    small = Image.fromarray(photo_rgb('fruits.jpg', (300, 300, 316, 312)))    # 16x12
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        path = os.path.join(OUT, f'exif{o}.jpg')
        small.save(path, quality=90, exif=exif.tobytes())
        save_png(f'exif{o}_expected.png', cv2_color_rgb(path))

    # 16-bit PNGs (real values widened, plus low-byte noise the 8-bit result must ignore).
    rng = np.random.RandomState(7)
    base = photo_rgb('baboon.jpg', (100, 100, 116, 112)).astype(np.uint16)
    rgb16 = base * 256 + rng.randint(0, 256, base.shape).astype(np.uint16)
    cv2.imwrite(os.path.join(OUT, 'rgb16.png'), np.ascontiguousarray(rgb16[:, :, ::-1]))
    gray16 = rgb16[:, :, 1].copy()
    cv2.imwrite(os.path.join(OUT, 'gray16.png'), gray16)
    for name in ('rgb16', 'gray16'):
        exp = cv2_color_rgb(os.path.join(OUT, f'{name}.png'))
        save_png(f'{name}_expected.png', exp)
    # PIL agrees for 16-bit RGB (it keeps the high byte); for 16-bit gray it clips to 255 (not used).
    assert np.array_equal(np.asarray(Image.open(os.path.join(OUT, 'rgb16.png')).convert('RGB')),
                          np.asarray(Image.open(os.path.join(OUT, 'rgb16_expected.png'))))

    # Alpha and palette: alpha dropped (not composited) by both PIL convert('RGB') and cv2.
    rgba = np.dstack([base.astype(np.uint8), rng.randint(0, 256, base.shape[:2]).astype(np.uint8)])
    save_png('rgba.png', rgba, 'RGBA')
    la = np.dstack([rgba[:, :, 0], rgba[:, :, 3]])
    save_png('la.png', la, 'LA')
    Image.fromarray(base.astype(np.uint8)).quantize(16).save(os.path.join(OUT, 'palette.png'))
    for name in ('rgba', 'la', 'palette'):
        path = os.path.join(OUT, f'{name}.png')
        exp = np.asarray(Image.open(path).convert('RGB'))
        assert np.array_equal(exp, cv2_color_rgb(path)), name
        save_png(f'{name}_expected.png', exp)


# ---------------------------------------------------------------------------------------------
# preprocess: the mmcls evaluation pipeline
# ---------------------------------------------------------------------------------------------
def mmcls_pipeline(path, input_size, crop_pct, mean, std, gray):
    size = int(np.floor(input_size / crop_pct))
    if gray:
        img = np.asarray(Image.open(path).convert('L'))  # PIL's 'L'
    else:
        img = cv2.imread(path, cv2.IMREAD_COLOR)          # LoadImageFromFile: BGR
    img = mmcls_resize_short(img, size, 'bicubic')
    img, offset = mmcls_center_crop(img, input_size)
    img = mmcv_imnormalize(img, mean, std, to_rgb=not gray)
    if img.ndim == 2:
        img = img[:, :, None]
    return np.ascontiguousarray(img.transpose(2, 0, 1)), offset  # ImageToTensor: [C, H, W]


def make_preprocess_cases():
    imnet_mean, imnet_std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    save_png('pre_land.png', photo_rgb('home.jpg', (300, 180, 360, 228)))    # 60x48 landscape
    save_png('pre_port.png', photo_rgb('messi5.jpg', (200, 60, 241, 117)))   # 41x57 portrait
    save_png('pre_224.png', photo_rgb('starry_night.jpg', (250, 200, 300, 240)))  # 50x40
    cases = [
        # name, source, input_size, crop_pct, mean, std, gray, stride of the stored sample
        ('pre_land_rgb_32', 'pre_land.png', 32, 0.875, imnet_mean, imnet_std, False, 1),
        ('pre_land_gray_32', 'pre_land.png', 32, 0.875, [114.495], [57.63], True, 1),
        ('pre_port_rgb_24', 'pre_port.png', 24, 0.875, imnet_mean, imnet_std, False, 1),
        # The real ImageNet setting; the [3, 224, 224] tensor is 600 KB, so only every 97th value
        # is stored (97 is prime: the samples cover all channels, rows and columns).
        ('pre_224_rgb_224', 'pre_224.png', 224, 0.875, imnet_mean, imnet_std, False, 97),
    ]
    notes = {}
    for name, src, input_size, crop_pct, mean, std, gray, stride in cases:
        t, (x1, y1) = mmcls_pipeline(os.path.join(OUT, src), input_size, crop_pct, mean, std, gray)
        flat = t.reshape(-1)
        sample = flat[::stride].astype('<f4')
        with open(os.path.join(OUT, f'{name}.bin'), 'wb') as f:
            f.write(sample.tobytes())
        notes[name] = {
            'source': src, 'input_size': input_size, 'crop_pct': crop_pct, 'mean': mean, 'std': std,
            'gray': gray, 'shape': list(t.shape), 'stride': stride, 'count': int(sample.size),
            'crop_x1': x1, 'crop_y1': y1, 'sum': float(flat.astype(np.float64).sum()),
            'dtype': 'float32 little-endian, flat[::stride] of the [C, H, W] tensor',
        }
    with open(os.path.join(OUT, 'preprocess_cases.json'), 'w') as f:
        json.dump(notes, f, indent=1, sort_keys=True)
        f.write('\n')


def main():
    assert PIL.__version__.startswith('9.4'), f'fixtures are defined by Pillow 9.4, found {PIL.__version__}'
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    make_resize_cases(manifest)
    with open(os.path.join(OUT, 'resize_cases.txt'), 'w') as f:
        f.write('# source mode out_width out_height filter expected  (Pillow %s Image.resize)\n' % PIL.__version__)
        f.write('\n'.join(manifest) + '\n')
    make_load_cases()
    make_preprocess_cases()
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'{len(os.listdir(OUT))} files, {total} bytes in {os.path.normpath(OUT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
