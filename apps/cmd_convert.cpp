// `rwkv-vision convert IN OUT.safetensors`: a checkpoint (e.g. an official .pth) to safetensors
// with the model config, preprocessing and labels in __metadata__, so it needs no other flag.
// Layer: apps.
#include "apps/commands.h"
#include "apps/model_flags.h"
#include "heads/classifier.h"
#include "vision/core/error.h"

namespace rv::apps {

Runner add_convert(CLI::App& app, const GlobalOptions&) {
    struct Flags {
        ModelFlags model;
        std::string in, out;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* cmd =
        app.add_subcommand("convert", "write a checkpoint as .safetensors with its configuration");
    cmd->add_option("input", f->in, "zoo id or .pth / .safetensors file")->required();
    cmd->add_option("output", f->out, "output .safetensors file")->required();
    f->model.add_to(*cmd, /*with_model=*/false);
    return [f] {
        RV_CHECK(f->out.ends_with(".safetensors"), ErrorCode::kInvalidArgument, "output '", f->out,
                 "' must end in .safetensors");
        heads::convert_to_safetensors(f->in, f->model.options(), f->out);
        return kExitOk;
    };
}

}  // namespace rv::apps
