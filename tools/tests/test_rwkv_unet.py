"""Key names, unused-key list and config round trip of the RWKV-UNet PyTorch reference."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from rwkv_ref.rwkv_unet import build_unet, config_from_json, config_json_text, preset_config, unused_keys  # noqa: E402


def test_official_keys():
    m = build_unet(preset_config("rwkv_unet_t"))
    keys = set(m.state_dict())
    for k in ["encoder.stage0.0.conv.conv.weight", "encoder.stage0.0.se.conv_reduce.bias",
              "encoder.stage0.0.conv_local.norm.running_var", "encoder.stage1.0.norm.running_mean",
              "encoder.stage3.1.norm.norm.weight", "encoder.stage3.1.att.key_norm.weight",
              "encoder.stage3.1.att.spatial_decay", "encoder.stage4.1.ln1.bias", "encoder.stage4.1.ln2.bias",
              "encoder.norm.norm.weight", "encoder.head.weight", "ccm.projections.2.weight",
              "ccm.channel.key_norm.weight", "ccm.final_projections.0.bias", "decoder4.conv_local.conv.weight",
              "decoder1.ln1.weight", "final_conv.bias"]:
        assert k in keys, k
    assert m.state_dict()["decoder1.conv_local.conv.weight"].shape == (160, 1, 9, 9)
    assert m.state_dict()["final_conv.weight"].shape == (9, 24, 1, 1)


def test_unused_keys_are_unused():
    m = build_unet(preset_config("rwkv_unet_n", num_classes=2)).eval()
    un = set(unused_keys(m))
    assert "encoder.stage1.0.att.key.weight" in un and "encoder.stage3.1.att.key.weight" not in un
    # Changing every unused tensor does not change the output.
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        a = m(x)
        sd = m.state_dict()
        for k in un:
            if sd[k].dtype.is_floating_point:
                sd[k].add_(1.0)
        b = m(x)
    assert torch.equal(a, b)


def test_config_round_trip_and_grey_repeat():
    for name in ("rwkv_unet_t", "rwkv_unet_s", "rwkv_unet_b", "rwkv_unet_n"):
        cfg = preset_config(name)
        assert config_from_json(config_json_text(cfg)) == cfg
    assert preset_config("rwkv_unet_t")["in_channels"] == 3
    assert preset_config("rwkv_unet_b")["in_channels"] == 1


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print(name, "ok")
