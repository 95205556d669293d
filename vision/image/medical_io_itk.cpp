// Reading and writing medical volumes through ITK (NIfTI, DICOM series via GDCM, MetaImage, NRRD,
// PNG, TIFF); NIfTI outputs keep the input's header (medical_nifti.h). The only file of ours that
// includes ITK's IO headers. Layer: vision/image. PyTorch counterpart: nnU-Net's SimpleITKIO.
#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkImageSeriesReader.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkPNGImageIOFactory.h>
#include <itkTIFFImageIOFactory.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "vision/core/error.h"
#include "vision/image/medical_nifti.h"
#include "vision/image/medical_volume.h"

namespace rv::image {
namespace {
namespace fs = std::filesystem;

using FloatImage = itk::Image<float, 3>;

// ITK finds IO classes through factories; we register the ones we use explicitly (no
// ITK_USE_FILE auto-registration), once.
void register_factories() {
    static std::once_flag once;
    std::call_once(once, [] {
        itk::Object::GlobalWarningDisplayOff();  // the library never prints; failures are rv::Error
        itk::NiftiImageIOFactory::RegisterOneFactory();
        itk::GDCMImageIOFactory::RegisterOneFactory();
        itk::MetaImageIOFactory::RegisterOneFactory();
        itk::NrrdImageIOFactory::RegisterOneFactory();
        itk::PNGImageIOFactory::RegisterOneFactory();
        itk::TIFFImageIOFactory::RegisterOneFactory();
    });
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

VolumeGeometry geometry_of(const FloatImage* img, int dims) {
    VolumeGeometry g;
    g.dims = dims;
    const auto size = img->GetLargestPossibleRegion().GetSize();
    for (unsigned a = 0; a < 3; ++a) {
        g.size[a] = static_cast<int64_t>(size[a]);
        g.spacing[a] = img->GetSpacing()[a];
        g.origin[a] = img->GetOrigin()[a];
        for (unsigned c = 0; c < 3; ++c) g.direction[a * 3 + c] = img->GetDirection()(a, c);
    }
    return g;
}

template <typename Pixel>
typename itk::Image<Pixel, 3>::Pointer make_image(const VolumeGeometry& g, const Pixel* data) {
    using Image = itk::Image<Pixel, 3>;
    auto img = Image::New();
    typename Image::SizeType size;
    typename Image::SpacingType spacing;
    typename Image::PointType origin;
    typename Image::DirectionType direction;
    for (unsigned a = 0; a < 3; ++a) {
        size[a] = static_cast<itk::SizeValueType>(g.size[a]);
        spacing[a] = g.spacing[a];
        origin[a] = g.origin[a];
        for (unsigned c = 0; c < 3; ++c) direction(a, c) = g.direction[a * 3 + c];
    }
    img->SetRegions(typename Image::RegionType(size));
    img->SetSpacing(spacing);
    img->SetOrigin(origin);
    img->SetDirection(direction);
    img->Allocate();
    std::copy(data, data + g.voxel_count(), img->GetBufferPointer());
    return img;
}

template <typename Pixel>
typename itk::Image<Pixel, 2>::Pointer make_image_2d(const VolumeGeometry& g, const Pixel* data) {
    using Image = itk::Image<Pixel, 2>;
    auto img = Image::New();
    typename Image::SizeType size;
    typename Image::SpacingType spacing;
    typename Image::PointType origin;
    for (unsigned a = 0; a < 2; ++a) {
        size[a] = static_cast<itk::SizeValueType>(g.size[a]);
        spacing[a] = g.spacing[a];
        origin[a] = g.origin[a];
    }
    img->SetRegions(typename Image::RegionType(size));
    img->SetSpacing(spacing);
    img->SetOrigin(origin);
    img->Allocate();
    std::copy(data, data + g.voxel_count(), img->GetBufferPointer());
    return img;
}

// A hidden folder next to `path` that is removed again however the write ends.
class TempFolder {
public:
    explicit TempFolder(const fs::path& target) {
        const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
        std::error_code ec;
        RV_CHECK(fs::is_directory(dir, ec), ErrorCode::kNotFound, "output folder '", dir.string(),
                 "' does not exist");
        std::random_device rd;
        path_ = dir / (".rwkv-tmp-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
        RV_CHECK(fs::create_directory(path_, ec) && !ec, ErrorCode::kIo, "cannot create '", path_.string(),
                 "': ", ec.message());
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Moves every file of the temporary folder next to `target`; `target` itself (the header of
// a two-file format) last, so it never points at a data file that is not there yet.
void publish(const TempFolder& tmp, const fs::path& target) {
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(tmp.path())) files.push_back(e.path());
    std::stable_partition(files.begin(), files.end(),
                          [&](const fs::path& p) { return p.filename() != target.filename(); });
    for (const auto& p : files) {
        std::error_code ec;
        fs::rename(p, dir / p.filename(), ec);
        RV_CHECK(!ec, ErrorCode::kIo, "cannot move the result into place at '", (dir / p.filename()).string(),
                 "': ", ec.message());
    }
}

void check_finite(const Volume& v) {
    for (size_t i = 0; i < v.voxels.size(); ++i)
        RV_CHECK(std::isfinite(v.voxels[i]), ErrorCode::kCorruptFile, "'", v.source.path, "' has a ",
                 std::isnan(v.voxels[i]) ? "NaN" : "infinite", " voxel (at linear index ", i,
                 "); fix or mask the input before segmenting it");
}

std::vector<std::string> dicom_series_files(const std::string& folder) {
    auto names = itk::GDCMSeriesFileNames::New();
    names->SetUseSeriesDetails(true);
    names->SetDirectory(folder);
    const auto uids = names->GetSeriesUIDs();
    RV_CHECK(!uids.empty(), ErrorCode::kCorruptFile, "folder '", folder, "' holds no readable DICOM series");
    RV_CHECK(uids.size() == 1, ErrorCode::kUnsupported, "folder '", folder, "' holds ", uids.size(),
             " DICOM series; put each series in its own folder (one folder = one case)");
    return names->GetFileNames(uids.front());
}

Volume read_dicom(const std::string& folder, int64_t max_voxels) {
    const auto files = dicom_series_files(folder);
    using Reader = itk::ImageSeriesReader<FloatImage>;
    auto reader = Reader::New();
    auto io = itk::GDCMImageIO::New();
    reader->SetImageIO(io);
    reader->SetFileNames(files);
    try {
        reader->UpdateOutputInformation();
    } catch (const itk::ExceptionObject& e) {
        RV_THROW(ErrorCode::kCorruptFile, "cannot read the DICOM series in '", folder,
                 "': ", e.GetDescription());
    }
    Volume v;
    v.geometry = geometry_of(reader->GetOutput(), 3);
    v.source.path = folder;
    v.source.extension = "";
    v.source.component_type = itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType());
    RV_CHECK(v.geometry.voxel_count() > 0, ErrorCode::kShapeMismatch, "DICOM series in '", folder,
             "' has a zero-size dimension");
    RV_CHECK(v.geometry.voxel_count() <= max_voxels, ErrorCode::kLimit, "DICOM series in '", folder, "' has ",
             v.geometry.voxel_count(), " voxels, more than the limit of ", max_voxels);
    try {
        reader->Update();
    } catch (const itk::ExceptionObject& e) {
        RV_THROW(ErrorCode::kCorruptFile, "cannot read the DICOM series in '", folder,
                 "': ", e.GetDescription());
    }
    const float* p = reader->GetOutput()->GetBufferPointer();
    v.voxels.assign(p, p + v.geometry.voxel_count());
    return v;
}

Volume read_file(const std::string& path, int64_t max_voxels) {
    const std::string ext = volume_extension(path);
    RV_CHECK(!ext.empty(), ErrorCode::kUnsupported, "'", path,
             "' is not a volume format we read (.nii, .nii.gz, .mha, .mhd, .nrrd, .nhdr, .png, .tif, .tiff, "
             "or a DICOM folder)");
    std::error_code ec;
    RV_CHECK(fs::file_size(path, ec) > 0 && !ec, ErrorCode::kCorruptFile, "'", path, "' is empty");
    Volume v;
    v.source.path = path;
    v.source.extension = ext;
    if (ext == ".nii" || ext == ".nii.gz") {
        v.source.nifti_header = nifti::read_header(path);
        if (!v.source.nifti_header.empty()) nifti::check_data(path, v.source.nifti_header);
    }

    auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    RV_CHECK(io, ErrorCode::kCorruptFile, "'", path, "' cannot be read as ", ext,
             " (ITK found no reader that accepts it; is the file damaged?)");
    try {
        io->SetFileName(path);
        io->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
        RV_THROW(ErrorCode::kCorruptFile, "cannot read the header of '", path, "': ", e.GetDescription());
    }
    const unsigned dims = io->GetNumberOfDimensions();
    int64_t count = 1;
    for (unsigned a = 0; a < dims; ++a) {
        const auto n = static_cast<int64_t>(io->GetDimensions(a));
        RV_CHECK(n > 0, ErrorCode::kShapeMismatch, "'", path, "' has size 0 along axis ", a,
                 "; an empty volume cannot be segmented");
        RV_CHECK(a < 3 || n == 1, ErrorCode::kUnsupported, "'", path, "' is ", dims, "-D with ", n,
                 " volumes along axis ", a,
                 "; give one 3-D volume per file (nnU-Net: one file per channel, CASE_0000, CASE_0001, ...)");
        count *= n;
    }
    RV_CHECK(dims >= 2, ErrorCode::kUnsupported, "'", path, "' is ", dims, "-D; volumes are 2-D or 3-D");
    RV_CHECK(count <= max_voxels, ErrorCode::kLimit, "'", path, "' has ", count,
             " voxels, more than the limit of ", max_voxels);
    RV_CHECK(io->GetNumberOfComponents() <= 4, ErrorCode::kUnsupported, "'", path, "' has ",
             io->GetNumberOfComponents(), " components per voxel; give one scalar volume per channel");
    v.source.component_type = itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType());

    auto reader = itk::ImageFileReader<FloatImage>::New();
    reader->SetImageIO(io);
    reader->SetFileName(path);
    try {
        reader->Update();
    } catch (const itk::ExceptionObject& e) {
        RV_THROW(ErrorCode::kCorruptFile, "cannot read '", path, "': ", e.GetDescription());
    }
    v.geometry = geometry_of(reader->GetOutput(), dims == 2 ? 2 : 3);
    RV_CHECK(v.geometry.voxel_count() == count, ErrorCode::kCorruptFile, "'", path, "': ITK read ",
             v.geometry.voxel_count(), " voxels, the header declares ", count);
    const float* p = reader->GetOutput()->GetBufferPointer();
    v.voxels.assign(p, p + count);
    return v;
}

void check_header_matches(const std::vector<uint8_t>& h, const VolumeGeometry& g, const std::string& path) {
    for (size_t a = 0; a < 3; ++a) {
        const int64_t d = nifti::get_i16(h, 42 + 2 * a);
        RV_CHECK(d == g.size[a] || (d == 0 && g.size[a] == 1), ErrorCode::kShapeMismatch, "writing '", path,
                 "': the map has ", g.size[a], " voxels along axis ", a, ", the input header ", d);
    }
}

template <typename Pixel>
void write_any(const std::string& path, const VolumeGeometry& g, const VolumeSource& source,
               const Pixel* data) {
    register_factories();
    const fs::path target(path);
    const TempFolder tmp(target);
    const std::string tmp_file = (tmp.path() / target.filename()).string();
    const std::string ext = volume_extension(path);
    const bool nifti_out = ext == ".nii" || ext == ".nii.gz";
    if (nifti_out && !source.nifti_header.empty()) {
        check_header_matches(source.nifti_header, g, path);
        nifti::write(tmp_file, source.nifti_header,
                     std::is_same_v<Pixel, uint8_t> ? nifti::DataType::kUInt8 : nifti::DataType::kFloat32,
                     data, g.voxel_count());
    } else {
        RV_CHECK(!ext.empty(), ErrorCode::kInvalidArgument, "cannot write '", path, "': unknown file ending");
        RV_CHECK(!(ext == ".png" && std::is_same_v<Pixel, float>), ErrorCode::kUnsupported, "cannot write '",
                 path, "': PNG holds no float values; use .tif for probabilities");
        try {
            if (g.dims == 2 && g.size[2] == 1) {
                auto writer = itk::ImageFileWriter<itk::Image<Pixel, 2>>::New();
                writer->SetInput(make_image_2d<Pixel>(g, data));
                writer->SetFileName(tmp_file);
                writer->SetUseCompression(ext != ".png");
                writer->Update();
            } else {
                auto writer = itk::ImageFileWriter<itk::Image<Pixel, 3>>::New();
                writer->SetInput(make_image<Pixel>(g, data));
                writer->SetFileName(tmp_file);
                writer->SetUseCompression(true);
                writer->Update();
            }
        } catch (const itk::ExceptionObject& e) {
            RV_THROW(ErrorCode::kIo, "cannot write '", path, "': ", e.GetDescription());
        }
    }
    publish(tmp, target);
}

}  // namespace

std::string volume_extension(const std::string& path) {
    const std::string p = lower(fs::path(path).filename().string());
    for (const char* ext : {".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".png", ".tiff", ".tif"}) {
        const size_t n = std::strlen(ext);
        if (p.size() > n && p.compare(p.size() - n, n, ext) == 0) return ext;
    }
    return "";
}

bool is_dicom_folder(const std::string& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return false;
    for (const auto& e : fs::directory_iterator(path, ec)) {
        if (!e.is_regular_file(ec)) continue;
        std::ifstream f(e.path(), std::ios::binary);
        char magic[132] = {};
        if (f.read(magic, 132) && std::memcmp(magic + 128, "DICM", 4) == 0) return true;
    }
    return false;
}

std::string output_extension(const VolumeSource& source) {
    return source.extension.empty() ? ".nii.gz" : source.extension;
}

Volume read_volume(const std::string& path, int64_t max_voxels) {
    register_factories();
    std::error_code ec;
    RV_CHECK(fs::exists(path, ec), ErrorCode::kNotFound, "'", path, "' does not exist");
    Volume v = fs::is_directory(path, ec) ? read_dicom(path, max_voxels) : read_file(path, max_voxels);
    check_finite(v);
    return v;
}

void write_label_volume(const std::string& path, const VolumeGeometry& geometry, const VolumeSource& source,
                        const uint8_t* labels) {
    write_any<uint8_t>(path, geometry, source, labels);
}

void write_float_volume(const std::string& path, const VolumeGeometry& geometry, const VolumeSource& source,
                        const float* values) {
    write_any<float>(path, geometry, source, values);
}

}  // namespace rv::image
