#!/usr/bin/env python3
"""Small medical-volume fixtures for tests/image/test_medical_io.cpp (rerunnable, deterministic).

Writes tests/fixtures/medical/:
  nifti/vol_<name>.nii(.gz)  7x6x5 int16 volumes in several orientations, with distinct qform/sform
                             codes; vol_<name>.json holds what nibabel reads from each (header fields,
                             best affine, axcodes) and the voxels reoriented to RAS by nibabel
                             (as_closest_canonical), flattened i-fastest.
  dicom/series/IM*.dcm       a 4-slice CT series (pydicom), dicom/expected.json
  other/vol.mha, vol.nrrd    the same voxels as MetaImage and NRRD (headers written by hand)
  other/slice.png            an 8-bit 2-D slice
  corrupt/                   truncated, 4-D, zero-size, NaN, not-a-NIfTI files
  tiny_seg.safetensors       a random-weight 2-class RWKV-UNet (preset rwkv_unet_n, 64x64 input) with
                             brainmask_t1-style metadata, for the segment CLI tests
  zoom.json                  scipy.ndimage.zoom order 3 / order 0 of small float32 planes (the
                             resampling of the official RWKV-UNet test script)
Needs numpy, nibabel, pydicom, PIL (Debian: python3-nibabel python3-pydicom python3-pil).
Run: /usr/bin/python3 tools/make_medical_fixtures.py
"""
import gzip
import json
import os
import shutil

import nibabel as nib
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "medical")


def base_data():
    rng = np.random.default_rng(1234)
    return rng.integers(-1000, 2000, size=(7, 6, 5), dtype=np.int16)


def affine_from(perm_signs, spacing, origin, rotate_deg=0.0):
    """RAS affine whose index axis c points along world axis perm_signs[c][0] with sign [1]."""
    a = np.zeros((4, 4))
    for c, (w, s) in enumerate(perm_signs):
        a[w, c] = s * spacing[c]
    if rotate_deg:
        t = np.deg2rad(rotate_deg)
        r = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        a[:3, :3] = r @ a[:3, :3]
    a[:3, 3] = origin
    a[3, 3] = 1
    return a


# name: (axis map in RAS world (0=R,1=A,2=S), spacing, origin, qform code, sform code, rotation)
CASES = {
    "ras": ([(0, 1), (1, 1), (2, 1)], (0.8, 0.9, 2.5), (-10.0, 20.0, 5.0), 1, 1, 0.0),
    "lps": ([(0, -1), (1, -1), (2, 1)], (1.0, 1.25, 3.0), (12.5, -7.0, 1.0), 1, 2, 0.0),
    "lsa": ([(0, -1), (2, 1), (1, 1)], (0.5, 0.75, 1.5), (3.0, -40.0, 11.0), 2, 0, 0.0),
    "pir": ([(1, -1), (2, -1), (0, 1)], (1.1, 1.3, 0.7), (0.0, 0.0, 0.0), 0, 4, 0.0),
    "oblique": ([(0, 1), (1, 1), (2, 1)], (1.0, 1.0, 2.0), (5.0, 6.0, 7.0), 1, 1, 20.0),
}


def header_fields(img):
    h = img.header
    return {
        "dim": [int(x) for x in h["dim"]],
        "pixdim": [float(x) for x in h["pixdim"]],
        "qform_code": int(h["qform_code"]),
        "sform_code": int(h["sform_code"]),
        "quatern": [float(h[k]) for k in ("quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y",
                                         "qoffset_z")],
        "srow": [float(x) for k in ("srow_x", "srow_y", "srow_z") for x in h[k]],
        "xyzt_units": int(h["xyzt_units"]),
    }


