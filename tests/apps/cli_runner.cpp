// Child-process runner for CLI tests. Layer: tests.
#include "tests/apps/cli_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rv::test {
namespace fs = std::filesystem;

static std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string make_temp_dir(const std::string& tag) {
    std::string tmpl = (fs::temp_directory_path() / ("rv-test-" + tag + "-XXXXXX")).string();
    char* p = mkdtemp(tmpl.data());
    return p ? std::string(p) : std::string();
}

CliResult run_cli(const std::vector<std::string>& args) {
    const std::string dir = make_temp_dir("cli");
    const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
    // Everything the child needs is prepared before fork(): between fork and exec only
    // async-signal-safe calls are allowed in a multi-threaded process (no allocation).
    std::string exe = RV_CLI_PATH;
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    argv.push_back(exe.data());
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        const int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int in = open("/dev/null", O_RDONLY);
        dup2(o, 1);
        dup2(e, 2);
        dup2(in, 0);
        if (chdir(RV_SOURCE_DIR) != 0) _exit(126);
        execv(exe.c_str(), argv.data());
        _exit(127);
    }
    CliResult r;
    int status = 0;
    waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    fs::remove_all(dir);
    return r;
}

}  // namespace rv::test
