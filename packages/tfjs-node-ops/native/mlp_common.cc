// Top-k selection and the small thread pool of the MLP ops.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "mlp_common.h"

namespace meprop {
namespace mlp {

namespace {

// The radix select behind TopKAscending (same contract), on every key.
void RadixTopK(const uint32_t* keys, int64_t n, int64_t k, int32_t* out) {
  if (k >= n) {
    for (int64_t i = 0; i < n; i++) out[i] = static_cast<int32_t>(i);
    return;
  }
  // Radix select, 8 bits at a time from the top: find the group of keys (equal on the bits fixed so far)
  // that holds the k-th largest; `need` counts how many of that group are kept. Every key above the group
  // is kept; within the group, the lowest indices (one last pass in index order, which also sorts).
  // Four interleaved histograms: real data puts most keys in a few buckets, and one histogram would make
  // every increment wait for the previous one. After each pass only the keys of the chosen group are kept
  // for the next (they are rescanned, not the whole row).
  // Few keys (after TopKAscending's threshold, a few times k) use one histogram (less to clear), and every pass
  // scans the buckets down from the largest key's digit (the keys left share the bits above it), not from 255.
  uint32_t prefix = 0, mask = 0;
  int64_t need = k;
  uint32_t hist[4][256];
  thread_local std::vector<uint32_t> cand;
  cand.assign(keys, keys + n);
  int64_t nc = n;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const uint32_t* c = cand.data();
    const int lanes = nc < 512 ? 1 : 4;
    std::memset(hist, 0, lanes * sizeof(hist[0]));
    uint32_t mx = 0;
#pragma omp simd reduction(max : mx)
    for (int64_t i = 0; i < nc; i++) mx = c[i] > mx ? c[i] : mx;
    int64_t i = 0;
    if (lanes == 4)
      for (; i + 4 <= nc; i += 4) {
        hist[0][(c[i] >> shift) & 255]++;
        hist[1][(c[i + 1] >> shift) & 255]++;
        hist[2][(c[i + 2] >> shift) & 255]++;
        hist[3][(c[i + 3] >> shift) & 255]++;
      }
    for (; i < nc; i++) hist[0][(c[i] >> shift) & 255]++;
    int64_t above = 0;
    int b = static_cast<int>((mx >> shift) & 255);
    int64_t count = 0;
    for (; b >= 0; b--) {
      count = hist[0][b];
      if (lanes == 4) count += hist[1][b] + hist[2][b] + hist[3][b];
      if (above + count >= need || b == 0) break;
      above += count;
    }
    need -= above;
    prefix |= static_cast<uint32_t>(b) << shift;
    mask |= 255u << shift;
    if (count == need || shift == 0) break;  // the whole group is kept, or the keys are fully fixed
    int64_t w = 0, j = 0;  // branch-free: about half the keys may stay, which no branch predictor guesses
#if defined(__AVX512F__)
    const __m512i vm = _mm512_set1_epi32(static_cast<int>(mask)), vp = _mm512_set1_epi32(static_cast<int>(prefix));
    for (; j + 16 <= nc; j += 16) {
      const __m512i v = _mm512_loadu_si512(c + j);
      const __mmask16 in = _mm512_cmpeq_epu32_mask(_mm512_and_si512(v, vm), vp);
      _mm512_mask_compressstoreu_epi32(cand.data() + w, in, v);
      w += __builtin_popcount(in);
    }
#endif
    for (; j < nc; j++) {
      const uint32_t key = c[j];
      cand[w] = key;
      w += (key & mask) == prefix;
    }
    nc = w;
  }
  // Keep every key above the group, and the first `need` keys of the group, in index order. With AVX-512,
  // 16 keys are compared at once and only the kept ones (set bits) are visited.
  int64_t t = 0, i = 0;
#if defined(__AVX512F__)
  const __m512i vmask = _mm512_set1_epi32(static_cast<int>(mask)), vprefix = _mm512_set1_epi32(static_cast<int>(prefix));
  for (; i + 16 <= n && t < k; i += 16) {
    const __m512i g = _mm512_and_si512(_mm512_loadu_si512(keys + i), vmask);
    const uint32_t above = _mm512_cmpgt_epu32_mask(g, vprefix), group = _mm512_cmpeq_epu32_mask(g, vprefix);
    for (uint32_t bits = above | group; bits != 0 && t < k; bits &= bits - 1) {
      const int b = __builtin_ctz(bits);
      if ((group >> b) & 1u) {
        if (need == 0) continue;
        need--;
      }
      out[t++] = static_cast<int32_t>(i + b);
    }
  }
#endif
  for (; i < n && t < k; i++) {
    const uint32_t g = keys[i] & mask;
    if (g > prefix || (g == prefix && need > 0)) {
      if (g == prefix) need--;
      out[t++] = static_cast<int32_t>(i);
    }
  }
}

}  // namespace

void TopKAscending(const uint32_t* keys, int64_t n, int64_t k, int32_t* out) {
  if (k >= n) {
    for (int64_t i = 0; i < n; i++) out[i] = static_cast<int32_t>(i);
    return;
  }
  // A cheap threshold first: deal the keys into G >= k groups (key i to group i mod G, G a multiple of 16 so
  // that the maxima are lane-wise maxima of whole vectors) and take T = the smallest of the G group maxima.
  // Those maxima are G >= k distinct entries >= T, so the k-th largest key is >= T, and every key the selection
  // keeps is among the candidates >= T (ties included: a key equal to T is a candidate). On real rows that leaves
  // a small fraction of the keys (about a tenth at 1024 keys, k = 32) for the radix select. The candidates are
  // listed in index order, so the select's "ties to the lower position, ascending positions" is "ties to the
  // lower index, ascending indices" on the original keys: the result is the same as without the threshold.
  constexpr int64_t kMaxGroups = 128;
  const int64_t G = (k + 15) / 16 * 16;
  if (G > kMaxGroups || n < 4 * G) {
    RadixTopK(keys, n, k, out);
    return;
  }
  alignas(64) uint32_t gmax[kMaxGroups] = {};
  int64_t i0 = 0;
  for (; i0 + G <= n; i0 += G) {
#pragma omp simd
    for (int64_t l = 0; l < G; l++) gmax[l] = keys[i0 + l] > gmax[l] ? keys[i0 + l] : gmax[l];
  }
  for (int64_t l = 0; i0 + l < n; l++) gmax[l] = keys[i0 + l] > gmax[l] ? keys[i0 + l] : gmax[l];
  uint32_t threshold = UINT32_MAX;
  for (int64_t l = 0; l < G; l++) threshold = gmax[l] < threshold ? gmax[l] : threshold;
  thread_local std::vector<uint32_t> candKeys;
  thread_local std::vector<int32_t> candIdx, candOut;
  candKeys.resize(n);
  candIdx.resize(n);
  int64_t c = 0, i = 0;
#if defined(__AVX512F__)
  const __m512i vt = _mm512_set1_epi32(static_cast<int>(threshold));
  const __m512i step = _mm512_set1_epi32(16);
  __m512i vi = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_loadu_si512(keys + i);
    const __mmask16 in = _mm512_cmpge_epu32_mask(v, vt);
    _mm512_mask_compressstoreu_epi32(candKeys.data() + c, in, v);
    _mm512_mask_compressstoreu_epi32(candIdx.data() + c, in, vi);
    c += __builtin_popcount(in);
    vi = _mm512_add_epi32(vi, step);
  }
#endif
  for (; i < n; i++) {  // branch-free, as in the radix passes
    candKeys[c] = keys[i];
    candIdx[c] = static_cast<int32_t>(i);
    c += keys[i] >= threshold;
  }
  if (c * 2 > n) {  // nothing gained (e.g. keys ascending along the row)
    RadixTopK(keys, n, k, out);
    return;
  }
  candOut.resize(k);
  RadixTopK(candKeys.data(), c, k, candOut.data());
  for (int64_t t = 0; t < k; t++) out[t] = candIdx[candOut[t]];
}

