// The phases of meProp's MLP backward ops (packages/tfjs-node-ops/native/mlp_backward.cc) timed alone, in one
// process, without TensorFlow: the op file is included and its kernels' helpers are called directly; the few
// TensorFlow C functions the file references are stubs (never called). Thread CPU time, median of 100 calls.
// COLD=1 writes 8 MB between calls (as plain's products leave the caches in `meprop-bench kernels`).
//
//   D=packages/tfjs-node-ops/native
//   c++ -O3 -march=native -std=c++17 -fopenmp-simd -pthread -Wno-psabi -I$D tools/mlp-phases/mlp_phases.cc \
//     $D/mlp_common.cc $D/pool.cc -o /tmp/mlp_phases && MEPROP_NATIVE_THREADS=1 /tmp/mlp_phases
// (point -I and the mlp_common.cc path at another checkout's native/ to compare two versions).
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "mlp_backward.cc"

namespace meprop {
int AddRegistration(RegisterFn) { return 0; }
void UnknownShape(TF_ShapeInferenceContext*, TF_Status*) {}
bool RegisterOpAndKernel(TF_OpDefinitionBuilder*, const char*, void (*)(void*, TF_OpKernelContext*),
                         void* (*)(TF_OpKernelConstruction*), void (*)(void*), TF_Status*) {
  return true;
}
void Fail(TF_OpKernelContext*, const std::string&) {}
}  // namespace meprop

// The TensorFlow C functions the op file references (its kernels' entry points, never called here).
extern "C" {
TF_Status* TF_NewStatus(void) { std::abort(); }
void TF_DeleteStatus(TF_Status*) { std::abort(); }
TF_Code TF_GetCode(const TF_Status*) { std::abort(); }
const char* TF_Message(const TF_Status*) { std::abort(); }
int TF_NumDims(const TF_Tensor*) { std::abort(); }
int64_t TF_Dim(const TF_Tensor*, int) { std::abort(); }
void* TF_TensorData(const TF_Tensor*) { std::abort(); }
int64_t TF_TensorElementCount(const TF_Tensor*) { std::abort(); }
TF_DataType TF_TensorType(const TF_Tensor*) { std::abort(); }
void TF_DeleteTensor(TF_Tensor*) { std::abort(); }
void TF_GetInput(TF_OpKernelContext*, int, TF_Tensor**, TF_Status*) { std::abort(); }
TF_Tensor* TF_AllocateOutput(TF_OpKernelContext*, int, TF_DataType, const int64_t*, int, size_t, TF_Status*) {
  std::abort();
}
void TF_OpKernelConstruction_Failure(TF_OpKernelConstruction*, TF_Status*) { std::abort(); }
void TF_OpKernelConstruction_GetAttrInt64(TF_OpKernelConstruction*, const char*, int64_t*, TF_Status*) { std::abort(); }
void TF_OpKernelConstruction_GetAttrBool(TF_OpKernelConstruction*, const char*, unsigned char*, TF_Status*) {
  std::abort();
}
TF_OpDefinitionBuilder* TF_NewOpDefinitionBuilder(const char*) { std::abort(); }
void TF_OpDefinitionBuilderAddInput(TF_OpDefinitionBuilder*, const char*) { std::abort(); }
void TF_OpDefinitionBuilderAddOutput(TF_OpDefinitionBuilder*, const char*) { std::abort(); }
void TF_OpDefinitionBuilderAddAttr(TF_OpDefinitionBuilder*, const char*) { std::abort(); }
void TF_OpDefinitionBuilderSetShapeInferenceFunction(TF_OpDefinitionBuilder*,
                                                     void (*)(TF_ShapeInferenceContext*, TF_Status*)) {
  std::abort();
}
}

using namespace meprop::mlp;

static std::vector<float> junk(8 << 20);
static const bool cold = std::getenv("COLD") != nullptr;

template <class F>
double Median(F f, int reps = 100) {
  std::vector<double> all;
  for (int r = 0; r < reps; r++) {
    if (cold)
      for (size_t i = 0; i < junk.size(); i += 16) junk[i] += 1.0f;
    timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    f();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    all.push_back((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3);
  }
  std::sort(all.begin(), all.end());
  return all[all.size() / 2];
}

int main() {
  for (auto [M, K, N, k] : std::vector<std::array<int64_t, 4>>{{32, 500, 500, 20}, {128, 1024, 1024, 32}}) {
    std::mt19937 g(1);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> x(M * K), w(K * N), dy(M * N), dW(K * N), dx(M * K), vals(M * k);
    for (auto* v : {&x, &w, &dy})
      for (auto& e : *v) e = u(g) + u(g) + u(g);
    std::vector<int32_t> ix(M * k), sh(k);
    std::vector<float> dyk(M * k), rows(k * K), wkT(k * K);
    const double sel = Median([&] { SelectPerRow(dy.data(), M, N, k, ix.data(), vals.data()); });
    const KeptEntries e{ix.data(), k, vals.data(), M, k};
    const double dw = Median([&] { SparseDw(e, x.data(), K, N, false, false, dW.data()); });
    const double dxt = Median([&] { SparseDx(e, w.data(), K, N, false, false, dx.data()); });
    const double usel = Median([&] {
      SelectShared(dy.data(), M, N, k, sh.data());
      GatherColumns(dy.data(), M, N, sh.data(), k, dyk.data());
    });
    const double slices = Median([&] { SlicesFromKept(dyk.data(), x.data(), M, K, k, false, rows.data()); });
    const double fill =
        Median([&] { FillDenseRows(dW.data(), N, sh.data(), k, rows.data(), K, 0, K); });
    const double gather = Median([&] { GatherWeightColumns(w.data(), K, N, false, sh.data(), k, wkT.data()); });
    const double dxu = Median([&] { DxFromKept(dyk.data(), wkT.data(), M, K, k, false, dx.data()); });
    std::printf(
        "%ldx%ldx%ld k=%ld threads=%d%s | per-example: select %.0f dW %.0f dx %.0f | unified: select %.0f slices %.0f "
        "dense fill %.0f gather W %.0f dx %.0f (us)\n",
        static_cast<long>(M), static_cast<long>(K), static_cast<long>(N), static_cast<long>(k), meprop::MaxThreads(),
        cold ? " cold" : "", sel, dw, dxt, usel, slices, fill, gather, dxu);
  }
}
