#include "cuda_backend.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>

#if defined(FPSCORE_WITH_CUDA)
#include "fpscore/cuda/solver.hpp"
#endif

namespace py = pybind11;

namespace fpscore_bindings {

#if defined(FPSCORE_WITH_CUDA)

void bind_cuda(py::module_& m) {
    // Registered base first: pybind11 tries the translators last-registered first.
    py::register_exception<fpscore::cuda::CudaError>(m, "CudaError", PyExc_RuntimeError);
    py::register_exception<fpscore::cuda::DeviceMemoryError>(m, "DeviceMemoryError", PyExc_MemoryError);
    m.def("cuda_compiled", [] { return true; }, "Whether this build includes the CUDA backend.");
    m.def("cuda_device_count", [] { return fpscore::cuda::device_count(); }, "CUDA devices present (0: none).");
    m.def(
        "cuda_info",
        [] {
            py::dict info;
            info["compiled"] = true;
            info["architectures"] = fpscore::cuda::compiled_architectures();
            info["runtime"] = fpscore::cuda::runtime_version();
            py::list devices;
            const int count = fpscore::cuda::device_count();
            for (int d = 0; d < count; ++d) devices.append(fpscore::cuda::device_name(d));
            info["devices"] = devices;
            return info;
        },
        "The CUDA backend of this build: architectures, runtime version and the devices present.");
    // Private, for the tests of the out-of-memory error: allocates and frees `bytes` on device 0.
    m.def("_cuda_try_allocate", [](std::size_t bytes) { fpscore::cuda::try_allocate(bytes); }, py::arg("bytes"));
}

fpscore::FPSolution solve_on_cuda(const fpscore::FPProblem& pb, fpscore::ArrayView m0, const fpscore::FPOptions& opt,
                                  int device, int max_chunk) {
    fpscore::cuda::DeviceOptions options;
    options.device = device;
    options.max_chunk = max_chunk;
    return fpscore::cuda::solve_log_density(pb, m0, opt, options);
}

#else

namespace {
// Stand-ins so that fpscore.CudaError and fpscore.DeviceMemoryError exist in every build.
struct NoCudaError {};
struct NoDeviceMemoryError {};
constexpr const char* kNoCuda =
    "backend 'cuda' is not available: this build of fpscore has no CUDA backend (install with "
    "pip install . -Ccmake.define.FPSCORE_CUDA=ON on a machine with the CUDA toolkit)";
}  // namespace

void bind_cuda(py::module_& m) {
    static py::exception<NoCudaError> cuda_error(m, "CudaError", PyExc_RuntimeError);
    static py::exception<NoDeviceMemoryError> memory_error(m, "DeviceMemoryError", PyExc_MemoryError);
    m.def("cuda_compiled", [] { return false; }, "Whether this build includes the CUDA backend.");
    m.def("cuda_device_count", [] { return 0; }, "CUDA devices present (0: none).");
    m.def(
        "cuda_info",
        [] {
            py::dict info;
            info["compiled"] = false;
            info["architectures"] = "";
            info["runtime"] = "";
            info["devices"] = py::list();
            return info;
        },
        "The CUDA backend of this build: architectures, runtime version and the devices present.");
    m.def("_cuda_try_allocate", [](std::size_t) { throw std::invalid_argument(kNoCuda); }, py::arg("bytes"));
}

fpscore::FPSolution solve_on_cuda(const fpscore::FPProblem&, fpscore::ArrayView, const fpscore::FPOptions&, int, int) {
    throw std::invalid_argument(kNoCuda);
}

#endif

}  // namespace fpscore_bindings