namespace {

// Helpers wait for a generation number to change, run their share, and count down.
class Pool {
 public:
  explicit Pool(int helpers) {
    for (int i = 0; i < helpers; i++) threads_.emplace_back([this, i] { Loop(i + 1); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      gen_++;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  void Run(int64_t n, int parts, void (*fn)(void*, int64_t, int64_t), void* arg) {
    std::unique_lock<std::mutex> run(runMu_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> l(mu_);
      fn_ = fn;
      arg_ = arg;
      n_ = n;
      parts_ = parts;
      pending_.store(parts - 1);
      gen_++;
    }
    cv_.notify_all();
    fn(arg, 0, Chunk(n, parts, 1));
    while (pending_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
  }

 private:
  static int64_t Chunk(int64_t n, int parts, int i) { return n * i / parts; }

  void Loop(int id) {
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return gen_ != seen; });
      seen = gen_;
      if (stop_) return;
      if (id >= parts_) continue;
      auto fn = fn_;
      void* arg = arg_;
      int64_t n = n_;
      int parts = parts_;
      l.unlock();
      fn(arg, Chunk(n, parts, id), Chunk(n, parts, id + 1));
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_, runMu_;
  std::condition_variable cv_;
  uint64_t gen_ = 0;
  bool stop_ = false;
  void (*fn_)(void*, int64_t, int64_t) = nullptr;
  void* arg_ = nullptr;
  int64_t n_ = 0;
  int parts_ = 1;
  std::atomic<int> pending_{0};
};

// MEPROP_NATIVE_THREADS sets the number of threads (1: no helpers); default: the hardware's, at most 4.
int ThreadCount() {
  static const int n = [] {
    const char* env = std::getenv("MEPROP_NATIVE_THREADS");
    int v = env ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
    return std::max(1, std::min(v, 4));
  }();
  return n;
}

Pool* ThePool() {
  // Leaked on purpose: joining threads during process exit can deadlock with other static destructors.
  static Pool* pool = ThreadCount() > 1 ? new Pool(ThreadCount() - 1) : nullptr;
  return pool;
}

// True on a thread while it runs a share of a parallel region (the caller's or a helper's): a ParallelFor
// nested in it runs inline, since the pool runs one region at a time (waiting for it there would deadlock).
thread_local bool inRegion = false;

struct RegionArg {
  void (*fn)(void*, int64_t, int64_t);
  void* arg;
};

void RunInRegion(void* p, int64_t b, int64_t e) {
  const RegionArg& r = *static_cast<RegionArg*>(p);
  const bool outer = inRegion;
  inRegion = true;
  r.fn(r.arg, b, e);
  inRegion = outer;
}

}  // namespace

SerialScope::SerialScope() : outer_(inRegion) { inRegion = true; }
SerialScope::~SerialScope() { inRegion = outer_; }

int PoolThreads() {
  Pool* pool = ThePool();
  return pool == nullptr ? 1 : pool->size();
}

void ParallelFor(int64_t n, int64_t minPerTask, void (*fn)(void*, int64_t, int64_t), void* arg) {
  Pool* pool = ThePool();
  int64_t parts = minPerTask > 0 ? n / minPerTask : n;
  if (pool == nullptr || parts < 2 || inRegion) {
    fn(arg, 0, n);
    return;
  }
  RegionArg r{fn, arg};
  pool->Run(n, static_cast<int>(std::min<int64_t>(parts, pool->size())), RunInRegion, &r);
}

}  // namespace mlp
}  // namespace meprop