def write_nifti():
    out = os.path.join(ROOT, "nifti")
    os.makedirs(out, exist_ok=True)
    data = base_data()
    for name, (ps, sp, org, qc, sc, rot) in CASES.items():
        aff = affine_from(ps, sp, org, rot)
        img = nib.Nifti1Image(data, None)
        img.header.set_data_dtype(np.int16)
        img.set_qform(aff, code=qc)
        img.set_sform(aff, code=sc)
        img.header.set_xyzt_units("mm", "sec")
        ext = ".nii.gz" if name in ("ras", "lsa", "oblique") else ".nii"
        path = os.path.join(out, "vol_" + name + ext)
        # gzip without a time stamp so the fixture is byte-for-byte reproducible
        raw = img.to_bytes()
        if ext == ".nii.gz":
            with open(path, "wb") as f:
                f.write(gzip.compress(raw, mtime=0))
        else:
            with open(path, "wb") as f:
                f.write(raw)
        back = nib.load(path)
        best = back.affine  # nibabel: sform if sform_code > 0, else qform
        lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ best
        spacing = np.sqrt((lps[:3, :3] ** 2).sum(axis=0))
        canon = nib.as_closest_canonical(back)
        info = {
            "file": os.path.basename(path),
            "header": header_fields(back),
            "affine_ras": best.tolist(),
            "spacing": spacing.tolist(),
            "origin_lps": lps[:3, 3].tolist(),
            "direction_lps": (lps[:3, :3] / spacing).tolist(),
            "axcodes": "".join(nib.aff2axcodes(best)),
            "voxels": np.asarray(back.dataobj).flatten(order="F").astype(int).tolist(),
            "canonical_shape": list(canon.shape),
            "canonical_voxels": np.asarray(canon.dataobj).flatten(order="F").astype(int).tolist(),
        }
        with open(os.path.join(out, "vol_" + name + ".json"), "w") as f:
            json.dump(info, f, indent=1)


def write_dicom():
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    out = os.path.join(ROOT, "dicom", "series")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = np.random.default_rng(7)
    rows, cols, nz = 6, 8, 4
    stored = rng.integers(0, 3000, size=(nz, rows, cols), dtype=np.uint16)
    study, series, frame = ("1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2",
                            "1.2.826.0.1.3680043.8.498.3")
    for z in range(nz):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
        meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.10.%d" % (z + 1)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.99"
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality = "CT"
        ds.PatientName = "Fixture^Tiny"
        ds.PatientID = "RV0001"
        ds.SeriesNumber = 1
        ds.InstanceNumber = z + 1
        ds.ImagePositionPatient = [-5.0, -3.0, 10.0 + 2.5 * z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.8, 0.7]  # row spacing (along j), column spacing (along i)
        ds.SliceThickness = 2.5
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = stored[z].tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        # Files named in reverse so the reader must sort by position, not by name
        ds.save_as(os.path.join(out, "IM%04d.dcm" % (nz - z)), write_like_original=False)
    expected = {
        "size": [cols, rows, nz],
        "spacing": [0.7, 0.8, 2.5],
        "origin": [-5.0, -3.0, 10.0],
        "voxels": (stored.astype(np.int32) - 1024).transpose(2, 1, 0).flatten(order="F").tolist(),
    }
    with open(os.path.join(ROOT, "dicom", "expected.json"), "w") as f:
        json.dump(expected, f)


def write_other():
    out = os.path.join(ROOT, "other")
    os.makedirs(out, exist_ok=True)
    data = base_data()
    raw = data.flatten(order="F").astype("<i2").tobytes()
    # MetaImage: LPS direction columns in TransformMatrix (row-major listing of ITK's matrix
    # transposed: MetaIO writes the direction column by column).
    mha = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
           "CompressedData = False\nTransformMatrix = 0 1 0 -1 0 0 0 0 1\nOffset = 1.5 -2 3\n"
           "CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\nElementSpacing = 0.5 0.75 2\n"
           "DimSize = 7 6 5\nElementType = MET_SHORT\nElementDataFile = LOCAL\n")
    with open(os.path.join(out, "vol.mha"), "wb") as f:
        f.write(mha.encode() + raw)
    nrrd = ("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 7 6 5\n"
            "space directions: (-0.5,0,0) (0,0.75,0) (0,0,2)\nkinds: domain domain domain\n"
            "endian: little\nencoding: raw\nspace origin: (1.5,-2,3)\n\n")
    with open(os.path.join(out, "vol.nrrd"), "wb") as f:
        f.write(nrrd.encode() + raw)
    from PIL import Image
    png = (np.arange(9 * 5, dtype=np.uint8).reshape(5, 9) * 5).astype(np.uint8)  # H=5, W=9
    Image.fromarray(png).save(os.path.join(out, "slice.png"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"voxels": data.flatten(order="F").astype(int).tolist(),
                   "png_voxels": png.flatten(order="C").astype(int).tolist()}, f)


