// Runs the rwkv-vision binary as a user would and captures exit status, stdout and stderr.
// Layer: tests.
#pragma once

#include <string>
#include <vector>

namespace rv::test {

struct CliResult {
    int status = -1;  // exit status; 128 + signal number if it died of a signal
    std::string out, err;
};

// args are passed without a shell (no quoting issues); cwd is the repository root.
CliResult run_cli(const std::vector<std::string>& args);

// A fresh empty folder under the build tree's temp area, removed by the caller if wanted.
std::string make_temp_dir(const std::string& tag);

}  // namespace rv::test
