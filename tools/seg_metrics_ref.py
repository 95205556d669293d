#!/usr/bin/env python3
"""Python reference for `rwkv-vision eval seg` and vision/metrics/seg_metrics.h.

medpy is not packaged in Debian, so dc / hd95 below transliterate medpy.metric.binary (0.4.0):
  __surface_distances: border = mask XOR binary_erosion(mask, generate_binary_structure(ndim, 1)),
  dt = distance_transform_edt(~reference_border, sampling=spacing), distances = dt[result_border];
  hd95 = numpy.percentile(hstack(d(result->ref), d(ref->result)), 95).
calculate_metric_percase is RWKV-UNet utils.py's empty-mask rule (pred>0 & gt>0 -> dc, hd95;
pred>0 & gt==0 -> 1, 0; else 0, 0). Note the official script calls hd95 without voxelspacing
(voxel units); ours passes the spacing (mm) unless told otherwise.

Usage:
  seg_metrics_ref.py fixtures            write tests/fixtures/seg_metrics/*.json (C++ tests, 1e-6)
  seg_metrics_ref.py eval PRED REF [--labels 1,2] [--voxel]
                                         per-case Dice/HD95 of two folders of NIfTI label maps
"""
import json
import os
import sys

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "seg_metrics")


def surface_distances(result, reference, voxelspacing=None, connectivity=1):
    result = np.atleast_1d(result.astype(bool))
    reference = np.atleast_1d(reference.astype(bool))
    footprint = generate_binary_structure(result.ndim, connectivity)
    if np.count_nonzero(result) == 0 or np.count_nonzero(reference) == 0:
        raise RuntimeError("empty mask")
    result_border = result ^ binary_erosion(result, structure=footprint, iterations=1)
    reference_border = reference ^ binary_erosion(reference, structure=footprint, iterations=1)
    dt = distance_transform_edt(~reference_border, sampling=voxelspacing)
    return dt[result_border]


def hd95(result, reference, voxelspacing=None):
    hd1 = surface_distances(result, reference, voxelspacing)
    hd2 = surface_distances(reference, result, voxelspacing)
    return float(np.percentile(np.hstack((hd1, hd2)), 95))


def dc(result, reference):
    result = np.atleast_1d(result.astype(bool))
    reference = np.atleast_1d(reference.astype(bool))
    inter = np.count_nonzero(result & reference)
    size = np.count_nonzero(result) + np.count_nonzero(reference)
    return 2.0 * inter / float(size) if size else 0.0


def calculate_metric_percase(pred, gt, spacing=None):
    pred = pred > 0
    gt = gt > 0
    if pred.sum() > 0 and gt.sum() > 0:
        return dc(pred, gt), hd95(pred, gt, spacing)
    if pred.sum() > 0 and gt.sum() == 0:
        return 1.0, 0.0
    return 0.0, 0.0


def blob(shape, rng, n=3):
    m = np.zeros(shape, bool)
    grid = np.indices(shape).astype(float)
    for _ in range(n):
        c = [rng.uniform(0, s) for s in shape]
        r = [rng.uniform(1.0, s / 2.5) for s in shape]
        m |= sum(((g - ci) / ri) ** 2 for g, ci, ri in zip(grid, c, r)) <= 1.0
    return m


def flat(a):
    return a.flatten(order="F").astype(int).tolist()


