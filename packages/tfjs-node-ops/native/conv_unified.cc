// meProp's unified convolution backward (the same k output channels at every example and position) as three
// native ops, NHWC float32:
//
//   MePropConvSelect(dy [..., CO], y [..., CO]; k, relu) -> channels [k] int32, dy_k [..., k], sum [CO]
//     With relu, dy is first multiplied by the ReLU's derivative at the saved output y (dz = dy where y > 0,
//     dy * 0 elsewhere, NaN where y is NaN); without, dz = dy and y is not read. Keeps the k channels with the
//     largest sum of |dz| over every other axis (a NaN sum ranks first, ties to the lower channel), in
//     ascending order, and returns dz at them plus the per-channel sum of dz (a bias's gradient).
//   MePropConvUnifiedGradInput(dy_k [B, OH, OW, k], channels [k], filter [FH, FW, CI, CO]; input_h, input_w,
//     geometry) -> dx [B, H, W, CI]: the input gradient of the convolution from the kept channels only.
//   MePropConvUnifiedGradFilter(x [B, H, W, CI], dy_k, channels; filter_h, filter_w, out_channels, geometry)
//     -> dW [FH, FW, CI, CO], zero outside the kept channels.
//
// The products are register-tiled loops over the kept channels only (up to 8 channels × 2 vectors of input
// channels held in registers, FMA), with no im2col buffer: each output row's input rows stay in L1.
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <numeric>

#include "conv_common.h"

namespace meprop {
namespace conv {
namespace {

// ---------------------------------------------------------------------------------------------------------
// Selection


// How far ahead (bytes) the passes over dy (and y) ask for the rows they will read next. The hardware's
// prefetchers stop at 4 KB page boundaries; 8 KB ahead measured 0.33-0.37 ms against 0.55-0.60 ms for a cold
// pass over 5.5 MB (one core).
constexpr int64_t kPrefetchAhead = 8192;

// Asks for the `bytes` (whole lines) at p + kPrefetchAhead to be brought into L2.
inline void PrefetchAhead(const float* p, int64_t bytes) {
  const char* c = reinterpret_cast<const char*>(p) + kPrefetchAhead;
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 2);
}

// Σ|dz| and Σdz over `rows` rows (row stride `stride`) of NV·kLanes columns, added into score and total. With
// `ahead` > 0, each row's `ahead` bytes from the row's start are prefetched kPrefetchAhead further on.
template <int NV>
void ColumnSums(const float* dy, const float* y, int64_t stride, int64_t rows, double* score, double* total,
                int64_t ahead) {
  VecF s[NV], t[NV];
  for (int v = 0; v < NV; v++) s[v] = t[v] = Splat(0.0f);
  for (int64_t r = 0; r < rows; r++) {
    if (ahead > 0) {
      PrefetchAhead(dy + r * stride, ahead);
      if (y != nullptr) PrefetchAhead(y + r * stride, ahead);
    }
    for (int v = 0; v < NV; v++) {
      VecF z = LoadV(dy + r * stride + v * kLanes);
      if (y != nullptr) z = ReluGrad(z, LoadV(y + r * stride + v * kLanes));
      t[v] += z;
      s[v] += z < 0 ? -z : z;
    }
  }
  for (int v = 0; v < NV; v++)
    for (int l = 0; l < kLanes; l++) {
      score[v * kLanes + l] += s[v][l];
      total[v * kLanes + l] += t[v][l];
    }
}
using SumColumns = void (*)(const float*, const float*, int64_t, int64_t, double*, double*, int64_t);

// Σ|dz| per channel over P rows of CO, the k largest (NaN first, ties to the lower channel; ascending), dz at
// them (dyk [P, k]) and Σdz per channel (sum [CO]). dz = dy · relu'(y) when `relu`, else dy (y unread).
void SelectChannels(const float* dy, const float* y, bool relu, int64_t P, int64_t CO, int64_t k, int32_t* channels,
                    float* dyk, float* sum, int threads) {
  // Pass 1: Σ|dz| and Σdz per channel: float sums in registers over blocks of kBlock rows, added into doubles
  // per chunk of kChunk rows; the chunks (split across threads) are then added in order, so that the sums do
  // not depend on the number of threads.
  const int64_t kBlock = 256, kChunk = 8 * kBlock;
  const int64_t chunks = (P + kChunk - 1) / kChunk;
  std::vector<double> part(chunks * 2 * CO, 0.0);
  ParallelFor(chunks, threads, [&](int, int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; q++) {
      double* score = part.data() + q * 2 * CO;
      double* total = score + CO;
      for (int64_t p0 = q * kChunk; p0 < std::min(P, (q + 1) * kChunk); p0 += kBlock) {
        const int64_t rows = std::min(P, p0 + kBlock) - p0;
        for (int64_t c = 0; c < CO;) {
          const int64_t left = (CO - c) / kLanes;
          if (left == 0) {
            float fs = 0, ft = 0;
            for (int64_t r = p0; r < p0 + rows; r++) {
              const float z = relu ? ReluGrad1(dy[r * CO + c], y[r * CO + c]) : dy[r * CO + c];
              ft += z;
              fs += std::fabs(z);
            }
            score[c] += fs;
            total[c] += ft;
            c++;
            continue;
          }
          const int nv = static_cast<int>(std::min<int64_t>(4, left));
          SumColumns sums = nv == 4   ? ColumnSums<4>
                            : nv == 3 ? ColumnSums<3>
                            : nv == 2 ? ColumnSums<2>
                                      : ColumnSums<1>;
          // The first column group of the rows prefetches the whole rows, ahead.
          sums(dy + p0 * CO + c, relu ? y + p0 * CO + c : nullptr, CO, rows, &score[c], &total[c],
               c == 0 ? CO * static_cast<int64_t>(sizeof(float)) : 0);
          c += nv * kLanes;
        }
      }
    }
  });
  std::vector<double> score(CO, 0.0), total(CO, 0.0);
  for (int64_t q = 0; q < chunks; q++)
    for (int64_t c = 0; c < CO; c++) {
      score[c] += part[q * 2 * CO + c];
      total[c] += part[q * 2 * CO + CO + c];
    }
  for (int64_t c = 0; c < CO; c++) sum[c] = static_cast<float>(total[c]);

  // Top-k channels: NaN first, then larger scores, ties to the lower channel; kept in ascending order.
  std::vector<int32_t> order(CO);
  std::iota(order.begin(), order.end(), 0);
  auto before = [&](int32_t i, int32_t j) {
    const bool ni = std::isnan(score[i]), nj = std::isnan(score[j]);
    if (ni != nj) return ni;
    if (!ni && score[i] != score[j]) return score[i] > score[j];
    return i < j;
  };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
  std::sort(order.begin(), order.begin() + k);
  std::copy(order.begin(), order.begin() + k, channels);

