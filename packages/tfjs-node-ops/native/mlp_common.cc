// Top-k selection of the MLP ops, and their parallel-for on the shared pool (pool.h).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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

// Chunks per thread of a split: with more chunks than threads, a helper that gets its core late leaves the caller
// at most one chunk's wait, and a core shared with another process gets fewer chunks.
constexpr int64_t kChunksPerThread = 2;

struct RangeArg {
  void (*fn)(void*, int64_t, int64_t);
  void* arg;
};

}  // namespace

void ParallelFor(int64_t n, int64_t minPerTask, void (*fn)(void*, int64_t, int64_t), void* arg) {
  const int64_t parts = minPerTask > 0 ? n / minPerTask : n;
  const int threads = static_cast<int>(std::min<int64_t>(parts, MaxThreads()));
  if (threads < 2 || InJob()) {
    fn(arg, 0, n);
    return;
  }
  // Every MLP share computes whole rows, blocks or tiles of its outputs: the cut does not change any bit.
  const int64_t chunks = std::min<int64_t>(parts, threads * kChunksPerThread);
  RangeArg r{fn, arg};
  // No lingering: an MLP op's last region is usually followed by TensorFlow's own ops, whose threads want the core a
  // polling helper would hold (measured the same or better without it in the kernels bench, 13:52 UTC).
  RunChunks(
      n, (n + chunks - 1) / chunks, threads,
      [](void* p, int, int64_t b, int64_t e) { static_cast<RangeArg*>(p)->fn(static_cast<RangeArg*>(p)->arg, b, e); }, &r,
      /*linger=*/false);
}

}  // namespace mlp
}  // namespace meprop
