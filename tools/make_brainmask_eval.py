#!/usr/bin/env python3
"""The brainmask_t1 evaluation subject in several orientations and containers, and the bundled sample.

Subject: KmeansTest_T1UCharRaw from Debian's insighttoolkit5-examples (128x128x62, 2x2x3 mm, stored
LSA), reference mask KmeansTest_T1RawSkullStrip > 0. Every variant holds the same voxels, permuted
and flipped exactly (nibabel as_reoriented), so the segmentation must be the same in each.

  make_brainmask_eval.py eval OUT      OUT/images/kmeans_<code>_<gz|nii>_0000.nii(.gz) and
                                       OUT/refs/kmeans_<code>_<gz|nii>.nii(.gz) (uint8 masks)
  make_brainmask_eval.py sample DIR    DIR/kmeans_t1_0000.nii.gz: the subject cropped to its head
                                       (bounding box of intensity > 0 plus 2 voxels), uint8, the
                                       original header geometry (origin moved with the crop);
                                       DIR_ref/kmeans_t1.nii.gz its reference mask
Then:
  rwkv-vision segment -m brainmask_t1 -i OUT/images -o OUT/pred
  rwkv-vision eval seg --pred OUT/pred --ref OUT/refs -o OUT/eval
"""
import gzip
import os
import sys

import nibabel as nib
import numpy as np
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform

DATA = "/usr/share/doc/insighttoolkit5-examples/examples/Data"
CODES = ["LSA", "RAS", "LPS", "PIR", "ILP"]


def load():
    img = nib.load(os.path.join(DATA, "KmeansTest_T1UCharRaw.nii.gz"))
    ref = nib.load(os.path.join(DATA, "KmeansTest_T1RawSkullStrip.nii.gz"))
    mask = (np.asarray(ref.dataobj) > 0).astype(np.uint8)
    return img, nib.Nifti1Image(mask, ref.affine, ref.header)


def save(img, path):
    raw = img.to_bytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw, mtime=0) if path.endswith(".gz") else raw)


def reoriented(img, code, dtype):
    t = ornt_transform(io_orientation(img.affine), axcodes2ornt(code))
    out = img.as_reoriented(t)
    out = nib.Nifti1Image(np.asarray(out.dataobj).astype(dtype), out.affine)
    out.set_qform(out.affine, code=1)
    out.set_sform(out.affine, code=1)
    out.header.set_xyzt_units("mm")
    assert "".join(nib.aff2axcodes(out.affine)) == code
    return out


def make_eval(out):
    img, mask = load()
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "refs"), exist_ok=True)
    for code in CODES:
        for container, ext in (("gz", ".nii.gz"), ("nii", ".nii")):
            name = "kmeans_%s_%s" % (code.lower(), container)
            if code == "LSA" and container == "gz":
                # The original file as shipped (qform 2, sform 1), byte for byte.
                with open(os.path.join(DATA, "KmeansTest_T1UCharRaw.nii.gz"), "rb") as f:
                    data = f.read()
                with open(os.path.join(out, "images", name + "_0000" + ext), "wb") as f:
                    f.write(data)
                save(nib.Nifti1Image(np.asarray(mask.dataobj), img.affine, img.header.copy()),
                     os.path.join(out, "refs", name + ext))
                continue
            save(reoriented(img, code, np.int16), os.path.join(out, "images", name + "_0000" + ext))
            save(reoriented(mask, code, np.uint8), os.path.join(out, "refs", name + ext))
    print("wrote", out)


def make_sample(out):
    img, mask = load()
    d = np.asarray(img.dataobj)
    nz = np.argwhere(d > 0)
    lo = np.maximum(nz.min(axis=0) - 2, 0)
    hi = np.minimum(nz.max(axis=0) + 3, d.shape)
    crop = img.slicer[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    out_img = nib.Nifti1Image(np.asarray(crop.dataobj).astype(np.uint8), crop.affine, crop.header)
    out_img.set_data_dtype(np.uint8)
    os.makedirs(out, exist_ok=True)
    save(out_img, os.path.join(out, "kmeans_t1_0000.nii.gz"))
    m = mask.slicer[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    ref = nib.Nifti1Image(np.asarray(m.dataobj).astype(np.uint8), m.affine, m.header)
    ref.set_data_dtype(np.uint8)
    ref_dir = out.rstrip("/") + "_ref"  # not under DIR: `segment -i DIR` would take it for a case
    os.makedirs(ref_dir, exist_ok=True)
    save(ref, os.path.join(ref_dir, "kmeans_t1.nii.gz"))
    print("sample", out_img.shape, "from", d.shape, "crop", lo.tolist(), hi.tolist())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "eval":
        make_eval(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "sample":
        make_sample(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