  // Pass 2: dz at the kept channels, the chunks in reverse order: the last ones pass 1 read are still in the
  // cores' L2 caches (dy larger than the caches is otherwise read twice from memory).
  ParallelFor(
      chunks, threads,
      [&](int, int64_t q0, int64_t) {
        const int64_t q = chunks - 1 - q0;
        for (int64_t r = q * kChunk; r < std::min(P, (q + 1) * kChunk); r++) {
          const float* d = dy + r * CO;
          const float* yy = y + r * CO;
          float* o = dyk + r * k;
          PrefetchAhead(d, CO * static_cast<int64_t>(sizeof(float)));
          if (relu) PrefetchAhead(yy, CO * static_cast<int64_t>(sizeof(float)));
          if (relu) {
            for (int64_t t = 0; t < k; t++) o[t] = ReluGrad1(d[channels[t]], yy[channels[t]]);
          } else {
            for (int64_t t = 0; t < k; t++) o[t] = d[channels[t]];
          }
        }
      });
}

void SelectCompute(void* p, TF_OpKernelContext* ctx) {
  const KReluAttrs& a = *static_cast<KReluAttrs*>(p);
  Tensors io(ctx);
  TF_Tensor* dy_t = io.Input(0, TF_FLOAT, "dy");
  if (!dy_t) return;
  TF_Tensor* y_t = io.Input(1, TF_FLOAT, "y");
  if (!y_t) return;
  std::vector<int64_t> dims = Dims(dy_t);
  if (dims.empty()) return Fail(ctx, "MePropConvSelect: dy must have rank >= 1, got a scalar");
  const int64_t CO = dims.back();
  if (a.k > CO)
    return Fail(ctx, "MePropConvSelect: k (" + std::to_string(a.k) + ") exceeds dy's " + std::to_string(CO) +
                         " channels (shape " + ShapeText(dims) + ")");
  if (a.relu && Dims(y_t) != dims)
    return Fail(ctx, "MePropConvSelect: y's shape " + ShapeText(Dims(y_t)) + " must equal dy's " + ShapeText(dims));
  const int64_t P = CO == 0 ? 0 : TF_TensorElementCount(dy_t) / CO;
  const int64_t k = a.k;
  std::vector<int64_t> kdims = dims;
  kdims.back() = k;
  TF_Tensor* ch_t = io.Output(0, TF_INT32, {k});
  if (!ch_t) return;
  TF_Tensor* dyk_t = io.Output(1, TF_FLOAT, kdims);
  if (!dyk_t) return;
  TF_Tensor* sum_t = io.Output(2, TF_FLOAT, {CO});
  if (!sum_t) return;
  SelectChannels(static_cast<const float*>(TF_TensorData(dy_t)), static_cast<const float*>(TF_TensorData(y_t)),
                 a.relu, P, CO, k, static_cast<int32_t*>(TF_TensorData(ch_t)), static_cast<float*>(TF_TensorData(dyk_t)),
                 static_cast<float*>(TF_TensorData(sum_t)), ThreadsFor(P * CO, kElementsPerThread));
}

// ---------------------------------------------------------------------------------------------------------
// Products. Vector path: input channels padded to whole vectors (CIp), the k kept channels in blocks of up to
// 8; accumulators / filter slices [FH][FW][k][CIp]. Scalar path (CI < kLanes / 2): [FH][FW][CI][k].

constexpr int kMaxJ = 8;

// The positions a tap visits: `rows` output rows of `cols` positions each, in one image; the steps are in floats
// (between neighbouring positions along a row, and between rows) for the input side, dy_k's are k and OW·k.
struct Span {
  int64_t rows, cols, col_step, row_step, dy_row;
};

// Cache lines to bring into L2 while a loop runs: `lines` lines from p, `per_row` after each row of the loop.
struct Prefetch {
  const char* p = nullptr;
  int64_t lines = 0, per_row = 0;
  void Row(int64_t r) const {
    for (int64_t l = r * per_row, e = std::min(lines, l + per_row); l < e; l++) __builtin_prefetch(p + l * 64, 0, 2);
  }
};

// dW tile: acc[j][v] += Σ_positions dy_k[pos][j] * x_pos[v], the JB·NV accumulators in registers throughout.
template <int NV, int JB>
void FilterTile(const float* x0, const float* dy0, int64_t k, const Span& sp, float* acc, int64_t CIp,
                const Prefetch& pf) {
  VecF a[JB][NV];
  for (int j = 0; j < JB; j++)
    for (int v = 0; v < NV; v++) a[j][v] = LoadV(acc + j * CIp + v * kLanes);
  for (int64_t r = 0; r < sp.rows; r++) {
    const float* xrow = x0 + r * sp.row_step;
    const float* drow = dy0 + r * sp.dy_row;
    for (int64_t i = 0; i < sp.cols; i++) {
      const float* xr = xrow + i * sp.col_step;
      const float* d = drow + i * k;
      VecF xv[NV];
      for (int v = 0; v < NV; v++) xv[v] = LoadV(xr + v * kLanes);
      for (int j = 0; j < JB; j++) {
        const VecF sj = Splat(d[j]);
        for (int v = 0; v < NV; v++) a[j][v] = Fma(sj, xv[v], a[j][v]);
      }
    }
    pf.Row(r);
  }
  for (int j = 0; j < JB; j++)
    for (int v = 0; v < NV; v++) StoreV(acc + j * CIp + v * kLanes, a[j][v]);
}

// dx tile: dx_pos[v] += Σ_j dy_k[pos][j] * w[j][v], the filter slice in registers throughout. Four positions at
// a time, so that 4·NV independent FMA chains hide the FMA latency (one position alone is a chain of JB FMAs).
template <int NV, int JB>
void InputTile(float* dx0, const float* dy0, int64_t k, const Span& sp, const float* w, int64_t CIp) {
  VecF wv[JB][NV];
  for (int j = 0; j < JB; j++)
    for (int v = 0; v < NV; v++) wv[j][v] = LoadV(w + j * CIp + v * kLanes);
  constexpr int U = 2;
  for (int64_t r = 0; r < sp.rows; r++) {
    float* dxrow = dx0 + r * sp.row_step;
    const float* drow = dy0 + r * sp.dy_row;
    int64_t i = 0;
    for (; i + U <= sp.cols; i += U) {
      VecF acc[U][NV];
      for (int u = 0; u < U; u++)
        for (int v = 0; v < NV; v++) acc[u][v] = LoadV(dxrow + (i + u) * sp.col_step + v * kLanes);
      for (int j = 0; j < JB; j++) {
        for (int u = 0; u < U; u++) {
          const VecF sj = Splat(drow[(i + u) * k + j]);
          for (int v = 0; v < NV; v++) acc[u][v] = Fma(sj, wv[j][v], acc[u][v]);
        }
      }
      for (int u = 0; u < U; u++)
        for (int v = 0; v < NV; v++) StoreV(dxrow + (i + u) * sp.col_step + v * kLanes, acc[u][v]);
    }
    for (; i < sp.cols; i++) {
      float* dr = dxrow + i * sp.col_step;
      const float* d = drow + i * k;
      VecF acc[NV];
      for (int v = 0; v < NV; v++) acc[v] = LoadV(dr + v * kLanes);
      for (int j = 0; j < JB; j++) {
        const VecF sj = Splat(d[j]);
        for (int v = 0; v < NV; v++) acc[v] = Fma(sj, wv[j][v], acc[v]);
      }
      for (int v = 0; v < NV; v++) StoreV(dr + v * kLanes, acc[v]);
    }
  }
}

using FilterTileFn = void (*)(const float*, const float*, int64_t, const Span&, float*, int64_t, const Prefetch&);
using InputTileFn = void (*)(float*, const float*, int64_t, const Span&, const float*, int64_t);

template <int NV>
FilterTileFn FilterTileFor(int jb) {
  static const FilterTileFn fns[kMaxJ] = {FilterTile<NV, 1>, FilterTile<NV, 2>, FilterTile<NV, 3>, FilterTile<NV, 4>,
                                          FilterTile<NV, 5>, FilterTile<NV, 6>, FilterTile<NV, 7>, FilterTile<NV, 8>};
  return fns[jb - 1];
}
template <int NV>
InputTileFn InputTileFor(int jb) {
  static const InputTileFn fns[kMaxJ] = {InputTile<NV, 1>, InputTile<NV, 2>, InputTile<NV, 3>, InputTile<NV, 4>,
                                         InputTile<NV, 5>, InputTile<NV, 6>, InputTile<NV, 7>, InputTile<NV, 8>};
  return fns[jb - 1];
}

// dW accumulation over images [b0, b1) into acc (vector layout [FH][FW][k][CIp]); x has CIp channels. One tap
// of one image at a time over every output position it reaches, so that the tile's accumulators stay in
// registers throughout (the image's rows of x and dy_k stay in L2 across its taps).
void FilterVector(const ConvShape& s, const Geometry& g, const float* x, int64_t CIp, const float* dyk, float* acc,
                  int64_t b0, int64_t b1) {
  const int64_t k = s.k, taps = s.FH * s.FW;
  // Output rows in blocks whose input rows (about 32 KB) stay in L1 across the block's taps. Each tap's
  // accumulators still take the positions in the same order (rows ascending), so the sums are the same bits.
  const int64_t rowBytes = std::max<int64_t>(1, s.W * CIp * 4), reach = (s.FH - 1) * g.dilation_h + 1;
  const int64_t fit = (int64_t{32} << 10) / rowBytes;
  const int64_t RB = std::max<int64_t>(1, std::min(s.OH, fit > reach ? (fit - reach) / g.stride_h + 1 : 1));
  const int64_t blocks = (s.OH + RB - 1) / RB;
  // The next image's x is brought into L2 while this image's taps run, a share of it per (block, tap): the taps
  // are compute-bound, and the first tap of an image would otherwise wait for memory.
  const int64_t xLines = s.H * s.W * CIp * 4 / 64, shares = blocks * taps;
  for (int64_t b = b0; b < b1; b++)
    for (int64_t blk = 0; blk < blocks; blk++) {
      const int64_t R0 = blk * RB, R1 = std::min(s.OH, R0 + RB);
      ForEachTap(s, g, b, b + 1, [&](int64_t, const Tap& t) {
        const int64_t oa = std::max(t.oh, R0), oe = std::min(t.oh + t.rows, R1);
        if (oa >= oe) return;
        const int64_t ih = t.ih + (oa - t.oh) * g.stride_h;
        const float* x0 = x + ((b * s.H + ih) * s.W + t.iw) * CIp;
        const float* d0 = dyk + ((b * s.OH + oa) * s.OW + t.ow) * k;
        float* tap = acc + (t.fh * s.FW + t.fw) * k * CIp;
        const Span sp{oe - oa, t.cols, g.stride_w * CIp, g.stride_h * s.W * CIp, s.OW * k};
        Prefetch pf, none;
        if (b + 1 < s.B) {
          // Share i takes lines [i·L/shares, (i+1)·L/shares) of image b + 1.
          const int64_t i = blk * taps + t.fh * s.FW + t.fw, a = i * xLines / shares, e = (i + 1) * xLines / shares;
          pf.p = reinterpret_cast<const char*>(x + (b + 1) * s.H * s.W * CIp) + a * 64;
          pf.lines = e - a;
          pf.per_row = (pf.lines + sp.rows - 1) / sp.rows;
        }
        for (int64_t cb = 0; cb < CIp;) {
          const int nv = CIp - cb >= 2 * kLanes ? 2 : 1;
          for (int64_t jb = 0; jb < k; jb += kMaxJ) {
            const int nj = static_cast<int>(std::min<int64_t>(kMaxJ, k - jb));
            FilterTileFn fn = nv == 2 ? FilterTileFor<2>(nj) : FilterTileFor<1>(nj);
            fn(x0 + cb, d0 + jb, k, sp, tap + jb * CIp + cb, CIp, cb == 0 && jb == 0 ? pf : none);
          }
          cb += nv * kLanes;
        }
      });
    }
}

// For J kept channels at once (independent FMA chains sharing the loads of x): acc[j] += x[i] * d_j[i]
// lane-wise for i < n (contiguous); with AVX-512 the tail is a masked load, else it is added to tail[j].
template <int J>
inline void DotsInto(const float* x, const float* const* d, int64_t off, int64_t n, VecF* acc, float* tail) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const VecF xv = LoadV(x + i);
    for (int j = 0; j < J; j++) acc[j] = Fma(xv, LoadV(d[j] + off + i), acc[j]);
  }
