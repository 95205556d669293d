#!/usr/bin/env python3
"""Image lists for the bundled restoration models (restore_rwkv_denoise, restore_rwkv_sr2).

Training photos come from Debian wallpaper packages (never the test images); the held-out test set
is the classic test images shipped by python3-skimage, opencv-doc, python3-scipy, python3-sklearn,
python-matplotlib-data and libjxl-testdata (see ../shared/data.md, "Restoration"). Packages are in
scripts/packages-tools.txt.

    python3 tools/restore_data.py --manifest data/models/restore_rwkv_data.json

writes a manifest (path, package, licence/attribution, sha256, size, split) for the model cards.
Training photos are down-scaled 2x with area averaging (cv2.INTER_AREA) before any use, so the
JPEG blocking of the wallpapers is not learnt. Test images are centre-cropped to at most
TEST_CROP x TEST_CROP (evaluation time on this shared CPU) and to a multiple of 8.
"""
import argparse
import fnmatch
import glob
import hashlib
import json
import os
import re
import sys

import numpy as np

PLASMA = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
          "OneStandsOut", "Path", "summer_1am"]
# Lomiri wallpapers that are photographs (the others are renders/graphics: Fossa, Infinite-Sea,
# Painting-Colors, umang, analogpattern).
LOMIRI_PHOTOS = ["Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Kleiber_by_Lukas_Baubkus",
                 "Picture_0B_by_freespace", "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede",
                 "aitzgorri_by_Aitzol_Berasategi", "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi",
                 "greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi",
                 "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
                 "sunset_by_Aitzol_Berasategi"]
# Validation split (checkpoint selection): whole photos held out of the training photos.
VAL_NAMES = ["ColorfulCups", "Storm", "life_by_Aitzol_Berasategi", "Dragonfly_by_Bolly"]

TEST_CROP = 512

