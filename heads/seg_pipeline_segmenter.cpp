// segmenter_net: the segment pipeline's view of a Segmenter. Its own file so that code using the
// pipeline with another network (tests) does not pull in the model. Layer: heads.
#include "heads/seg_pipeline.h"

namespace rv::heads {

SliceNet segmenter_net(const Segmenter& model) {
    SliceNet net;
    net.id = model.id();
    net.preprocess = model.preprocess();
    net.num_classes = model.num_classes();
    const Segmenter* m = &model;
    net.forward = [m](const float* x, int B, int H, int W, float* y) { m->forward(x, B, H, W, y); };
    return net;
}

}  // namespace rv::heads