#if defined(__AVX512F__)
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const VecF xv = (VecF)_mm512_maskz_loadu_ps(m, x + i);
    for (int j = 0; j < J; j++) acc[j] = Fma(xv, (VecF)_mm512_maskz_loadu_ps(m, d[j] + off + i), acc[j]);
    i = n;
  }
#endif
  for (; i < n; i++)
    for (int j = 0; j < J; j++) tail[j] += x[i] * d[j][off + i];
}

// dW accumulation for few input channels, layout [FH][FW][CI][k]: x and dy_k transposed to channel planes
// ([CI][B][H][W], [k][B][OH][OW]) so that every (tap, input channel, kept channel) is a sum of dot products
// along contiguous rows (stride 1; other strides read x's row with a step), four kept channels at a time.
void FilterNarrow(const ConvShape& s, const Geometry& g, const float* xT, const float* dyT, float* acc, int64_t b0,
                  int64_t b1) {
  const int64_t k = s.k, CI = s.CI;
  const int64_t xPlane = s.B * s.H * s.W, dPlane = s.B * s.OH * s.OW;
  constexpr int J = 4;
  ForEachTap(s, g, b0, b1, [&](int64_t b, const Tap& t) {
    float* tap = acc + (t.fh * s.FW + t.fw) * CI * k;
    for (int64_t ci = 0; ci < CI; ci++) {
      const float* x0 = xT + ci * xPlane + (b * s.H + t.ih) * s.W + t.iw;
      for (int64_t j0 = 0; j0 < k; j0 += J) {
        const int nj = static_cast<int>(std::min<int64_t>(J, k - j0));
        const float* d[J];
        for (int j = 0; j < J; j++) d[j] = dyT + (j0 + std::min(j, nj - 1)) * dPlane + (b * s.OH + t.oh) * s.OW + t.ow;
        float sum[J] = {0, 0, 0, 0};
        VecF v[J] = {Splat(0.0f), Splat(0.0f), Splat(0.0f), Splat(0.0f)};
        for (int64_t r = 0; r < t.rows; r++) {
          const float* xr = x0 + r * g.stride_h * s.W;
          if (g.stride_w == 1) {
            DotsInto<J>(xr, d, r * s.OW, t.cols, v, sum);
          } else {
            for (int64_t i = 0; i < t.cols; i++)
              for (int j = 0; j < J; j++) sum[j] += xr[i * g.stride_w] * d[j][r * s.OW + i];
          }
        }
        for (int j = 0; j < nj; j++) {
          for (int l = 0; l < kLanes; l++) sum[j] += v[j][l];
          tap[ci * k + j0 + j] += sum[j];
        }
      }
    }
  });
}

