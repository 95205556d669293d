"""The official evaluation preprocessing (mmcls v0.25.0 Resize / CenterCrop with the pillow backend,
mmcv.imnormalize), written with the libraries those call (PIL, cv2) so fixtures match them exactly.
Shared by tools/make_image_fixtures.py and tools/make_cli_fixtures.py."""
import cv2
import numpy as np
from PIL import Image

FILTERS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR, 'nearest': Image.NEAREST}


def mmcls_resize_short(img, size, interpolation):
    """mmcls Resize(size=(size, -1), adaptive_side='short', backend='pillow'): the long side is
    truncated, and an image whose short side already equals `size` is returned as it is."""
    h, w = img.shape[:2]
    if min(h, w) == size:
        return img
    if w < h:
        width, height = size, int(size * h / w)
    else:
        height, width = size, int(size * w / h)
    # mmcv.imresize(backend='pillow'): Image.fromarray(img).resize(size, pillow code), np.array
    return np.array(Image.fromarray(img).resize((width, height), FILTERS[interpolation]))


def mmcls_center_crop(img, crop):
    """mmcls CenterCrop(crop_size=crop) + mmcv.imcrop (inclusive x2, y2); round() is Python's (half
    to even). Returns the crop and its (x1, y1) offset."""
    h, w = img.shape[:2]
    y1 = max(0, int(round((h - crop) / 2.)))
    x1 = max(0, int(round((w - crop) / 2.)))
    y2 = min(h, y1 + crop) - 1
    x2 = min(w, x1 + crop) - 1
    return img[y1:y2 + 1, x1:x2 + 1, ...], (x1, y1)


def mmcv_imnormalize(img, mean, std, to_rgb):
    """mmcls Normalize (float32 mean/std) -> mmcv.imnormalize_: cv2.subtract, then cv2.multiply by
    1 / float64(std)."""
    img = img.astype(np.float32)
    mean = np.float64(np.array(mean, np.float32).reshape(1, -1))
    stdinv = 1 / np.float64(np.array(std, np.float32).reshape(1, -1))
    if to_rgb:
        cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    cv2.subtract(img, mean, img)
    cv2.multiply(img, stdinv, img)
    return img
