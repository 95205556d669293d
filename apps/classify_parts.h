// One part of a sharded `classify` run, resumable: OUT/_parts/part-K-of-N.csv with the same rows
// an unsharded `classify --format csv` prints for those images, built from checkpoint files
// (OUT/_parts/part-K-of-N.chunks/) so a killed or requeued task redoes only the unfinished chunk;
// and the CSV pieces `merge` needs to join the parts byte for byte. Layer: apps.
// PyTorch counterpart: none. Design: docs/scale-out.md.
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "apps/shard.h"
#include "vision/metrics/classification_metrics.h"

namespace rv::apps {

inline constexpr const char* kClassifyCsvHeader = "filename,index,label,score\n";

// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
std::string csv_field(const std::string& s);
// The CSV rows of one image: "filename,index,label,score\n" per ranked class (scores with 6
// significant digits). Both the unsharded CSV and the part files use it, so they agree byte for byte.
std::string csv_rows(const std::string& file, const std::vector<metrics::Ranked>& top,
                     const std::vector<std::string>& labels);

// Reads one CSV record (quoted fields may span lines): `raw` gets its exact bytes including the
// line end, `first` the unquoted first field. False at the end of the stream.
bool read_csv_record(std::istream& in, std::string* raw, std::string* first);

// done(i, ok, payload): item i of `pending` finished; payload is its CSV rows when ok, else the error.
using ItemCallback = std::function<void(size_t i, bool ok, const std::string& payload)>;
// compute(pending, done): runs the model over `pending` and calls done for every item, in order.
using ComputeItems = std::function<void(const std::vector<std::string>& pending, const ItemCallback& done)>;

struct ClassifyPart {
    std::string out_dir;
    Part part;
    std::vector<std::string> items;  // this part's inputs, sorted
    std::string settings;            // model, top-k, ...: checkpoints made with others are redone
    size_t chunk = 256;              // items per checkpoint file
    bool overwrite = false;
    bool quiet = false;
};

// Runs the part: returns at once when its CSV is finished with the same items and settings
// (and no failed list); else writes the manifest, reuses finished checkpoints, calls compute for
// the rest (failed items of an earlier attempt included), commits each chunk as it completes,
// then writes the part CSV and the failed list. Returns 0, or 3 when items failed.
int run_classify_part(const ClassifyPart& job, const ComputeItems& compute);

}  // namespace rv::apps
