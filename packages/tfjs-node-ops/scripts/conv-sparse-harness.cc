// Times the per-position conv ops' functions (native/conv_sparse.cc: SelectRows, SparseGradInput, SparseGradFilter)
// on one thread,
// without TensorFlow's op machinery: thread CPU time, best of 15 calls, steadier than wall-clock on a busy machine.
// Issue 13's layer by default (batch 32, 28x28, 3x3 valid, 32 -> 64 channels, k = 8); random kept entries.
//
//   L=node_modules/@tensorflow/tfjs-node/deps/lib
//   c++ -O3 -march=native -std=c++17 -pthread packages/tfjs-node-ops/scripts/conv-sparse-harness.cc
//       -L$L -l:libtensorflow.so.2 -Wl,-rpath,$L -o /tmp/conv-sparse-harness   (one line)
//   /tmp/conv-sparse-harness [CI] [CO] [k]
#include "../native/conv_sparse.cc"

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

template <typename Fn>
static double Best(Fn fn) {
  double best = 1e300;
  for (int r = 0; r < 15; r++) {
    const double t0 = CpuMs();
    fn();
    best = std::min(best, CpuMs() - t0);
  }
  return best;
}

int main(int argc, char** argv) {
  const int64_t B = 32, H = 28, W = 28, OH = H - 2, OW = W - 2;
  const int64_t CI = argc > 1 ? atoi(argv[1]) : 32, CO = argc > 2 ? atoi(argv[2]) : 64, k = argc > 3 ? atoi(argv[3]) : 8;
  const int64_t P = B * OH * OW;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(B * H * W * CI), dy(P * CO), y(P * CO), val(P * k), dw(9 * CI * CO), sum(CO);
  std::vector<int32_t> idx(P * k);
  for (auto& v : x) v = u(gen);
  for (auto& v : dy) v = u(gen) + u(gen) + u(gen);
  for (auto& v : y) v = u(gen);
  std::vector<int32_t> ch(CO);
  for (int64_t p = 0; p < P; p++) {
    for (int64_t c = 0; c < CO; c++) ch[c] = static_cast<int32_t>(c);
    std::shuffle(ch.begin(), ch.end(), gen);
    std::sort(ch.begin(), ch.begin() + k);
    for (int64_t t = 0; t < k; t++) idx[p * k + t] = ch[t];
    for (int64_t t = 0; t < k; t++) val[p * k + t] = u(gen);
  }
  std::vector<int32_t> oi(P * k);
  std::vector<float> ov(P * k);
  for (const bool relu : {false, true})
    printf("selection (relu %d): %.3f ms\n", relu, Best([&] {
             SelectRows(dy.data(), y.data(), relu, P, CO, k, oi.data(), ov.data(), sum.data(), 1);
           }));
  const ConvShape s{B, H, W, CI, OH, OW, 3, 3, k};
  const Geometry g;
  std::vector<float> filter(9 * CI * CO), dxStore(B * H * W * CI + 16);
  for (auto& v : filter) v = u(gen);
  // dx 64-byte aligned, as TensorFlow allocates an op's output.
  float* dx = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(dxStore.data()) + 63) & ~uintptr_t{63});
  printf("dx: %.3f ms\n", Best([&] { SparseGradInput(s, g, CO, idx.data(), val.data(), filter.data(), dx, 1); }));
  for (const int64_t rows : {OH, int64_t{4}, FilterRowBlock(s, g)})
    printf("dW, blocks of %ld output rows: %.3f ms\n", static_cast<long>(rows), Best([&] {
             SparseGradFilter(s, g, CO, idx.data(), val.data(), x.data(), dw.data(), 1, rows);
           }));
}