// dx accumulation over images [b0, b1) into dx (CIp channels, zeroed), from w (vector layout).
void InputVector(const ConvShape& s, const Geometry& g, const float* w, int64_t CIp, const float* dyk, float* dx,
                 int64_t b0, int64_t b1) {
  const int64_t k = s.k;
  ForEachTap(s, g, b0, b1, [&](int64_t b, const Tap& t) {
    float* dx0 = dx + ((b * s.H + t.ih) * s.W + t.iw) * CIp;
    const float* d0 = dyk + ((b * s.OH + t.oh) * s.OW + t.ow) * k;
    const float* tap = w + (t.fh * s.FW + t.fw) * k * CIp;
    const Span sp{t.rows, t.cols, g.stride_w * CIp, g.stride_h * s.W * CIp, s.OW * k};
    for (int64_t cb = 0; cb < CIp;) {
      const int nv = CIp - cb >= 2 * kLanes ? 2 : 1;
      for (int64_t jb = 0; jb < k; jb += kMaxJ) {
        const int nj = static_cast<int>(std::min<int64_t>(kMaxJ, k - jb));
        InputTileFn fn = nv == 2 ? InputTileFor<2>(nj) : InputTileFor<1>(nj);
        fn(dx0 + cb, d0 + jb, k, sp, tap + jb * CIp + cb, CIp);
      }
      cb += nv * kLanes;
    }
  });
}

// dx accumulation, scalar layout (w [FH][FW][CI][k]).
void InputScalar(const ConvShape& s, const Geometry& g, const float* w, const float* dyk, float* dx, int64_t b0,
                 int64_t b1) {
  const int64_t k = s.k, CI = s.CI;
  ForEachTap(s, g, b0, b1, [&](int64_t b, const Tap& t) {
    const float* tap = w + (t.fh * s.FW + t.fw) * CI * k;
    for (int64_t r = 0; r < t.rows; r++)
      for (int64_t i = 0; i < t.cols; i++) {
        float* dr = dx + ((b * s.H + t.ih + r * g.stride_h) * s.W + t.iw + i * g.stride_w) * CI;
        const float* d = dyk + ((b * s.OH + t.oh + r) * s.OW + t.ow + i) * k;
        for (int64_t ci = 0; ci < CI; ci++) {
          const float* a = tap + ci * k;
          float acc = 0;
          for (int64_t j = 0; j < k; j++) acc += d[j] * a[j];
          dr[ci] += acc;
        }
      }
  });
}

inline bool UseVector(int64_t CI) { return 2 * CI >= kLanes; }

// ---------------------------------------------------------------------------------------------------------
// dx in gather form (stride 1): each input position's gradient is summed in registers over the taps and kept
// channels that reach it and written once: no zero fill and no read-modify-write of dx per tap. w is
// [FH][FW][k][CIp]; positions whose every tap reads inside dy_k ("interior" columns) go in blocks of P, the
// others one by one with a check per tap.

// Stores the first n (1..kLanes) lanes of v at p.
inline void StoreFirst(float* p, VecF v, int64_t n) {
  if (n >= kLanes) return StoreV(p, v);
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), (__m512)v);
#else
  float t[kLanes];
  StoreV(t, v);
  std::memcpy(p, t, sizeof(float) * n);
#endif
}

// The row of input positions being summed: dy_k's row for every filter row (null where it is outside dy_k).
struct GatherRow {
  const float* const* dy;  // [FH]: dy_k at (b, oh = ih + pad_top - fh * dilation_h, ow = 0)
  float* dx;               // dx at (b, ih, iw = 0)
  int64_t CI;
  bool stream;  // streaming stores (whole 64-byte lines: CI a multiple of 16, dx aligned)
};

// Stores n (1..kLanes) lanes of v at p, with a streaming store when `stream` (then n is kLanes).
inline void StoreOut(float* p, VecF v, int64_t n, bool stream) {
#if defined(__AVX512F__)
  if (stream) return _mm512_stream_ps(p, (__m512)v);
#else
  (void)stream;
#endif
  StoreFirst(p, v, n);
}

// P interior positions iw0..iw0+P-1, NV vectors of input channels from cb.
template <int NV, int P>
void GatherBlock(const ConvShape& s, const Geometry& g, const GatherRow& row, const float* w, int64_t CIp, int64_t cb,
                 int64_t iw0) {
  const int64_t k = s.k;
  VecF acc[P][NV];
  for (int p = 0; p < P; p++)
    for (int v = 0; v < NV; v++) acc[p][v] = Splat(0.0f);
  for (int64_t fh = 0; fh < s.FH; fh++) {
    if (row.dy[fh] == nullptr) continue;
    for (int64_t fw = 0; fw < s.FW; fw++) {
      const float* d = row.dy[fh] + (iw0 + g.pad_left - fw * g.dilation_w) * k;
      const float* wt = w + (fh * s.FW + fw) * k * CIp + cb;
      for (int64_t j = 0; j < k; j++) {
        VecF wv[NV];
        for (int v = 0; v < NV; v++) wv[v] = LoadV(wt + j * CIp + v * kLanes);
        for (int p = 0; p < P; p++) {
          const VecF sp = Splat(d[p * k + j]);
          for (int v = 0; v < NV; v++) acc[p][v] = Fma(sp, wv[v], acc[p][v]);
        }
      }
    }
  }
  for (int p = 0; p < P; p++)
    for (int v = 0; v < NV; v++)
      StoreOut(row.dx + (iw0 + p) * row.CI + cb + v * kLanes, acc[p][v], row.CI - cb - v * kLanes, row.stream);
}

