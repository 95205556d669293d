// The model zoo: an explicit table of named models (no static self-registration). Each entry
// gives the architecture preset, preprocessing, label list and where the weights are: bundled
// files listed in data/models.json, or the user's own copy of an official checkpoint.
// Layer: heads. PyTorch counterpart: the official configs (classification/configs/vrwkv/*.py).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backbone/vrwkv_config.h"
#include "vision/image/preprocess.h"

namespace rv::heads {

struct ZooEntry {
    std::string id;    // canonical id = upstream file stem, e.g. "vrwkv_t_in1k_224"
    std::string task;  // "classification"
    std::string description;
    backbone::VrwkvConfig config;
    image::PreprocessConfig preprocess;
    std::string labels_file;   // relative to the data folder, "" = labels from the weights file
    std::string bundled_file;  // relative to the data folder, "" = user supplies the checkpoint
    std::string sha256;        // of the bundled file
};

// Folder with models.json and/or labels/, models/, samples/: $RWKV_VISION_DATA, else the source tree's
// data/ (compiled in), else <exe>/../share/rwkv-vision/data.
std::string data_dir();

const std::vector<ZooEntry>& zoo_entries();
const ZooEntry* find_zoo_entry(const std::string& id);

// ImageNet-style preprocessing: short side img/crop_pct, centre crop, mmcls mean/std.
image::PreprocessConfig imagenet_preprocess(int input_size, double crop_pct);

// Reads a label list: one name per line (UTF-8), blank lines at the end ignored.
std::vector<std::string> read_labels(const std::string& path);

}  // namespace rv::heads
