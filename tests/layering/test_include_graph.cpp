// The layering rule of DESIGN.md §2 as a test: every #include of ours points down the stack
// (vision/core ← vision/{ops,weights,image,metrics} ← backbone ← heads ← apps), and heavy
// third-party headers stay in the layer that owns them (dnnl.hpp in vision/ops/onednn, OpenCV in
// vision/image and apps, TBB in vision/core/threading.cpp and vision/ops kernels).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace {
namespace fs = std::filesystem;

// Which of our folders a file in `layer` may include from.
const std::map<std::string, std::set<std::string>> kAllowed = {
    {"vision/core", {"vision/core"}},
    {"vision/ops", {"vision/core", "vision/ops"}},
    {"vision/weights", {"vision/core", "vision/weights"}},
    {"vision/image", {"vision/core", "vision/image"}},
    {"vision/metrics", {"vision/core", "vision/metrics"}},
    {"backbone", {"vision/core", "vision/ops", "vision/weights", "backbone"}},
    {"heads",
     {"vision/core", "vision/ops", "vision/weights", "vision/image", "vision/metrics", "backbone", "heads"}},
    {"apps",
     {"vision/core", "vision/ops", "vision/weights", "vision/image", "vision/metrics", "backbone", "heads",
      "apps"}},
};

std::string layer_of(const std::string& rel) {
    for (const char* l : {"vision/core", "vision/ops", "vision/weights", "vision/image", "vision/metrics"})
        if (rel.starts_with(std::string(l) + "/")) return l;
    const auto slash = rel.find('/');
    return slash == std::string::npos ? "" : rel.substr(0, slash);
}

TEST(Layering, IncludesPointDownTheStack) {
    const fs::path root = RV_SOURCE_DIR;
    const std::regex include_re(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
    int files = 0;
    std::vector<std::string> violations;
    for (const auto& layer : kAllowed) {
        const fs::path dir = root / layer.first;
        if (!fs::exists(dir)) continue;
        for (const auto& e : fs::recursive_directory_iterator(dir)) {
            const auto ext = e.path().extension();
            if (ext != ".h" && ext != ".cpp" && ext != ".hpp") continue;
            ++files;
            const std::string rel = fs::relative(e.path(), root).string();
            const std::string own = layer_of(rel);
            std::ifstream in(e.path());
            std::string line;
            int n = 0;
            while (std::getline(in, line)) {
                ++n;
                std::smatch m;
                if (!std::regex_search(line, m, include_re)) continue;
                const std::string inc = m[1];
                const std::string where = rel + ":" + std::to_string(n) + " includes " + inc;
                const std::string target = layer_of(inc);
                if (kAllowed.count(target) && !kAllowed.at(own).count(target))
                    violations.push_back(where + " (layer " + own + " may not depend on " + target + ")");
                if (inc.starts_with("dnnl") && !rel.starts_with("vision/ops/onednn/"))
                    violations.push_back(where + " (oneDNN only in vision/ops/onednn)");
                if (inc.starts_with("opencv2/") && own != "vision/image" && own != "apps")
                    violations.push_back(where + " (OpenCV only in vision/image and apps)");
                // ITK (itk*.h, and the nifti1/gdcm headers it ships) only in the medical IO sources.
                if ((inc.starts_with("itk") || inc.starts_with("nifti1") || inc.starts_with("gdcm")) &&
                    !(rel.starts_with("vision/image/medical") && rel.ends_with(".cpp")))
                    violations.push_back(where + " (ITK only in vision/image/medical*.cpp)");
                if (inc.starts_with("tbb/") && rel != "vision/core/threading.cpp" && own != "vision/ops")
                    violations.push_back(where + " (TBB only in vision/core/threading.cpp and kernels)");
                if (rel.ends_with(".h") &&
                    (inc.starts_with("dnnl") || inc.starts_with("opencv2/") || inc.starts_with("tbb/")) &&
                    !rel.starts_with("vision/ops/onednn/"))
                    violations.push_back(where + " (heavy third-party headers stay in .cpp files)");
            }
        }
    }
    EXPECT_GT(files, 30);
    for (const auto& v : violations) ADD_FAILURE() << v;
}

}  // namespace
