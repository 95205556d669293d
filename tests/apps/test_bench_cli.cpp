// `rwkv-vision bench` as other tools read it: one JSON object per configuration with the fields
// benchmarks/e2e/compare.py relies on; the matmul ceiling mode; clear errors for bad sizes and
// (on CPUs without it) bf16. Also `classify --batch/--mode` agreeing with the default run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/apps/cli_runner.h"
#include "vision/core/cpu_features.h"

namespace rv::test {
namespace {
using nlohmann::json;

std::vector<json> json_lines(const std::string& out) {
    std::vector<json> rows;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) rows.push_back(json::parse(line));
    return rows;
}

TEST(BenchCli, JsonRowPerSizeWithTheContractFields) {
    // The bundled model (tiny) at two sizes; a preset runs with random weights (below).
    const CliResult r = run_cli({"bench", "-m", "vrwkv_fmnist", "--size", "28", "--size", "40x24", "--iters",
                                 "3", "--warmup", "1", "--batch", "2", "--threads", "1", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto rows = json_lines(r.out);
    ASSERT_EQ(rows.size(), 2u) << r.out;
    EXPECT_EQ(rows[0]["size"], "28x28");
    EXPECT_EQ(rows[1]["size"], "40x24");
    for (const json& row : rows) {
        for (const char* key : {"model", "size", "batch", "threads", "precision", "images_per_s",
                                "latency_ms", "peak_rss_mb", "op_share", "tokens", "isa", "mode"})
            EXPECT_TRUE(row.contains(key)) << key << " missing in " << row.dump();
        EXPECT_EQ(row["batch"], 2);
        EXPECT_EQ(row["threads"], 1);
        EXPECT_EQ(row["precision"], "fp32");
        EXPECT_EQ(row["iters"], 3);
        EXPECT_GT(row["images_per_s"].get<double>(), 0.0);
        EXPECT_LE(row["latency_ms"]["median"].get<double>(), row["latency_ms"]["p90"].get<double>());
        EXPECT_GT(row["peak_rss_mb"].get<double>(), 1.0);
        double share = 0.0;
        for (const auto& [k, v] : row["op_share"].items()) share += v.get<double>();
        EXPECT_NEAR(share, 1.0, 1e-9);
        EXPECT_GT(row["op_share"]["wkv"].get<double>(), 0.0);
    }
    EXPECT_EQ(rows[1]["tokens"], 10 * 6);  // patch 4: ceil(40/4)·ceil(24/4)
}

TEST(BenchCli, PresetWithRandomWeightsAndMatmulCeiling) {
    const CliResult r = run_cli({"bench", "-m", "vrwkv_t", "--size", "64x48", "--iters", "1", "--warmup", "0",
                                 "--only", "matmul", "--json", "--threads", "1"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto rows = json_lines(r.out);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(rows[0]["random_weights"].get<bool>());
    EXPECT_EQ(rows[0]["only"], "matmul");
    EXPECT_DOUBLE_EQ(rows[0]["op_share"]["matmul"].get<double>(), 1.0);
    EXPECT_EQ(rows[0]["tokens"], 4 * 3);
}

TEST(BenchCli, ClearErrors) {
    CliResult r = run_cli({"bench", "-m", "vrwkv_fmnist", "--size", "28x", "--iters", "1"});
    EXPECT_EQ(r.status, 2);  // a bad flag value: usage error
    EXPECT_NE(r.err.find("bad --size"), std::string::npos) << r.err;
    r = run_cli({"bench", "-m", "vrwkv_q", "--iters", "1"});
    EXPECT_EQ(r.status, 1);
    r = run_cli({"bench", "-m", "vrwkv_fmnist", "--iters", "1", "--precision", "bf16", "--json"});
    if (detected_isa() < Isa::kAvx512) {  // oneDNN 2.6 has no bf16 matmul below AVX-512
        EXPECT_EQ(r.status, 1);
        EXPECT_NE(r.err.find("bf16"), std::string::npos) << r.err;
    } else {  // either it runs, or a clear one-line error (never a crash)
        EXPECT_TRUE(r.status == 0 || (r.status == 1 && r.err.find("bf16") != std::string::npos)) << r.err;
    }
}

TEST(BenchCli, ClassifyBatchAndModesAgreeWithTheDefault) {
    const std::vector<std::string> base = {"classify", "-m",  "vrwkv_fmnist", "-i", "data/samples/fmnist",
                                           "--format", "csv", "--topk",       "3",  "--output-type",
                                           "logit",    "-q"};
    const CliResult ref = run_cli(base);
    ASSERT_EQ(ref.status, 0) << ref.err;
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{"--batch", "4", "--threads", "2"},
          std::vector<std::string>{"--mode", "throughput", "--threads", "2"},
          std::vector<std::string>{"--mode", "latency", "--batch", "3", "--threads", "1"}}) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        const CliResult r = run_cli(args);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, ref.out) << "bitwise-equal logits expected with " << extra[0] << " " << extra[1];
    }
}

}  // namespace
}  // namespace rv::test