// One position iw anywhere in the row (taps outside dy_k skipped).
template <int NV>
void GatherOne(const ConvShape& s, const Geometry& g, const GatherRow& row, const float* w, int64_t CIp, int64_t cb,
               int64_t iw) {
  const int64_t k = s.k;
  VecF acc[NV];
  for (int v = 0; v < NV; v++) acc[v] = Splat(0.0f);
  for (int64_t fh = 0; fh < s.FH; fh++) {
    if (row.dy[fh] == nullptr) continue;
    for (int64_t fw = 0; fw < s.FW; fw++) {
      const int64_t ow = iw + g.pad_left - fw * g.dilation_w;
      if (ow < 0 || ow >= s.OW) continue;
      const float* d = row.dy[fh] + ow * k;
      const float* wt = w + (fh * s.FW + fw) * k * CIp + cb;
      for (int64_t j = 0; j < k; j++) {
        const VecF sp = Splat(d[j]);
        for (int v = 0; v < NV; v++) acc[v] = Fma(sp, LoadV(wt + j * CIp + v * kLanes), acc[v]);
      }
    }
  }
  for (int v = 0; v < NV; v++)
    StoreOut(row.dx + iw * row.CI + cb + v * kLanes, acc[v], row.CI - cb - v * kLanes, row.stream);
}

// Blocks of positions held in registers: 12 with 32 vector registers (AVX-512), else 4.
constexpr int kGatherP = kLanes == 16 ? 12 : 4;

template <int NV>
void GatherRowSpan(const ConvShape& s, const Geometry& g, const GatherRow& row, const float* w, int64_t CIp, int64_t cb,
                   int64_t lo, int64_t hi) {
  for (int64_t iw = 0; iw < lo; iw++) GatherOne<NV>(s, g, row, w, CIp, cb, iw);
  int64_t iw = lo;
  for (; hi - iw >= kGatherP; iw += kGatherP) GatherBlock<NV, kGatherP>(s, g, row, w, CIp, cb, iw);
  if (hi - iw >= 4) {
    GatherBlock<NV, 4>(s, g, row, w, CIp, cb, iw);
    iw += 4;
  }
  if (hi - iw >= 2) {
    GatherBlock<NV, 2>(s, g, row, w, CIp, cb, iw);
    iw += 2;
  }
  for (; iw < s.W; iw++) GatherOne<NV>(s, g, row, w, CIp, cb, iw);
}

// dx rows of images [b0, b1), every position written (stride 1 only); with `stream`, by streaming stores.
void InputGather(const ConvShape& s, const Geometry& g, const float* w, int64_t CIp, const float* dyk, float* dx,
                 int64_t b0, int64_t b1, bool stream) {
  const int64_t k = s.k;
  // The columns ow = iw + pad_left - fw * dilation_w that the positions iw in [0, W) read reach padL before dy_k's
  // first and padR past its last. Each image's dy_k rows are copied between padL and padR zero columns, so that
  // every position goes through the blocks (the border positions' missing taps add zeros: the same sums, in the
  // same order, as skipping them). Interior columns (every tap inside dy_k) are [lo, hi) without the copy.
  const int64_t padL = std::max<int64_t>(0, (s.FW - 1) * g.dilation_w - g.pad_left);
  const int64_t padR = std::max<int64_t>(0, s.W - 1 + g.pad_left - (s.OW - 1));
  const bool pad = padL + padR > 0 && s.OW > 0;
  const int64_t OWp = padL + s.OW + padR;
  std::vector<float> padded(pad ? s.OH * OWp * k : 0, 0.0f);
  const int64_t lo = pad ? 0 : std::min(s.W, std::max<int64_t>(0, (s.FW - 1) * g.dilation_w - g.pad_left));
  const int64_t hi = pad ? s.W : std::max(lo, std::min(s.W, s.OW - g.pad_left));
  std::vector<const float*> dyRows(s.FH);
  for (int64_t b = b0; b < b1; b++) {
    const float* img = dyk + b * s.OH * s.OW * k;
    if (pad)
      for (int64_t oh = 0; oh < s.OH; oh++)
        std::memcpy(&padded[(oh * OWp + padL) * k], img + oh * s.OW * k, sizeof(float) * s.OW * k);
    for (int64_t ih = 0; ih < s.H; ih++) {
      for (int64_t fh = 0; fh < s.FH; fh++) {
        const int64_t oh = ih + g.pad_top - fh * g.dilation_h;
        dyRows[fh] = oh < 0 || oh >= s.OH ? nullptr : pad ? &padded[(oh * OWp + padL) * k] : img + oh * s.OW * k;
      }
      const GatherRow row{dyRows.data(), dx + (b * s.H + ih) * s.W * s.CI, s.CI, stream};
      for (int64_t cb = 0; cb < CIp;) {
        const int nv = CIp - cb >= 2 * kLanes ? 2 : 1;
        if (nv == 2) GatherRowSpan<2>(s, g, row, w, CIp, cb, lo, hi);
        else GatherRowSpan<1>(s, g, row, w, CIp, cb, lo, hi);
        cb += nv * kLanes;
      }
    }
  }
#if defined(__AVX512F__)
  if (stream) _mm_sfence();  // the streaming stores are visible before this chunk is reported done
#endif
}

// Checks that the kept channels are in [0, CO); fails the kernel otherwise.
bool CheckChannels(TF_OpKernelContext* ctx, const char* op, const int32_t* ch, int64_t k, int64_t CO) {
  for (int64_t t = 0; t < k; t++)
    if (ch[t] < 0 || ch[t] >= CO) {
      Fail(ctx, std::string(op) + ": channels[" + std::to_string(t) + "] = " + std::to_string(ch[t]) +
                    " is outside [0, " + std::to_string(CO) + ")");
      return false;
    }
  return true;
}