def make_fixtures():
    os.makedirs(ROOT, exist_ok=True)
    rng = np.random.default_rng(2024)
    cases = []
    shapes = [(12, 10, 8), (9, 13, 7), (16, 5, 6), (6, 6, 6), (20, 17, 3)]
    spacings = [(1.0, 1.0, 1.0), (0.7, 0.9, 2.5), (2.0, 2.0, 3.0), (0.5, 1.5, 1.0), (1.1, 0.6, 4.0)]
    for n, (shape, sp) in enumerate(zip(shapes, spacings)):
        for variant in range(3):
            p, r = blob(shape, rng), blob(shape, rng)
            if variant == 2:  # touch the volume's border (eroded as background outside)
                p[0, :, :] |= rng.random(shape[1:]) > 0.5
            if not p.any() or not r.any():
                continue
            case = {"name": "blob%d_%d" % (n, variant), "size": list(shape), "spacing": list(sp),
                    "pred": flat(p), "ref": flat(r), "dice": dc(p, r), "hd95": hd95(p, r, sp),
                    "hd95_voxel": hd95(p, r, None)}
            if variant != 1:  # the surface and scipy's EDT of it, for the transform test
                surf = p ^ binary_erosion(p, generate_binary_structure(3, 1))
                case["surface_pred"] = flat(surf)
                case["edt_pred_surface"] = [float("%.12g" % x) for x in
                                            distance_transform_edt(~surf, sampling=sp).flatten(order="F")]
            cases.append(case)
    # Single voxels, identical masks, a 2-D case (size[2] == 1: eroded in-plane as medpy on 2-D).
    one = np.zeros((5, 4, 3), bool)
    one[2, 1, 1] = True
    two = np.zeros((5, 4, 3), bool)
    two[4, 3, 0] = True
    cases.append({"name": "single_voxels", "size": [5, 4, 3], "spacing": [1.0, 2.0, 3.0], "pred": flat(one),
                  "ref": flat(two), "dice": dc(one, two), "hd95": hd95(one, two, (1.0, 2.0, 3.0)),
                  "hd95_voxel": hd95(one, two)})
    same = blob((8, 8, 8), rng)
    cases.append({"name": "identical", "size": [8, 8, 8], "spacing": [1.0, 1.0, 1.0], "pred": flat(same),
                  "ref": flat(same), "dice": 1.0, "hd95": hd95(same, same), "hd95_voxel": hd95(same, same)})
    p2, r2 = blob((15, 11), rng), blob((15, 11), rng)
    cases.append({"name": "plane2d", "size": [15, 11, 1], "spacing": [0.8, 1.3, 1.0],
                  "pred": flat(p2[:, :, None]), "ref": flat(r2[:, :, None]), "dice": dc(p2, r2),
                  "hd95": hd95(p2, r2, (0.8, 1.3)), "hd95_voxel": hd95(p2, r2)})
    policy = []
    z = np.zeros((4, 4, 4), bool)
    nz = z.copy()
    nz[1:3, 1:3, 1:3] = True
    for name, p, r in (("both_empty", z, z), ("pred_only", nz, z), ("ref_only", z, nz)):
        d, h = calculate_metric_percase(p.astype(np.uint8), r.astype(np.uint8))
        policy.append({"name": name, "pred": int(p.sum()), "ref": int(r.sum()), "dice": d, "hd95": h})
    with open(os.path.join(ROOT, "cases.json"), "w") as f:
        json.dump({"cases": cases, "transunet_policy": policy}, f)
    print("wrote", len(cases), "cases to", ROOT)


def eval_folders(pred_dir, ref_dir, labels=None, voxel=False):
    import nibabel as nib
    rows = []
    for name in sorted(os.listdir(ref_dir)):
        if not (name.endswith(".nii.gz") or name.endswith(".nii")):
            continue
        ref = nib.load(os.path.join(ref_dir, name))
        pred = nib.load(os.path.join(pred_dir, name))
        r = np.asarray(ref.dataobj).astype(int)
        p = np.asarray(pred.dataobj).astype(int)
        sp = None if voxel else ref.header.get_zooms()[:3]
        labs = labels or sorted(set(np.unique(r).tolist()) - {0})
        for lab in labs:
            d, h = calculate_metric_percase(p == lab, r == lab, sp)
            rows.append((name, lab, d, h))
            print("%s,%d,%.6f,%.6f" % (name, lab, d, h))
    return rows


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "fixtures":
        make_fixtures()
    elif len(sys.argv) >= 4 and sys.argv[1] == "eval":
        labels = None
        if "--labels" in sys.argv:
            labels = [int(x) for x in sys.argv[sys.argv.index("--labels") + 1].split(",")]
        eval_folders(sys.argv[2], sys.argv[3], labels, "--voxel" in sys.argv)
    else:
        print(__doc__)
        sys.exit(2)
