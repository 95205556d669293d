// Zoo table and data folder lookup. Layer: heads.
#include "heads/zoo.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vision/core/error.h"

namespace rv::heads {
namespace fs = std::filesystem;

std::string data_dir() {
    if (const char* env = std::getenv("RWKV_VISION_DATA"); env && *env) return env;
    auto is_data_dir = [](const fs::path& d) {
        return fs::exists(d / "models.json") || fs::is_directory(d / "labels");
    };
#ifdef RV_DATA_DIR
    if (is_data_dir(RV_DATA_DIR)) return RV_DATA_DIR;
#endif
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const fs::path& cand :
             {exe.parent_path() / "../share/rwkv-vision/data", exe.parent_path() / "../data"})
            if (is_data_dir(cand)) return fs::weakly_canonical(cand).string();
    }
    RV_THROW(ErrorCode::kNotFound,
             "cannot find the rwkv-vision data folder (models.json); set RWKV_VISION_DATA to the "
             "repository's data/");
}

image::PreprocessConfig imagenet_preprocess(int input_size, double crop_pct) {
    image::PreprocessConfig p;
    p.input_size = input_size;
    p.crop_pct = crop_pct;
    return p;
}

static std::vector<ZooEntry> build_table() {
    std::vector<ZooEntry> t;
    auto official = [&](const char* id, const char* preset, int size, double crop, int token_split,
                        const char* desc) {
        ZooEntry e;
        e.id = id;
        e.task = "classification";
        e.description = desc;
        e.config = backbone::vrwkv_preset(preset);
        e.config.token_split = token_split;
        e.preprocess = imagenet_preprocess(size, crop);
        e.labels_file = "labels/imagenet1k.txt";
        t.push_back(std::move(e));
    };
    official("vrwkv_t_in1k_224", "vrwkv_t", 224, 0.875, 32, "VRWKV-T ImageNet-1k 224 (official, 75.1 top-1)");
    official("vrwkv_s_in1k_224", "vrwkv_s", 224, 0.875, 32, "VRWKV-S ImageNet-1k 224 (official, 80.1 top-1)");
    official("vrwkv_b_in1k_224", "vrwkv_b", 224, 0.875, 32, "VRWKV-B ImageNet-1k 224 (official, 82.0 top-1)");
    official("vrwkv_l_22kto1k_384", "vrwkv_l", 384, 1.0, backbone::vrwkv_preset("vrwkv_l").token_split,
             "VRWKV-L IN-22k→1k 384 (official, 86.0 top-1)");

    // Bundled models: data/models.json (id, file, sha256, description). Their configuration,
    // preprocessing and labels live in the safetensors metadata.
    try {
        const fs::path dir = data_dir();
        std::ifstream f(dir / "models.json");
        if (f) {
            const nlohmann::json j = nlohmann::json::parse(f);
            for (const auto& m : j.at("models")) {
                ZooEntry e;
                e.id = m.at("id").get<std::string>();
                e.task = m.value("task", "classification");
                e.description = m.value("description", "");
                e.bundled_file = m.at("file").get<std::string>();
                e.sha256 = m.value("sha256", "");
                t.push_back(std::move(e));
            }
        }
    } catch (const Error&) {
        // No data folder: only the official entries are known.
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kCorruptFile, "data/models.json is malformed: ", e.what());
    }
    return t;
}

const std::vector<ZooEntry>& zoo_entries() {
    static const std::vector<ZooEntry> table = build_table();
    return table;
}

const ZooEntry* find_zoo_entry(const std::string& id) {
    for (const auto& e : zoo_entries())
        if (e.id == id) return &e;
    return nullptr;
}

std::vector<std::string> read_labels(const std::string& path) {
    std::ifstream f(path);
    RV_CHECK(f.good(), ErrorCode::kNotFound, "cannot open label file ", path);
    std::vector<std::string> labels;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        labels.push_back(line);
    }
    while (!labels.empty() && labels.back().empty()) labels.pop_back();
    RV_CHECK(!labels.empty(), ErrorCode::kCorruptFile, "label file ", path, " is empty");
    return labels;
}

}  // namespace rv::heads