// dx [B, H, W, CI] of the convolution from dy_k [B, OH, OW, k] at the kept channels `ch` of filter [FH, FW, CI, CO].
void UnifiedGradInput(const ConvShape& s, const Geometry& g, const float* dyk, const int32_t* ch, const float* filter,
                      int64_t CO, float* dx, int threads) {
  const int64_t taps = s.FH * s.FW, CI = s.CI, k = s.k;
  if (!UseVector(CI)) {
    std::vector<float> w(taps * CI * k);
    for (int64_t t = 0; t < taps; t++)
      for (int64_t ci = 0; ci < CI; ci++)
        for (int64_t j = 0; j < k; j++) w[(t * CI + ci) * k + j] = filter[(t * CI + ci) * CO + ch[j]];
    std::memset(dx, 0, sizeof(float) * s.B * s.H * s.W * CI);
    ParallelFor(s.B, threads, [&](int, int64_t b0, int64_t b1) { InputScalar(s, g, w.data(), dyk, dx, b0, b1); });
    return;
  }
  const int64_t CIp = PadToLanes(CI);
  std::vector<float> w(taps * k * CIp, 0.0f);
  for (int64_t t = 0; t < taps; t++)
    for (int64_t ci = 0; ci < CI; ci++)
      for (int64_t j = 0; j < k; j++) w[(t * k + j) * CIp + ci] = filter[(t * CI + ci) * CO + ch[j]];
  if (g.stride_h == 1 && g.stride_w == 1) {
    // dx larger than a core's L2 leaves it anyway: written by streaming stores (no read of the old contents into
    // the cache first), when its rows are whole 64-byte lines.
    const bool stream = kLanes == 16 && CI % 16 == 0 && reinterpret_cast<uintptr_t>(dx) % 64 == 0 &&
                        s.B * s.H * s.W * CI * static_cast<int64_t>(sizeof(float)) > L2Bytes();
    ParallelFor(s.B, threads,
                [&](int, int64_t b0, int64_t b1) { InputGather(s, g, w.data(), CIp, dyk, dx, b0, b1, stream); });
    return;
  }
  std::vector<float> padded;
  float* out = dx;
  if (CIp != CI) {
    padded.assign(s.B * s.H * s.W * CIp, 0.0f);
    out = padded.data();
  } else {
    std::memset(dx, 0, sizeof(float) * s.B * s.H * s.W * CI);
  }
  ParallelFor(s.B, threads, [&](int, int64_t b0, int64_t b1) { InputVector(s, g, w.data(), CIp, dyk, out, b0, b1); });
  if (CIp != CI)
    for (int64_t i = 0; i < s.B * s.H * s.W; i++) std::memcpy(dx + i * CI, out + i * CIp, sizeof(float) * CI);
}

struct InputAttrs {
  Geometry g;
  int64_t input_h = 1, input_w = 1;
};

void* InputCreate(TF_OpKernelConstruction* c) {
  auto* a = new InputAttrs;
  if (ReadGeometry(c, &a->g)) {
    if (IntAttr(c, "input_h", 1, &a->input_h)) IntAttr(c, "input_w", 1, &a->input_w);
  }
  return a;
}
void InputDelete(void* p) { delete static_cast<InputAttrs*>(p); }

void InputCompute(void* p, TF_OpKernelContext* ctx) {
  const InputAttrs& a = *static_cast<InputAttrs*>(p);
  const char* op = "MePropConvUnifiedGradInput";
  Tensors io(ctx);
  TF_Tensor* dyk_t = io.Input(0, TF_FLOAT, "dy_k");
  if (!dyk_t) return;
  TF_Tensor* ch_t = io.Input(1, TF_INT32, "channels");
  if (!ch_t) return;
  TF_Tensor* f_t = io.Input(2, TF_FLOAT, "filter");
  if (!f_t) return;
  const std::vector<int64_t> dd = Dims(dyk_t), cd = Dims(ch_t), fd = Dims(f_t);
  if (dd.size() != 4 || fd.size() != 4 || cd.size() != 1 || cd[0] != dd[3])
    return Fail(ctx, std::string(op) + ": expected dy_k [B, OH, OW, k], channels [k], filter [FH, FW, CI, CO]; got " +
                         ShapeText(dd) + ", " + ShapeText(cd) + ", " + ShapeText(fd));
  const ConvShape s{dd[0], a.input_h, a.input_w, fd[2], dd[1], dd[2], fd[0], fd[1], dd[3]};
  const int64_t CO = fd[3];
  const int32_t* ch = static_cast<const int32_t*>(TF_TensorData(ch_t));
  if (!CheckChannels(ctx, op, ch, s.k, CO)) return;
  TF_Tensor* dx_t = io.Output(0, TF_FLOAT, {s.B, s.H, s.W, s.CI});
  if (!dx_t) return;
  UnifiedGradInput(s, a.g, static_cast<const float*>(TF_TensorData(dyk_t)), ch,
                   static_cast<const float*>(TF_TensorData(f_t)), CO, static_cast<float*>(TF_TensorData(dx_t)),
                   ThreadsFor(s.B * s.OH * s.OW * s.FH * s.FW * s.CI * s.k));
}

// Groups of images whose dW is summed apart (on any thread) and then added in order.
constexpr int64_t kFilterGroups = 8;

// dW [FH, FW, CI, CO] (zero outside the kept channels `ch`) from x [B, H, W, CI] and dy_k [B, OH, OW, k].
void UnifiedGradFilter(const ConvShape& s, const Geometry& g, const float* x, const float* dyk, const int32_t* ch,
                       int64_t CO, float* dw, int threads) {
  const int64_t CI = s.CI, k = s.k, taps = s.FH * s.FW;
  std::memset(dw, 0, sizeof(float) * taps * CI * CO);
  const bool vec = UseVector(CI);
  const int64_t CIp = vec ? PadToLanes(CI) : CI;
  const int64_t accSize = taps * k * CIp;
  // The images in a fixed number of groups, each summed into its own accumulators and the groups added in
  // order: the same bits whatever the number of threads (and whichever thread takes which group).
  const int64_t groups = std::min<int64_t>(s.B, kFilterGroups), per = groups == 0 ? 1 : (s.B + groups - 1) / groups;
  std::vector<float> acc(accSize * std::max<int64_t>(1, (s.B + per - 1) / per), 0.0f);
  std::vector<float> padded;
  const float* xin = x;
  if (vec && CIp != CI) {
    padded.assign(s.B * s.H * s.W * CIp, 0.0f);
    for (int64_t i = 0; i < s.B * s.H * s.W; i++) std::memcpy(&padded[i * CIp], x + i * CI, sizeof(float) * CI);
    xin = padded.data();
  }
  std::vector<float> xT, dyT;
  if (!vec) {
    // Channel planes for FilterNarrow (x needs no copy with one channel).
    const int64_t xPlane = s.B * s.H * s.W, dPlane = s.B * s.OH * s.OW;
    if (CI > 1) {
      xT.resize(CI * xPlane);
      for (int64_t i = 0; i < xPlane; i++)
        for (int64_t ci = 0; ci < CI; ci++) xT[ci * xPlane + i] = x[i * CI + ci];
    }
    dyT.resize(k * dPlane);
    for (int64_t i = 0; i < dPlane; i++)
      for (int64_t j = 0; j < k; j++) dyT[j * dPlane + i] = dyk[i * k + j];
  }
  const float* xPlanes = CI > 1 ? xT.data() : x;
  ParallelFor(
      s.B, threads,
      [&](int, int64_t b0, int64_t b1) {
        float* mine = acc.data() + (b0 / per) * accSize;
        if (vec) FilterVector(s, g, xin, CIp, dyk, mine, b0, b1);
        else FilterNarrow(s, g, xPlanes, dyT.data(), mine, b0, b1);
      },
      per);
  for (int64_t q = 1; q * per < s.B; q++)
    for (int64_t i = 0; i < accSize; i++) acc[i] += acc[q * accSize + i];
  for (int64_t tap = 0; tap < taps; tap++)
    for (int64_t ci = 0; ci < CI; ci++)
      for (int64_t j = 0; j < k; j++)
        dw[(tap * CI + ci) * CO + ch[j]] = vec ? acc[(tap * k + j) * CIp + ci] : acc[(tap * CI + ci) * k + j];
}

