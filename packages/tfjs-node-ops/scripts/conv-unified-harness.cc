// Times the unified conv ops' functions (native/conv_unified.cc: SelectChannels, UnifiedGradInput,
// UnifiedGradFilter, and the three back to back as MePropConvUnifiedBackward runs them) on one thread, without
// TensorFlow's op machinery: thread CPU time, best and median of 21 calls. "hot"
// calls follow each other; "cold" ones follow a write of 64 MB, which evicts dy and x from the caches (as the
// bench's plain TensorFlow backward between meProp's calls does). Issue 13's layer (batch 32, 28x28, 3x3 valid,
// 32 -> 64 channels, k = 8), no ReLU.
//
//   L=node_modules/@tensorflow/tfjs-node/deps/lib
//   c++ -O3 -march=native -std=c++17 -pthread packages/tfjs-node-ops/scripts/conv-unified-harness.cc
//       packages/tfjs-node-ops/native/pool.cc -L$L -l:libtensorflow.so.2 -Wl,-rpath,$L -o /tmp/conv-unified-harness
//   /tmp/conv-unified-harness [threads]   (thread CPU time is the caller's only: use 1)
#include "../native/conv_unified.cc"

#include <cstdio>
#include <ctime>
#include <random>

namespace meprop {
// module.cc's registry, not needed here.
int AddRegistration(RegisterFn) { return 0; }
void UnknownShape(TF_ShapeInferenceContext*, TF_Status*) {}
bool RegisterOpAndKernel(TF_OpDefinitionBuilder*, const char*, void (*)(void*, TF_OpKernelContext*),
                         void* (*)(TF_OpKernelConstruction*), void (*)(void*), TF_Status*) {
  return true;
}
void Fail(TF_OpKernelContext*, const std::string&) {}
}  // namespace meprop

using namespace meprop::conv;

static double CpuMs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static std::vector<float> junk(16 << 20);

// Best and median of 21 calls (thread CPU ms).
struct Times {
  double best, median;
};

template <typename Fn>
static Times Time(Fn fn, bool cold) {
  std::vector<double> t;
  for (int r = 0; r < 21; r++) {
    if (cold)
      for (size_t i = 0; i < junk.size(); i += 16) junk[i] += 1;
    const double t0 = CpuMs();
    fn();
    t.push_back(CpuMs() - t0);
  }
  std::sort(t.begin(), t.end());
  return {t[0], t[t.size() / 2]};
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  const int64_t B = 32, H = 28, W = 28, OH = H - 2, OW = W - 2, CI = 32, CO = 64, k = 8, P = B * OH * OW;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(B * H * W * CI), dy(P * CO), dyk(P * k), sum(CO), filter(9 * CI * CO), dw(9 * CI * CO);
  std::vector<float> dxStore(B * H * W * CI + 16);
  // dx 64-byte aligned, as TensorFlow allocates an op's output.
  float* dx = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(dxStore.data()) + 63) & ~uintptr_t{63});
  for (auto& v : x) v = u(gen);
  for (auto& v : dy) v = u(gen);
  for (auto& v : filter) v = u(gen);
  std::vector<int32_t> ch(k);
  const ConvShape s{B, H, W, CI, OH, OW, 3, 3, k};
  const Geometry g;
  for (const bool cold : {false, true}) {
    const Times a = Time(
        [&] { SelectChannels(dy.data(), nullptr, false, P, CO, k, ch.data(), dyk.data(), sum.data(), threads); }, cold);
    const Times b = Time([&] { UnifiedGradInput(s, g, dyk.data(), ch.data(), filter.data(), CO, dx, threads); }, cold);
    const Times c =
        Time([&] { UnifiedGradFilter(s, g, x.data(), dyk.data(), ch.data(), CO, dw.data(), threads); }, cold);
    if (!cold) {
      // A hash of the outputs' bits (-0 counted as +0), to compare builds.
      uint64_t h = 1469598103934665603ull;
      auto mix = [&](const float* p, int64_t n) {
        for (int64_t i = 0; i < n; i++) {
          const float v = p[i] + 0.0f;
          uint32_t u;
          std::memcpy(&u, &v, 4);
          h = (h ^ u) * 1099511628211ull;
        }
      };
      mix(dyk.data(), P * k);
      mix(dx, B * H * W * CI);
      mix(dw.data(), 9 * CI * CO);
      printf("outputs' hash %016llx\n", static_cast<unsigned long long>(h));
    }
    // The whole backward as MePropConvUnifiedBackward runs it (the three functions back to back, dy_k in a buffer).
    const Times whole = Time(
        [&] {
          SelectChannels(dy.data(), nullptr, false, P, CO, k, ch.data(), dyk.data(), sum.data(), threads);
          UnifiedGradInput(s, g, dyk.data(), ch.data(), filter.data(), CO, dx, threads);
          UnifiedGradFilter(s, g, x.data(), dyk.data(), ch.data(), CO, dw.data(), threads);
        },
        cold);
    printf("%s: whole %.3f (median %.3f) ms\n", cold ? "cold" : "hot ", whole.best, whole.median);
    printf("%s: select %.3f (median %.3f) ms, grad-input %.3f (%.3f) ms, grad-filter %.3f (%.3f) ms, sum %.3f (%.3f) ms\n",
           cold ? "cold" : "hot ", a.best, a.median, b.best, b.median, c.best, c.median, a.best + b.best + c.best,
           a.median + b.median + c.median);
  }
}
