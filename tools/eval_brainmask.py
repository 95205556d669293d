"""Evaluate the brain-extraction model on the test subject (insighttoolkit5-examples
KmeansTest_T1UCharRaw, mask KmeansTest_T1RawSkullStrip > 0), in Python, with the model's own
convention (tools/brainmask_data.py): Dice and HD95 (mm) along the model's slice axis, along the
other two axes, and with the volume stored in other orientations (each copy is written to disk as
.nii / .nii.gz, read back, reoriented to RAS, segmented, and the label map brought back to the
stored orientation: the Dice must not change).

    /usr/bin/python3 tools/eval_brainmask.py --model data/models/brainmask_t1.safetensors [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import nibabel as nib
import numpy as np
import scipy.ndimage as ndi
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brainmask_data as bd  # noqa: E402
from rwkv_ref.rwkv_unet import build_unet  # noqa: E402
from rwkv_ref.safetensors_io import load_safetensors  # noqa: E402


def hd95(pred: np.ndarray, ref: np.ndarray, spacing) -> float:
    """medpy.metric.binary.hd95: surfaces = mask XOR its erosion (6-connectivity), distances from
    each surface voxel to the other surface (exact EDT with voxel spacing), pooled, 95th percentile."""
    pred, ref = pred.astype(bool), ref.astype(bool)
    if not pred.any() or not ref.any():
        return float("nan")
    st = ndi.generate_binary_structure(3, 1)
    sp = pred ^ ndi.binary_erosion(pred, structure=st, iterations=1)
    sr = ref ^ ndi.binary_erosion(ref, structure=st, iterations=1)
    dr = ndi.distance_transform_edt(~sr, sampling=spacing)
    dp = ndi.distance_transform_edt(~sp, sampling=spacing)
    return float(np.percentile(np.hstack([dr[sp], dp[sr]]), 95))


def load_model(path):
    tensors, meta = load_safetensors(path)
    model = build_unet(json.loads(meta["config"]), wkv_impl="scan").eval()
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    assert not unexpected, unexpected
    return model, meta


def segment_file(model, path: str, axis: int) -> np.ndarray:
    """Label map in the file's own voxel order: reorient to RAS, normalise, segment, reorient back."""
    img = nib.load(path)
    ras = nib.as_closest_canonical(img)
    vol = bd.normalise(np.asarray(ras.dataobj, dtype=np.float32))
    lab = bd.predict_volume(model, vol, axis=axis)
    # back: RAS -> the file's orientation
    ornt = nib.orientations.ornt_transform(nib.orientations.io_orientation(ras.affine),
                                           nib.orientations.io_orientation(img.affine))
    return nib.orientations.apply_orientation(lab, ornt)


def reoriented_copy(img, codes):
    """The same image stored with axis codes `codes` (a permutation/flip of its voxels)."""
    cur = nib.orientations.io_orientation(img.affine)
    tgt = nib.orientations.axcodes2ornt(codes)
    tr = nib.orientations.ornt_transform(cur, tgt)
    data = nib.orientations.apply_orientation(np.asarray(img.dataobj), tr)
    aff = img.affine @ nib.orientations.inv_ornt_aff(tr, img.shape)
    return nib.Nifti1Image(data, aff)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="data/models/brainmask_t1.safetensors")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, meta = load_model(args.model)
    results = {}
    img = nib.load(bd.TEST_IMAGE)
    ref_img = nib.load(bd.TEST_MASK)
    ref = (np.asarray(ref_img.dataobj) > 0).astype(np.uint8)
    spacing = img.header.get_zooms()[:3]
    for axis in (2, 0, 1):
        pred = segment_file(model, bd.TEST_IMAGE, axis)
        results[f"stored_LSA_axis{axis}"] = {"dice": bd.dice(pred, ref), "hd95_mm": hd95(pred, ref, spacing)}
        print(f"as stored ({''.join(nib.aff2axcodes(img.affine))}), RAS slice axis {axis}: "
              f"Dice {results[f'stored_LSA_axis{axis}']['dice']:.4f} HD95 {results[f'stored_LSA_axis{axis}']['hd95_mm']:.2f} mm",
              flush=True)
    with tempfile.TemporaryDirectory() as d:
        for codes in (("R", "A", "S"), ("L", "P", "S"), ("P", "I", "R"), ("S", "L", "A")):
            for ext in (".nii", ".nii.gz"):
                c = reoriented_copy(img, codes)
                r = reoriented_copy(ref_img, codes)
                p = os.path.join(d, "case" + ext)
                nib.save(c, p)
                pred = segment_file(model, p, 2)
                refc = (np.asarray(r.dataobj) > 0).astype(np.uint8)
                key = f"{''.join(codes)}{ext}"
                results[key] = {"dice": bd.dice(pred, refc),
                                "hd95_mm": hd95(pred, refc, c.header.get_zooms()[:3])}
                print(f"stored {key}: Dice {results[key]['dice']:.4f} HD95 {results[key]['hd95_mm']:.2f} mm", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "training": json.loads(meta.get("training", "{}")), "results": results},
                      f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