def write_corrupt():
    out = os.path.join(ROOT, "corrupt")
    os.makedirs(out, exist_ok=True)
    good = nib.Nifti1Image(base_data(), np.eye(4)).to_bytes()
    with open(os.path.join(out, "truncated.nii.gz"), "wb") as f:
        f.write(gzip.compress(good, mtime=0)[:200])
    with open(os.path.join(out, "short_data.nii"), "wb") as f:
        f.write(good[:352 + 100])
    four_d = nib.Nifti1Image(np.zeros((4, 3, 2, 2), np.int16), np.eye(4)).to_bytes()
    with open(os.path.join(out, "four_d.nii.gz"), "wb") as f:
        f.write(gzip.compress(four_d, mtime=0))
    zero = nib.Nifti1Image(np.zeros((4, 3, 0), np.int16), np.eye(4)).to_bytes()
    with open(os.path.join(out, "zero.nii"), "wb") as f:
        f.write(zero)
    nan = np.ones((4, 3, 2), np.float32)
    nan[1, 2, 1] = np.nan
    with open(os.path.join(out, "nan.nii.gz"), "wb") as f:
        f.write(gzip.compress(nib.Nifti1Image(nan, np.eye(4)).to_bytes(), mtime=0))
    with open(os.path.join(out, "not_nifti.nii.gz"), "wb") as f:
        f.write(gzip.compress(b"this is not a NIfTI file\n" * 20, mtime=0))
    with open(os.path.join(out, "empty.nii"), "wb") as f:
        pass


def write_zoom():
    from scipy.ndimage import zoom
    rng = np.random.default_rng(99)
    cases = []
    for (h, w, oh, ow, order) in ((13, 9, 24, 16, 3), (50, 41, 32, 32, 3), (7, 7, 7, 7, 3), (5, 2, 9, 4, 3),
                                  (32, 32, 50, 41, 0), (16, 16, 37, 29, 0), (3, 11, 1, 5, 3), (96, 96, 61, 97, 0)):
        x = rng.normal(0, 100, size=(h, w)).astype(np.float32)
        if order == 0:
            x = rng.integers(0, 4, size=(h, w)).astype(np.float32)
        y = zoom(x, (oh / h, ow / w), order=order)
        assert y.shape == (oh, ow), (y.shape, oh, ow)
        cases.append({"h": h, "w": w, "oh": oh, "ow": ow, "order": order, "in": x.flatten().tolist(),
                      "out": y.flatten().tolist()})
    with open(os.path.join(ROOT, "zoom.json"), "w") as f:
        json.dump(cases, f)


def write_tiny_model():
    import sys
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from rwkv_ref.rwkv_unet import build_unet, config_json_text, unused_keys
    from rwkv_ref.safetensors_io import save_safetensors
    torch.manual_seed(0)
    model = build_unet({"arch": "rwkv_unet_n", "num_classes": 2, "img_size": 64, "name": "tiny_seg"})
    # BatchNorm statistics away from identity so folding is exercised
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.8, 1.2)
    un = set(unused_keys(model))
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items() if k not in un}
    pre = {"input_h": 64, "input_w": 64, "in_channels": 1, "repeat_gray_to_rgb": True, "orientation": "RAS",
           "slice_axis": 2, "any_axis": True, "resize_in": "bilinear", "resize_out": "bilinear_logits",
           "train_spacing_mm": 0.0, "intensity": {"mode": "percentile", "p_lo": 0.5, "p_hi": 99.5,
                                                  "nonzero_only": False, "lo": 0.0, "hi": 1.0, "mean": 0.0,
                                                  "std": 1.0}}
    meta = {"format": "rwkv-vision", "task": "segmentation", "arch": "rwkv_unet", "config": config_json_text(model.cfg),
            "preprocess": json.dumps(pre, sort_keys=True), "labels": json.dumps(["background", "foreground"])}
    save_safetensors(os.path.join(ROOT, "tiny_seg.safetensors"), tensors, meta)


if __name__ == "__main__":
    write_tiny_model()
    write_zoom()
    write_nifti()
    write_dicom()
    write_other()
    write_corrupt()
    print("wrote", ROOT)