struct FilterAttrs {
  Geometry g;
  int64_t filter_h = 1, filter_w = 1, out_channels = 1;
};

void* FilterCreate(TF_OpKernelConstruction* c) {
  auto* a = new FilterAttrs;
  if (ReadGeometry(c, &a->g) && IntAttr(c, "filter_h", 1, &a->filter_h) && IntAttr(c, "filter_w", 1, &a->filter_w))
    IntAttr(c, "out_channels", 1, &a->out_channels);
  return a;
}
void FilterDelete(void* p) { delete static_cast<FilterAttrs*>(p); }

void FilterCompute(void* p, TF_OpKernelContext* ctx) {
  const FilterAttrs& a = *static_cast<FilterAttrs*>(p);
  const char* op = "MePropConvUnifiedGradFilter";
  Tensors io(ctx);
  TF_Tensor* x_t = io.Input(0, TF_FLOAT, "x");
  if (!x_t) return;
  TF_Tensor* dyk_t = io.Input(1, TF_FLOAT, "dy_k");
  if (!dyk_t) return;
  TF_Tensor* ch_t = io.Input(2, TF_INT32, "channels");
  if (!ch_t) return;
  const std::vector<int64_t> xd = Dims(x_t), dd = Dims(dyk_t), cd = Dims(ch_t);
  if (xd.size() != 4 || dd.size() != 4 || cd.size() != 1 || cd[0] != dd[3] || xd[0] != dd[0])
    return Fail(ctx, std::string(op) + ": expected x [B, H, W, CI], dy_k [B, OH, OW, k], channels [k]; got " +
                         ShapeText(xd) + ", " + ShapeText(dd) + ", " + ShapeText(cd));
  const ConvShape s{xd[0], xd[1], xd[2], xd[3], dd[1], dd[2], a.filter_h, a.filter_w, dd[3]};
  const int64_t CO = a.out_channels;
  const int32_t* ch = static_cast<const int32_t*>(TF_TensorData(ch_t));
  if (!CheckChannels(ctx, op, ch, s.k, CO)) return;
  TF_Tensor* dw_t = io.Output(0, TF_FLOAT, {s.FH, s.FW, s.CI, CO});
  if (!dw_t) return;
  UnifiedGradFilter(s, a.g, static_cast<const float*>(TF_TensorData(x_t)), static_cast<const float*>(TF_TensorData(dyk_t)),
                    ch, CO, static_cast<float*>(TF_TensorData(dw_t)),
                    ThreadsFor(s.B * s.OH * s.OW * s.FH * s.FW * s.CI * s.k));
}

// ---------------------------------------------------------------------------------------------------------
// The whole unified backward in one op: selection, dx, dW and the bias sum, with dy_k in a buffer of the op's
// own (no tensor, no further op calls). The same functions as the three ops above, so the same bits.

// MEPROP_CONV_PROFILE=1 (a debugging aid, off by default): the wall time, the process's CPU time (every thread)
// and the calling thread's CPU time of each phase of MePropConvUnifiedBackward, averaged over every 200 calls and
// printed to stderr: whether the phases keep both threads busy.
class PhaseProfile {
 public:
  static bool On() {
    static const bool on = [] {
      const char* e = std::getenv("MEPROP_CONV_PROFILE");
      return e != nullptr && *e != '\0' && std::string(e) != "0";
    }();
    return on;
  }
  void Start() { last_ = Now(); }
  void Mark(int phase) {
    const Stamp t = Now();
    for (int i = 0; i < 3; i++) sums_[phase][i] += t.v[i] - last_.v[i];
    last_ = t;
  }
  void End() {
    if (++calls_ < 200) return;
    static const char* names[kPhases] = {"select", "dx", "dW"};
    std::string line =
        "MePropConvUnifiedBackward, mean of " + std::to_string(calls_) + " calls (ms: wall / process CPU / caller CPU):";
    for (int p = 0; p < kPhases; p++) {
      char buf[96];
      snprintf(buf, sizeof buf, " %s %.3f / %.3f / %.3f;", names[p], sums_[p][0] / calls_, sums_[p][1] / calls_,
               sums_[p][2] / calls_);
      line += buf;
    }
    fprintf(stderr, "%s\n", line.c_str());
    calls_ = 0;
    for (auto& ph : sums_)
      for (double& v : ph) v = 0;
  }

 private:
  static constexpr int kPhases = 3;
  struct Stamp {
    double v[3];
  };
  static double Ms(clockid_t c) {
    timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
  }
  static Stamp Now() { return {{Ms(CLOCK_MONOTONIC), Ms(CLOCK_PROCESS_CPUTIME_ID), Ms(CLOCK_THREAD_CPUTIME_ID)}}; }
  Stamp last_{};
  double sums_[kPhases][3] = {};
  int calls_ = 0;
};
PhaseProfile phaseProfile;

struct BackwardAttrs {
  Geometry g;
  int64_t k = 1;
  bool relu = false, with_dx = true, with_dw = true;
};

void* BackwardCreate(TF_OpKernelConstruction* c) {
  auto* a = new BackwardAttrs;
  if (ReadGeometry(c, &a->g) && IntAttr(c, "k", 1, &a->k) && BoolAttr(c, "relu", &a->relu) &&
      BoolAttr(c, "with_dx", &a->with_dx))
    BoolAttr(c, "with_dw", &a->with_dw);
  return a;
}
void BackwardDelete(void* p) { delete static_cast<BackwardAttrs*>(p); }