SK = "/usr/lib/python3/dist-packages/skimage/data/"
CV = "/usr/share/doc/opencv-doc/examples/data/"
JXL = "/usr/share/libjxl-testdata/"
TEST_FILES = [
    ("python3-skimage", SK + "astronaut.png"), ("python3-skimage", SK + "coffee.png"),
    ("python3-skimage", SK + "chelsea.png"), ("python3-skimage", SK + "motorcycle_left.png"),
    ("python3-skimage", SK + "rocket.jpg"),
    ("opencv-doc", CV + "baboon.jpg"), ("opencv-doc", CV + "fruits.jpg"), ("opencv-doc", CV + "building.jpg"),
    ("opencv-doc", CV + "butterfly.jpg"), ("opencv-doc", CV + "smarties.png"), ("opencv-doc", CV + "home.jpg"),
    ("python3-scipy", "scipy.misc.face"),
    ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg"),
    ("python3-sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg"),
    ("python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
    ("libjxl-testdata", JXL + "jxl/flower/flower.png"),
    ("libjxl-testdata", JXL + "external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png"),
    ("libjxl-testdata", JXL + "external/wesaturate/500px/tmshre_riaphotographs_srgb8.png"),
    ("libjxl-testdata", JXL + "external/wesaturate/500px/u76c0g_bliznaca_srgb8.png"),
]


def _largest(folder):
    def area(p):
        m = re.match(r"(\d+)x(\d+)", os.path.basename(p))
        return int(m.group(1)) * int(m.group(2)) if m else 0
    return max(glob.glob(os.path.join(folder, "*.jpg")) + glob.glob(os.path.join(folder, "*.png")), key=area)


def train_files():
    """[(package, path)] of all training photos (training + validation split)."""
    out = [("plasma-workspace-wallpapers", _largest(f"/usr/share/wallpapers/{n}/contents/images")) for n in PLASMA]
    out += [("mate-backgrounds", p) for p in sorted(glob.glob("/usr/share/backgrounds/mate/nature/*.jpg"))]
    for n in LOMIRI_PHOTOS:
        p = f"/usr/share/backgrounds/{n}.jpg"
        pkg = "lomiri-wallpapers-20.04" if n.startswith(("Kleiber", "seeding", "sunset")) else "lomiri-wallpapers-16.04"
        out.append((pkg, p))
    return out


def photo_name(path):
    if "/wallpapers/" in path:
        return path.split("/wallpapers/")[1].split("/")[0]
    return os.path.splitext(os.path.basename(path))[0]


def split_of(path):
    return "val" if photo_name(path) in VAL_NAMES else "train"


def test_name(path):
    if path == "scipy.misc.face":
        return "face"
    base = os.path.splitext(os.path.basename(path))[0]
    if "libjxl" in path and base == "flower":
        return "jxl_flower"
    if "sklearn" in path:
        return "sk_" + base
    return base


def read_rgb(path):
    """uint8 HxWx3 RGB."""
    if path == "scipy.misc.face":
        import scipy.misc
        return np.ascontiguousarray(scipy.misc.face())
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_train_photo(path):
    """A training photo, down-scaled 2x by area averaging (uint8 RGB)."""
    import cv2
    img = read_rgb(path)
    h, w = img.shape[:2]
    return cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def load_test_image(path, crop=TEST_CROP, multiple=8):
    """A test image, centre-cropped to at most crop x crop and to a multiple of `multiple`."""
    img = read_rgb(path)
    h, w = img.shape[:2]
    th, tw = min(h, crop) // multiple * multiple, min(w, crop) // multiple * multiple
    y0, x0 = (h - th) // 2, (w - tw) // 2
    return np.ascontiguousarray(img[y0:y0 + th, x0:x0 + tw])


def _debian_licence(pkg, path):
    """Copyright/License of `path` from /usr/share/doc/<pkg>/copyright (machine-readable format)."""
    cp = f"/usr/share/doc/{pkg}/copyright"
    if not os.path.exists(cp):
        return {}
    text = open(cp, encoding="utf-8", errors="replace").read()
    best = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in stanza.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                key = m.group(1).lower()
                fields[key] = m.group(2).strip()
            elif key and line.startswith((" ", "\t")):
                fields[key] += " " + line.strip()
        if "files" not in fields:
            continue
        for pat in fields["files"].split():
            # Lomiri's copyright names "16.04/<file>" while the file lands in /usr/share/backgrounds/.
            specific = pat != "*" and (fnmatch.fnmatch(path, "*/" + pat) or
                                       os.path.basename(path) == os.path.basename(pat))
            if specific or (pat == "*" and not best):
                best = {"copyright": fields.get("copyright", ""), "license": fields.get("license", "").split(" ")[0]}
    return best


def _plasma_metadata(path):
    """Author and licence a Plasma wallpaper declares in its metadata.json (per photo)."""
    meta = os.path.join(path.split("/contents/")[0], "metadata.json")
    if "/wallpapers/" not in path or not os.path.exists(meta):
        return {}
    plugin = json.load(open(meta, encoding="utf-8")).get("KPlugin", {})
    authors = ", ".join(a.get("Name", "") for a in plugin.get("Authors", []))
    return {"author": authors, "wallpaper_license": plugin.get("License", "")}


def sha256(path):
    if path == "scipy.misc.face":
        import scipy.misc
        path = os.path.join(os.path.dirname(scipy.misc.__file__), "face.dat")
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def manifest():
    items = []
    for pkg, p in train_files():
        items.append({"split": split_of(p), "name": photo_name(p), "package": pkg, "path": p,
                      "sha256": sha256(p), **_debian_licence(pkg, p), **_plasma_metadata(p)})
    for pkg, p in TEST_FILES:
        items.append({"split": "test", "name": test_name(p), "package": pkg, "path": p, "sha256": sha256(p),
                      **_debian_licence(pkg, p)})
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", help="write the JSON manifest here")
    args = ap.parse_args()
    missing = [p for _, p in train_files() + TEST_FILES if p != "scipy.misc.face" and not os.path.exists(p)]
    if missing:
        sys.exit("missing files (install scripts/packages-tools.txt): " + ", ".join(missing))
    m = manifest()
    for it in m:
        print(f"{it['split']:5s} {it['name']:40s} {it['package']:28s} {it.get('license', '?')}")
    if args.manifest:
        with open(args.manifest, "w") as f:
            json.dump(m, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