void BackwardCompute(void* p, TF_OpKernelContext* ctx) {
  const BackwardAttrs& a = *static_cast<BackwardAttrs*>(p);
  const char* op = "MePropConvUnifiedBackward";
  Tensors io(ctx);
  TF_Tensor* dy_t = io.Input(0, TF_FLOAT, "dy");
  if (!dy_t) return;
  TF_Tensor* y_t = io.Input(1, TF_FLOAT, "y");
  if (!y_t) return;
  TF_Tensor* x_t = io.Input(2, TF_FLOAT, "x");
  if (!x_t) return;
  TF_Tensor* f_t = io.Input(3, TF_FLOAT, "filter");
  if (!f_t) return;
  const std::vector<int64_t> dd = Dims(dy_t), xd = Dims(x_t), fd = Dims(f_t);
  if (dd.size() != 4 || xd.size() != 4 || fd.size() != 4 || xd[0] != dd[0] || fd[2] != xd[3] || fd[3] != dd[3])
    return Fail(ctx, std::string(op) + ": expected dy [B, OH, OW, CO], x [B, H, W, CI], filter [FH, FW, CI, CO]; got " +
                         ShapeText(dd) + ", " + ShapeText(xd) + ", " + ShapeText(fd));
  const int64_t CO = dd[3];
  if (a.k > CO)
    return Fail(ctx, std::string(op) + ": k (" + std::to_string(a.k) + ") exceeds dy's " + std::to_string(CO) +
                         " channels (shape " + ShapeText(dd) + ")");
  if (a.relu && Dims(y_t) != dd)
    return Fail(ctx, std::string(op) + ": y's shape " + ShapeText(Dims(y_t)) + " must equal dy's " + ShapeText(dd));
  const ConvShape s{xd[0], xd[1], xd[2], xd[3], dd[1], dd[2], fd[0], fd[1], a.k};
  TF_Tensor* dx_t = io.Output(0, TF_FLOAT, a.with_dx ? xd : std::vector<int64_t>{0});
  if (!dx_t) return;
  TF_Tensor* dw_t = io.Output(1, TF_FLOAT, a.with_dw ? fd : std::vector<int64_t>{0});
  if (!dw_t) return;
  TF_Tensor* sum_t = io.Output(2, TF_FLOAT, {CO});
  if (!sum_t) return;
  const int64_t P = s.B * s.OH * s.OW;
  std::vector<int32_t> ch(s.k);
  const bool profile = PhaseProfile::On();
  if (profile) phaseProfile.Start();
  std::vector<float> dyk(P * s.k);
  SelectChannels(static_cast<const float*>(TF_TensorData(dy_t)), static_cast<const float*>(TF_TensorData(y_t)), a.relu,
                 P, CO, s.k, ch.data(), dyk.data(), static_cast<float*>(TF_TensorData(sum_t)),
                 ThreadsFor(P * CO, kElementsPerThread));
  if (profile) phaseProfile.Mark(0);
  const int threads = ThreadsFor(P * s.FH * s.FW * s.CI * s.k);
  if (a.with_dx)
    UnifiedGradInput(s, a.g, dyk.data(), ch.data(), static_cast<const float*>(TF_TensorData(f_t)), CO,
                     static_cast<float*>(TF_TensorData(dx_t)), threads);
  if (profile) phaseProfile.Mark(1);
  if (a.with_dw)
    UnifiedGradFilter(s, a.g, static_cast<const float*>(TF_TensorData(x_t)), dyk.data(), ch.data(), CO,
                      static_cast<float*>(TF_TensorData(dw_t)), threads);
  if (profile) {
    phaseProfile.Mark(2);
    phaseProfile.End();
  }
}

void RegisterConvUnified(std::vector<std::string>& names, TF_Status* status) {
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvSelect");
    TF_OpDefinitionBuilderAddInput(op, "dy: float");
    TF_OpDefinitionBuilderAddInput(op, "y: float");
    TF_OpDefinitionBuilderAddOutput(op, "channels: int32");
    TF_OpDefinitionBuilderAddOutput(op, "dy_k: float");
    TF_OpDefinitionBuilderAddOutput(op, "sum: float");
    TF_OpDefinitionBuilderAddAttr(op, "k: int >= 1");
    TF_OpDefinitionBuilderAddAttr(op, "relu: bool = false");
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvSelect", SelectCompute, KReluCreate<true>, KReluDelete, status)) return;
    names.push_back("MePropConvSelect");
  }
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvUnifiedGradInput");
    TF_OpDefinitionBuilderAddInput(op, "dy_k: float");
    TF_OpDefinitionBuilderAddInput(op, "channels: int32");
    TF_OpDefinitionBuilderAddInput(op, "filter: float");
    TF_OpDefinitionBuilderAddOutput(op, "dx: float");
    TF_OpDefinitionBuilderAddAttr(op, "input_h: int");
    TF_OpDefinitionBuilderAddAttr(op, "input_w: int");
    AddGeometryAttrs(op);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvUnifiedGradInput", InputCompute, InputCreate, InputDelete, status)) return;
    names.push_back("MePropConvUnifiedGradInput");
  }
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvUnifiedGradFilter");
    TF_OpDefinitionBuilderAddInput(op, "x: float");
    TF_OpDefinitionBuilderAddInput(op, "dy_k: float");
    TF_OpDefinitionBuilderAddInput(op, "channels: int32");
    TF_OpDefinitionBuilderAddOutput(op, "dw: float");
    TF_OpDefinitionBuilderAddAttr(op, "filter_h: int");
    TF_OpDefinitionBuilderAddAttr(op, "filter_w: int");
    TF_OpDefinitionBuilderAddAttr(op, "out_channels: int");
    AddGeometryAttrs(op);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvUnifiedGradFilter", FilterCompute, FilterCreate, FilterDelete, status))
      return;
    names.push_back("MePropConvUnifiedGradFilter");
  }
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvUnifiedBackward");
    TF_OpDefinitionBuilderAddInput(op, "dy: float");
    TF_OpDefinitionBuilderAddInput(op, "y: float");
    TF_OpDefinitionBuilderAddInput(op, "x: float");
    TF_OpDefinitionBuilderAddInput(op, "filter: float");
    TF_OpDefinitionBuilderAddOutput(op, "dx: float");
    TF_OpDefinitionBuilderAddOutput(op, "dw: float");
    TF_OpDefinitionBuilderAddOutput(op, "sum: float");
    TF_OpDefinitionBuilderAddAttr(op, "k: int >= 1");
    TF_OpDefinitionBuilderAddAttr(op, "relu: bool = false");
    TF_OpDefinitionBuilderAddAttr(op, "with_dx: bool = true");
    TF_OpDefinitionBuilderAddAttr(op, "with_dw: bool = true");
    AddGeometryAttrs(op);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvUnifiedBackward", BackwardCompute, BackwardCreate, BackwardDelete, status))
      return;
    names.push_back("MePropConvUnifiedBackward");
  }
}

}  // namespace
MEPROP_REGISTER_OPS(RegisterConvUnified);
}  // namespace conv
}  // namespace meprop
