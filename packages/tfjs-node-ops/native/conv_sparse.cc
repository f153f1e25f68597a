// meProp's per-position convolution backward (k kept output channels at every example and position, the
// paper's mode, and random-k) as native ops, NHWC float32: the selection (MePropConvSelectPositions, below)
// and the two products from the kept entries of dy:
//
//   MePropConvSparseGradInput(indices [P, k] int32, values [P, k], filter [FH, FW, CI, CO]; input_h, input_w,
//     output_h, output_w, geometry) -> dx [B, H, W, CI] with P = B * OH * OW
//   MePropConvSparseGradFilter(indices, values, x [B, H, W, CI]; filter_h, filter_w, out_channels, output_h,
//     output_w, geometry) -> dW [FH, FW, CI, CO]
//
// dx: for every position and filter tap, the input row gathers its k kept filter columns (the filter is
// transposed once to [tap][CO][CI] so that a column is contiguous), four positions at a time. dW: positions in
// images, each image's entries bucketed by channel, every (channel, tap) summed in registers (dW as [CO][tap][CI]).
#include <algorithm>
#include <string>

#include "conv_common.h"

namespace meprop {
namespace conv {
namespace {

// A zero-filled float buffer whose data starts on a 64-byte boundary, so that whole-vector loads from it never
// straddle two cache lines (std::vector's heap blocks are 16-byte aligned: the filter columns of dx, read once per
// kept entry and tap, then cost two lines each; aligning them measured about 20 % off dx).
class AlignedFloats {
 public:
  explicit AlignedFloats(size_t n) : store_(n + 64 / sizeof(float), 0.0f) {}
  float* data() {
    return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(store_.data()) + 63) & ~uintptr_t{63});
  }

 private:
  std::vector<float> store_;
};

struct SparseAttrs {
  Geometry g;
  int64_t input_h = 1, input_w = 1, output_h = 1, output_w = 1;
  int64_t filter_h = 1, filter_w = 1, out_channels = 1;
};

void* InputCreate(TF_OpKernelConstruction* c) {
  auto* a = new SparseAttrs;
  if (ReadGeometry(c, &a->g) && IntAttr(c, "input_h", 1, &a->input_h) && IntAttr(c, "input_w", 1, &a->input_w) &&
      IntAttr(c, "output_h", 1, &a->output_h))
    IntAttr(c, "output_w", 1, &a->output_w);
  return a;
}
void* FilterCreate(TF_OpKernelConstruction* c) {
  auto* a = new SparseAttrs;
  if (ReadGeometry(c, &a->g) && IntAttr(c, "filter_h", 1, &a->filter_h) && IntAttr(c, "filter_w", 1, &a->filter_w) &&
      IntAttr(c, "out_channels", 1, &a->out_channels) && IntAttr(c, "output_h", 1, &a->output_h))
    IntAttr(c, "output_w", 1, &a->output_w);
  return a;
}
void AttrsDelete(void* p) { delete static_cast<SparseAttrs*>(p); }

// Checks indices/values ([P, k], P a whole number of output images, every index in [0, CO)); fails otherwise.
bool CheckEntries(TF_OpKernelContext* ctx, const char* op, TF_Tensor* idx_t, TF_Tensor* val_t, int64_t OH,
                  int64_t OW, int64_t CO, int64_t* B, int64_t* k) {
  const std::vector<int64_t> id = Dims(idx_t), vd = Dims(val_t);
  if (id.size() != 2 || id != vd || id[0] % (OH * OW) != 0) {
    Fail(ctx, std::string(op) + ": indices and values must both be [B * " + std::to_string(OH) + " * " +
                  std::to_string(OW) + ", k], got " + ShapeText(id) + " and " + ShapeText(vd));
    return false;
  }
  *B = id[0] / (OH * OW);
  *k = id[1];
  const int32_t* idx = static_cast<const int32_t*>(TF_TensorData(idx_t));
  for (int64_t i = 0; i < id[0] * id[1]; i++)
    if (idx[i] < 0 || idx[i] >= CO) {
      Fail(ctx, std::string(op) + ": indices[" + std::to_string(i / id[1]) + ", " + std::to_string(i % id[1]) +
                    "] = " + std::to_string(idx[i]) + " is outside [0, " + std::to_string(CO) + ")");
      return false;
    }
  return true;
}

// dx for one tap over `cols` positions of one output row: dx_pos[v] += Σ_t val[pos][t] * wt[idx[pos][t]][v].
template <int NV>
void SparseInputRow(float* dx0, int64_t dx_step, const int32_t* idx0, const float* val0, int64_t k, int64_t cols,
                    const float* wt, int64_t CIp) {
  constexpr int U = 4;
  int64_t i = 0;
  for (; i + U <= cols; i += U) {
    VecF acc[U][NV];
    for (int u = 0; u < U; u++)
      for (int v = 0; v < NV; v++) acc[u][v] = LoadV(dx0 + (i + u) * dx_step + v * kLanes);
    for (int64_t t = 0; t < k; t++)
      for (int u = 0; u < U; u++) {
        const int64_t e = (i + u) * k + t;
        const VecF s = Splat(val0[e]);
        const float* w = wt + idx0[e] * CIp;
        for (int v = 0; v < NV; v++) acc[u][v] = Fma(s, LoadV(w + v * kLanes), acc[u][v]);
      }
    for (int u = 0; u < U; u++)
      for (int v = 0; v < NV; v++) StoreV(dx0 + (i + u) * dx_step + v * kLanes, acc[u][v]);
  }
  for (; i < cols; i++) {
    VecF acc[NV];
    for (int v = 0; v < NV; v++) acc[v] = LoadV(dx0 + i * dx_step + v * kLanes);
    for (int64_t t = 0; t < k; t++) {
      const VecF s = Splat(val0[i * k + t]);
      const float* w = wt + idx0[i * k + t] * CIp;
      for (int v = 0; v < NV; v++) acc[v] = Fma(s, LoadV(w + v * kLanes), acc[v]);
    }
    for (int v = 0; v < NV; v++) StoreV(dx0 + i * dx_step + v * kLanes, acc[v]);
  }
}

// dx [B, H, W, CI] from the kept entries (idx/val [B * OH * OW, k]) and filter [FH, FW, CI, CO]: per position
// and tap, the input row gathers its k kept filter columns (the filter transposed once to [tap][CO][CIp], so that
// a column is contiguous), four positions at a time.
void SparseGradInput(const ConvShape& s, const Geometry& g, int64_t CO, const int32_t* idx, const float* val,
                     const float* filter, float* dx, int threads) {
  const int64_t B = s.B, H = s.H, W = s.W, CI = s.CI, OH = s.OH, OW = s.OW, FH = s.FH, FW = s.FW, k = s.k;
  const int64_t taps = FH * FW;
  const bool vec = 2 * CI >= kLanes;
  const int64_t CIp = vec ? PadToLanes(CI) : CI;
  // The filter transposed to [tap][CO][CIp]: the input-channel vector of one output channel is contiguous.
  AlignedFloats wtBuf(taps * CO * CIp);
  float* wt = wtBuf.data();
  for (int64_t t = 0; t < taps; t++)
    for (int64_t ci = 0; ci < CI; ci++)
      for (int64_t c = 0; c < CO; c++) wt[(t * CO + c) * CIp + ci] = filter[(t * CI + ci) * CO + c];
  AlignedFloats padded(CIp != CI ? B * H * W * CIp : 0);
  float* out = dx;
  if (CIp != CI) {
    out = padded.data();
  } else {
    std::memset(dx, 0, sizeof(float) * B * H * W * CI);
  }
  ParallelFor(B, threads, [&](int, int64_t b0, int64_t b1) {
    ForEachTap(s, g, b0, b1, [&](int64_t b, const Tap& t) {
      const float* w = wt + (t.fh * FW + t.fw) * CO * CIp;
      for (int64_t r = 0; r < t.rows; r++) {
        const int64_t pos = (b * OH + t.oh + r) * OW + t.ow;
        float* dx0 = out + ((b * H + t.ih + r * g.stride_h) * W + t.iw) * CIp;
        if (vec) {
          for (int64_t cb = 0; cb < CIp;) {
            const int nv = CIp - cb >= 2 * kLanes ? 2 : 1;
            if (nv == 2) SparseInputRow<2>(dx0 + cb, g.stride_w * CIp, idx + pos * k, val + pos * k, k, t.cols, w + cb, CIp);
            else SparseInputRow<1>(dx0 + cb, g.stride_w * CIp, idx + pos * k, val + pos * k, k, t.cols, w + cb, CIp);
            cb += nv * kLanes;
          }
        } else {
          for (int64_t i = 0; i < t.cols; i++) {
            float* d = dx0 + i * g.stride_w * CI;
            for (int64_t e = (pos + i) * k; e < (pos + i + 1) * k; e++) {
              const float* wc = w + idx[e] * CI;
              for (int64_t ci = 0; ci < CI; ci++) d[ci] += val[e] * wc[ci];
            }
          }
        }
      }
    });
  });
  if (CIp != CI)
    for (int64_t i = 0; i < B * H * W; i++) std::memcpy(dx + i * CI, out + i * CIp, sizeof(float) * CI);
}

void InputCompute(void* p, TF_OpKernelContext* ctx) {
  const SparseAttrs& a = *static_cast<SparseAttrs*>(p);
  const char* op = "MePropConvSparseGradInput";
  Tensors io(ctx);
  TF_Tensor* idx_t = io.Input(0, TF_INT32, "indices");
  if (!idx_t) return;
  TF_Tensor* val_t = io.Input(1, TF_FLOAT, "values");
  if (!val_t) return;
  TF_Tensor* f_t = io.Input(2, TF_FLOAT, "filter");
  if (!f_t) return;
  const std::vector<int64_t> fd = Dims(f_t);
  if (fd.size() != 4) return Fail(ctx, std::string(op) + ": filter must be [FH, FW, CI, CO], got " + ShapeText(fd));
  const int64_t FH = fd[0], FW = fd[1], CI = fd[2], CO = fd[3], OH = a.output_h, OW = a.output_w;
  const int64_t H = a.input_h, W = a.input_w;
  int64_t B, k;
  if (!CheckEntries(ctx, op, idx_t, val_t, OH, OW, CO, &B, &k)) return;
  TF_Tensor* dx_t = io.Output(0, TF_FLOAT, {B, H, W, CI});
  if (!dx_t) return;
  const ConvShape s{B, H, W, CI, OH, OW, FH, FW, k};
  SparseGradInput(s, a.g, CO, static_cast<const int32_t*>(TF_TensorData(idx_t)),
                  static_cast<const float*>(TF_TensorData(val_t)), static_cast<const float*>(TF_TensorData(f_t)),
                  static_cast<float*>(TF_TensorData(dx_t)), ThreadsFor(B * OH * OW * k * FH * FW * CI));
}

// One kept entry of an image, bucketed by channel: the input row/column its tap (0, 0) reads, and its value.
struct Entry {
  int32_t ih0, iw0;
  float value;
};

// out[v] += Σ_entries value · x[ih0 + dh_off, iw0 + dw_off, cb + v·lanes] over the entries whose tap reads inside
// the image (`xb`: the image's x), four entries at a time into independent accumulators.
template <int NV>
void SparseFilterTap(const Entry* es, int64_t n, const float* xb, int64_t H, int64_t W, int64_t CIp, int64_t dh_off,
                     int64_t dw_off, float* out) {
  constexpr int U = 4;
  VecF acc[U][NV];
  for (int u = 0; u < U; u++)
    for (int q = 0; q < NV; q++) acc[u][q] = Splat(0.0f);
  auto add = [&](const Entry& en, int u) {
    const int64_t ih = en.ih0 + dh_off, iw = en.iw0 + dw_off;
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return;
    const float* xr = xb + (ih * W + iw) * CIp;
    const VecF v = Splat(en.value);
    for (int q = 0; q < NV; q++) acc[u][q] = Fma(v, LoadV(xr + q * kLanes), acc[u][q]);
  };
  int64_t e = 0;
  for (; e + U <= n; e += U)
    for (int u = 0; u < U; u++) add(es[e + u], u);
  for (; e < n; e++) add(es[e], 0);
  for (int q = 0; q < NV; q++)
    StoreV(out + q * kLanes, LoadV(out + q * kLanes) + ((acc[0][q] + acc[1][q]) + (acc[2][q] + acc[3][q])));
}

// All NT = FH·FW taps of a square filter (1×1, 2×2, 3×3) at once: out[tap][v] += Σ_entries value · x-row at
// the tap. Entries whose every tap reads inside the image go through a loop whose NT·NV accumulators stay in
// registers (tap offsets are compile-time multiples of the row and column steps); the others (at the image's
// border) are added tap by tap with bounds checks, straight into out.
template <int NV, int NT>
void SparseFilterAllTaps(const Entry* es, int64_t n, const float* xb, const ConvShape& s, const Geometry& g,
                         int64_t CIp, float* out) {
  constexpr int F = NT == 9 ? 3 : NT == 4 ? 2 : 1;
  const int64_t spanH = (F - 1) * g.dilation_h, spanW = (F - 1) * g.dilation_w;
  const int64_t rowStep = g.dilation_h * s.W * CIp, colStep = g.dilation_w * CIp;
  VecF acc[NT][NV];
  for (int t = 0; t < NT; t++)
    for (int q = 0; q < NV; q++) acc[t][q] = Splat(0.0f);
  int64_t border = 0;
  for (int64_t e = 0; e < n; e++) {
    const Entry en = es[e];
    if (en.ih0 < 0 || en.iw0 < 0 || en.ih0 + spanH >= s.H || en.iw0 + spanW >= s.W) {
      border++;
      continue;
    }
    const VecF v = Splat(en.value);
    const float* x0 = xb + (en.ih0 * s.W + en.iw0) * CIp;
    for (int fh = 0; fh < F; fh++)
      for (int fw = 0; fw < F; fw++)
        for (int q = 0; q < NV; q++)
          acc[fh * F + fw][q] = Fma(v, LoadV(x0 + fh * rowStep + fw * colStep + q * kLanes), acc[fh * F + fw][q]);
  }
  for (int t = 0; t < NT; t++)
    for (int q = 0; q < NV; q++) StoreV(out + t * CIp + q * kLanes, LoadV(out + t * CIp + q * kLanes) + acc[t][q]);
  if (border == 0) return;
  for (int64_t e = 0; e < n; e++) {
    const Entry en = es[e];
    if (!(en.ih0 < 0 || en.iw0 < 0 || en.ih0 + spanH >= s.H || en.iw0 + spanW >= s.W)) continue;
    const VecF v = Splat(en.value);
    for (int t = 0; t < NT; t++) {
      const int64_t ih = en.ih0 + (t / F) * g.dilation_h, iw = en.iw0 + (t % F) * g.dilation_w;
      if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
      const float* xr = xb + (ih * s.W + iw) * CIp;
      for (int q = 0; q < NV; q++)
        StoreV(out + t * CIp + q * kLanes, Fma(v, LoadV(xr + q * kLanes), LoadV(out + t * CIp + q * kLanes)));
    }
  }
}

// Output rows per block of SparseGradFilter: the entries of a block are bucketed by channel and each channel's
// dW slice is updated once per block, so that the input rows the block reads stay in L1 (about 32 KB of them)
// while every channel's entries are summed.
inline int64_t FilterRowBlock(const ConvShape& s, const Geometry& g) {
  const int64_t rowBytes = s.W * PadToLanes(s.CI) * static_cast<int64_t>(sizeof(float));
  const int64_t rows = (int64_t{32} << 10) / std::max<int64_t>(1, rowBytes);
  return std::max<int64_t>(1, (rows - (s.FH - 1) * g.dilation_h) / g.stride_h);
}

// dW [FH, FW, CI, CO] from the kept entries (idx/val [B * OH * OW, k]) and x [B, H, W, CI]. Per image and block
// of `rowBlock` output rows: the block's entries bucketed by channel (a counting sort, positions stay
// ascending), then for every channel and tap the sum over its entries in registers, added once into dWT
// [CO][tap][CIp]. Images in a fixed number of groups, one dWT each (whichever thread runs it), added in order:
// the same bits whatever the number of threads.
void SparseGradFilter(const ConvShape& s, const Geometry& g, int64_t CO, const int32_t* idx, const float* val,
                      const float* x, float* dw, int threads, int64_t rowBlock) {
  const int64_t B = s.B, H = s.H, W = s.W, CI = s.CI, OH = s.OH, OW = s.OW, FH = s.FH, FW = s.FW, k = s.k;
  const int64_t taps = FH * FW;
  const int64_t CIp = PadToLanes(CI);
  AlignedFloats padded(CIp != CI ? B * H * W * CIp : 0);
  const float* xin = x;
  if (CIp != CI) {
    for (int64_t i = 0; i < B * H * W; i++) std::memcpy(padded.data() + i * CIp, x + i * CI, sizeof(float) * CI);
    xin = padded.data();
  }
  rowBlock = std::max<int64_t>(1, std::min(rowBlock, OH));
  const int64_t groups = std::min<int64_t>(B, 4), group = groups == 0 ? 1 : (B + groups - 1) / groups;
  const int64_t slice = CO * taps * CIp, per = OH * OW * k;
  AlignedFloats dwtBuf(slice * std::max<int64_t>(1, (B + group - 1) / group));
  float* dwt = dwtBuf.data();
  ParallelFor(B, threads, [&](int, int64_t b0, int64_t b1) {
    float* mine = dwt + (b0 / group) * slice;
    std::vector<int64_t> start(CO + 1), fill(CO);
    std::vector<Entry> es(rowBlock * OW * k);
    for (int64_t b = b0; b < b1; b++) {
      const float* xb = xin + b * H * W * CIp;
      for (int64_t oh0 = 0; oh0 < OH; oh0 += rowBlock) {
        const int64_t oh1 = std::min(OH, oh0 + rowBlock);
        const int64_t e0 = b * per + oh0 * OW * k, n_e = (oh1 - oh0) * OW * k;
        const int32_t* bi = idx + e0;
        const float* bv = val + e0;
        std::fill(start.begin(), start.end(), 0);
        for (int64_t i = 0; i < n_e; i++) start[bi[i] + 1]++;
        for (int64_t c = 0; c < CO; c++) start[c + 1] += start[c];
        std::copy(start.begin(), start.end() - 1, fill.begin());
        for (int64_t oh = oh0, i = 0; oh < oh1; oh++) {
          const int32_t ih0 = static_cast<int32_t>(oh * g.stride_h - g.pad_top);
          for (int64_t ow = 0; ow < OW; ow++) {
            const int32_t iw0 = static_cast<int32_t>(ow * g.stride_w - g.pad_left);
            for (int64_t t = 0; t < k; t++, i++) es[fill[bi[i]]++] = Entry{ih0, iw0, bv[i]};
          }
        }
        for (int64_t c = 0; c < CO; c++) {
          const int64_t n = start[c + 1] - start[c];
          if (n == 0) continue;
          const Entry* ec = es.data() + start[c];
          if ((taps == 9 || taps == 4 || taps == 1) && FH == FW) {
            float* o = mine + c * taps * CIp;
            for (int64_t cb = 0; cb < CIp;) {
              const int nv = CIp - cb >= 2 * kLanes ? 2 : 1;
              if (taps == 9) {
                if (nv == 2) SparseFilterAllTaps<2, 9>(ec, n, xb + cb, s, g, CIp, o + cb);
                else SparseFilterAllTaps<1, 9>(ec, n, xb + cb, s, g, CIp, o + cb);
              } else if (taps == 4) {
                if (nv == 2) SparseFilterAllTaps<2, 4>(ec, n, xb + cb, s, g, CIp, o + cb);
                else SparseFilterAllTaps<1, 4>(ec, n, xb + cb, s, g, CIp, o + cb);
              } else {
                if (nv == 2) SparseFilterAllTaps<2, 1>(ec, n, xb + cb, s, g, CIp, o + cb);
                else SparseFilterAllTaps<1, 1>(ec, n, xb + cb, s, g, CIp, o + cb);
              }
              cb += nv * kLanes;
            }
            continue;
          }
          for (int64_t fh = 0; fh < FH; fh++)
            for (int64_t fw = 0; fw < FW; fw++) {
              float* o = mine + (c * taps + fh * FW + fw) * CIp;
              for (int64_t cb = 0; cb < CIp;) {
                const int nv = CIp - cb >= 2 * kLanes ? 2 : 1;
                if (nv == 2) SparseFilterTap<2>(ec, n, xb + cb, H, W, CIp, fh * g.dilation_h, fw * g.dilation_w, o + cb);
                else SparseFilterTap<1>(ec, n, xb + cb, H, W, CIp, fh * g.dilation_h, fw * g.dilation_w, o + cb);
                cb += nv * kLanes;
              }
            }
        }
      }
    }
  }, group);
  for (int64_t q = 1; q * group < B; q++)
    for (int64_t i = 0; i < slice; i++) dwt[i] += dwt[q * slice + i];
  for (int64_t t = 0; t < taps; t++)
    for (int64_t ci = 0; ci < CI; ci++)
      for (int64_t c = 0; c < CO; c++) dw[(t * CI + ci) * CO + c] = dwt[(c * taps + t) * CIp + ci];
}

void FilterCompute(void* p, TF_OpKernelContext* ctx) {
  const SparseAttrs& a = *static_cast<SparseAttrs*>(p);
  const char* op = "MePropConvSparseGradFilter";
  Tensors io(ctx);
  TF_Tensor* idx_t = io.Input(0, TF_INT32, "indices");
  if (!idx_t) return;
  TF_Tensor* val_t = io.Input(1, TF_FLOAT, "values");
  if (!val_t) return;
  TF_Tensor* x_t = io.Input(2, TF_FLOAT, "x");
  if (!x_t) return;
  const std::vector<int64_t> xd = Dims(x_t);
  if (xd.size() != 4) return Fail(ctx, std::string(op) + ": x must be [B, H, W, CI], got " + ShapeText(xd));
  const int64_t H = xd[1], W = xd[2], CI = xd[3], FH = a.filter_h, FW = a.filter_w, CO = a.out_channels;
  const int64_t OH = a.output_h, OW = a.output_w;
  int64_t B, k;
  if (!CheckEntries(ctx, op, idx_t, val_t, OH, OW, CO, &B, &k)) return;
  if (B != xd[0])
    return Fail(ctx, std::string(op) + ": indices hold " + std::to_string(B) + " images, x " + std::to_string(xd[0]));
  TF_Tensor* dw_t = io.Output(0, TF_FLOAT, {FH, FW, CI, CO});
  if (!dw_t) return;
  const ConvShape s{B, H, W, CI, OH, OW, FH, FW, k};
  SparseGradFilter(s, a.g, CO, static_cast<const int32_t*>(TF_TensorData(idx_t)),
                   static_cast<const float*>(TF_TensorData(val_t)), static_cast<const float*>(TF_TensorData(x_t)),
                   static_cast<float*>(TF_TensorData(dw_t)), ThreadsFor(B * OH * OW * k * FH * FW * CI),
                   FilterRowBlock(s, a.g));
}

// MePropConvSelectPositions(dy [..., CO], y [..., CO]; k, relu) -> indices [P, k] int32, values [P, k], sum [CO]:
// at every position (row of channels) the k largest |dz| (NaN first, ties to the lower channel), indices ascending
// within the row, and dz there; dz = dy · relu'(y) with relu (y unread without), sum = Σdz per channel (a bias's
// gradient).

// How many of keys[0 .. n) are >= v.
inline int64_t CountAtLeast(const uint32_t* keys, int64_t n, uint32_t v) {
  int64_t cnt = 0, c = 0;
#if defined(__AVX512F__)
  const __m512i vv = _mm512_set1_epi32(static_cast<int32_t>(v));
  for (; c + 16 <= n; c += 16)
    cnt += __builtin_popcount(_mm512_cmpge_epu32_mask(_mm512_loadu_si512(keys + c), vv));
#endif
  for (; c < n; c++) cnt += keys[c] >= v;
  return cnt;
}

#if defined(__AVX512F__)
// SelectRows for rows of CO = 16·NV channels (16, 32, 48, 64) with AVX-512: each row's dz and keys stay in NV
// registers throughout (no copy of the row), the per-channel float sums too (flushed into `total` at the same
// rows as SelectRows' general loop, so the sums are the same bits), and the kept entries are written by compress
// stores of the kept lanes. The same threshold search and the same result as the general loop.
template <int NV>
void SelectRowsAvx512(const float* dy, const float* y, bool relu, int64_t r0, int64_t r1, int64_t k, int64_t kBlock,
                      int32_t* out_i, float* out_v, double* total) {
  const __m512i absMask = _mm512_set1_epi32(0x7fffffff);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  constexpr int64_t CO = 16 * NV;
  VecF fsum[NV];
  for (int j = 0; j < NV; j++) fsum[j] = Splat(0.0f);
  for (int64_t r = r0; r < r1; r++) {
    VecF z[NV];
    __m512i key[NV];
    for (int j = 0; j < NV; j++) {
      z[j] = LoadV(dy + r * CO + 16 * j);
      if (relu) z[j] = ReluGrad(z[j], LoadV(y + r * CO + 16 * j));
      fsum[j] += z[j];
      key[j] = _mm512_and_si512((__m512i)z[j], absMask);
    }
    if ((r + 1) % kBlock == 0 || r + 1 == r1) {
      for (int j = 0; j < NV; j++) {
        for (int l = 0; l < 16; l++) total[16 * j + l] += fsum[j][l];
        fsum[j] = Splat(0.0f);
      }
    }
    uint32_t T = 0;
    for (int bit = 30; bit >= 0; bit--) {
      const uint32_t cand = T | (1u << bit);
      const __m512i cv = _mm512_set1_epi32(static_cast<int32_t>(cand));
      int64_t cnt = 0;
      for (int j = 0; j < NV; j++) cnt += __builtin_popcount(_mm512_cmpge_epu32_mask(key[j], cv));
      if (cnt >= k) {
        T = cand;
        if (cnt == k) {
          T = cand - 1;
          break;
        }
      }
    }
    const __m512i tv = _mm512_set1_epi32(static_cast<int32_t>(T));
    __mmask16 keep[NV];
    int64_t ties = k;
    for (int j = 0; j < NV; j++) {
      keep[j] = _mm512_cmpgt_epu32_mask(key[j], tv);
      ties -= __builtin_popcount(keep[j]);
    }
    for (int j = 0; j < NV && ties > 0; j++) {
      uint32_t eq = _mm512_cmpeq_epu32_mask(key[j], tv);
      for (; eq != 0 && ties > 0; ties--) {
        keep[j] |= static_cast<__mmask16>(eq & (0u - eq));
        eq &= eq - 1;
      }
    }
    int32_t* oi = out_i + r * k;
    float* ov = out_v + r * k;
    for (int j = 0; j < NV; j++) {
      _mm512_mask_compressstoreu_epi32(oi, keep[j], _mm512_add_epi32(lane, _mm512_set1_epi32(16 * j)));
      _mm512_mask_compressstoreu_ps(ov, keep[j], (__m512)z[j]);
      const int n = __builtin_popcount(keep[j]);
      oi += n;
      ov += n;
    }
  }
}
using SelectRowsFn = void (*)(const float*, const float*, bool, int64_t, int64_t, int64_t, int64_t, int32_t*, float*,
                              double*);
#endif

// The selection of MePropConvSelectPositions on dy [P, CO] (y read only with relu): indices and values [P, k],
// sum [CO].
void SelectRows(const float* dy, const float* y, bool relu, int64_t P, int64_t CO, int64_t k, int32_t* out_i,
                float* out_v, float* out_s, int threads) {
  // Σdz per channel: float sums over blocks of rows, added into doubles per chunk of kChunk rows (the chunks
  // split across threads), the chunks added in order: the same bits whatever the number of threads.
  const int64_t COv = CO / kLanes * kLanes, kBlock = 256, kChunk = 8 * kBlock;
  const int64_t chunks = (P + kChunk - 1) / kChunk;
  std::vector<double> part(chunks * CO, 0.0);
  // Ranking key of an entry: the bits of |dy| (sign cleared) order as the magnitudes, every NaN above +Inf.
  // Per row, a threshold T is found bit by bit from the top (the largest T with at least k keys >= T), stopping
  // as soon as exactly k keys lie at or above the candidate (usually after the exponent and a few mantissa
  // bits); then one pass in channel order keeps every key > T and the first keys == T up to k (ties to the
  // lower channel), already ascending. With AVX-512 the counts are mask popcounts over the row in registers.
  ParallelFor(
      P, threads,
      [&](int, int64_t r0, int64_t r1) {
        double* total = part.data() + (r0 / kChunk) * CO;
#if defined(__AVX512F__)
        if (CO % 16 == 0 && CO <= 64) {
          static const SelectRowsFn fns[4] = {SelectRowsAvx512<1>, SelectRowsAvx512<2>, SelectRowsAvx512<3>,
                                              SelectRowsAvx512<4>};
          return fns[CO / 16 - 1](dy, y, relu, r0, r1, k, kBlock, out_i, out_v, total);
        }
#endif
        std::vector<float> zrow(CO), fsum(CO, 0.0f);
        std::vector<uint32_t> keys(CO);
        for (int64_t r = r0; r < r1; r++) {
          const float* row = dy + r * CO;
          if (relu) {
            const float* yr = y + r * CO;
            for (int64_t c = 0; c < COv; c += kLanes) StoreV(&zrow[c], ReluGrad(LoadV(row + c), LoadV(yr + c)));
            for (int64_t c = COv; c < CO; c++) zrow[c] = ReluGrad1(row[c], yr[c]);
            row = zrow.data();
          }
          for (int64_t c = 0; c < COv; c += kLanes) StoreV(&fsum[c], LoadV(&fsum[c]) + LoadV(row + c));
          for (int64_t c = COv; c < CO; c++) fsum[c] += row[c];
          if ((r + 1) % kBlock == 0 || r + 1 == r1) {
            for (int64_t c = 0; c < CO; c++) total[c] += fsum[c];
            std::fill(fsum.begin(), fsum.end(), 0.0f);
          }
          std::memcpy(keys.data(), row, 4 * CO);
          for (int64_t c = 0; c < CO; c++) keys[c] &= 0x7fffffffu;
          uint32_t T = 0;
          for (int bit = 30; bit >= 0; bit--) {
            const uint32_t cand = T | (1u << bit);
            const int64_t cnt = CountAtLeast(keys.data(), CO, cand);
            if (cnt >= k) {
              T = cand;
              if (cnt == k) {
                T = cand - 1;  // exactly the k keys >= cand are > T: no ties to break
                break;
              }
            }
          }
          int32_t* oi = out_i + r * k;
          float* ov = out_v + r * k;
      #if defined(__AVX512F__)
          if (CO % 16 == 0) {
            // The kept lanes as masks (every key > T, then the lowest lanes == T up to k), walked bit by bit: no
            // data-dependent branch per channel.
            const __m512i tv = _mm512_set1_epi32(static_cast<int32_t>(T));
            int64_t ties = k;
            for (int64_t c = 0; c < CO; c += 16)
              ties -= __builtin_popcount(_mm512_cmpgt_epu32_mask(_mm512_loadu_si512(keys.data() + c), tv));
            int64_t t = 0;
            for (int64_t c = 0; c < CO; c += 16) {
              const __m512i kv = _mm512_loadu_si512(keys.data() + c);
              uint32_t keep = _mm512_cmpgt_epu32_mask(kv, tv);
              uint32_t eq = _mm512_cmpeq_epu32_mask(kv, tv);
              for (; eq != 0 && ties > 0; ties--) {
                keep |= eq & (0u - eq);
                eq &= eq - 1;
              }
              for (; keep != 0; keep &= keep - 1, t++) {
                const int l = __builtin_ctz(keep);
                oi[t] = static_cast<int32_t>(c + l);
                ov[t] = row[c + l];
              }
            }
            continue;
          }
      #endif
          int64_t above = 0;
          for (int64_t c = 0; c < CO; c++) above += keys[c] > T;
          int64_t ties = k - above, t = 0;
          for (int64_t c = 0; c < CO && t < k; c++) {
            const bool eq = keys[c] == T;
            if (keys[c] > T || (eq && ties > 0)) {
              ties -= eq;
              oi[t] = static_cast<int32_t>(c);
              ov[t] = row[c];
              t++;
            }
          }
        }
      },
      kChunk);
  std::vector<double> total(CO, 0.0);
  for (int64_t q = 0; q < chunks; q++)
    for (int64_t c = 0; c < CO; c++) total[c] += part[q * CO + c];
  for (int64_t c = 0; c < CO; c++) out_s[c] = static_cast<float>(total[c]);
}

void RowsCompute(void* p, TF_OpKernelContext* ctx) {
  const int64_t k = static_cast<KReluAttrs*>(p)->k;
  const bool relu = static_cast<KReluAttrs*>(p)->relu;
  Tensors io(ctx);
  TF_Tensor* dy_t = io.Input(0, TF_FLOAT, "dy");
  if (!dy_t) return;
  TF_Tensor* y_t = io.Input(1, TF_FLOAT, "y");
  if (!y_t) return;
  const std::vector<int64_t> dims = Dims(dy_t);
  if (dims.empty() || dims.back() < k)
    return Fail(ctx, "MePropConvSelectPositions: k (" + std::to_string(k) + ") exceeds dy's channels (shape " +
                         ShapeText(dims) + ")");
  if (relu && Dims(y_t) != dims)
    return Fail(ctx, "MePropConvSelectPositions: y's shape " + ShapeText(Dims(y_t)) + " must equal dy's " +
                         ShapeText(dims));
  const int64_t CO = dims.back(), P = TF_TensorElementCount(dy_t) / CO;
  TF_Tensor* i_t = io.Output(0, TF_INT32, {P, k});
  if (!i_t) return;
  TF_Tensor* v_t = io.Output(1, TF_FLOAT, {P, k});
  if (!v_t) return;
  TF_Tensor* s_t = io.Output(2, TF_FLOAT, {CO});
  if (!s_t) return;
  SelectRows(static_cast<const float*>(TF_TensorData(dy_t)), static_cast<const float*>(TF_TensorData(y_t)), relu, P,
             CO, k, static_cast<int32_t*>(TF_TensorData(i_t)), static_cast<float*>(TF_TensorData(v_t)),
             static_cast<float*>(TF_TensorData(s_t)), ThreadsFor(P * CO, kElementsPerThread / 4));
}

void RegisterConvSparse(std::vector<std::string>& names, TF_Status* status) {
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvSelectPositions");
    TF_OpDefinitionBuilderAddInput(op, "dy: float");
    TF_OpDefinitionBuilderAddInput(op, "y: float");
    TF_OpDefinitionBuilderAddOutput(op, "indices: int32");
    TF_OpDefinitionBuilderAddOutput(op, "values: float");
    TF_OpDefinitionBuilderAddOutput(op, "sum: float");
    TF_OpDefinitionBuilderAddAttr(op, "k: int >= 1");
    TF_OpDefinitionBuilderAddAttr(op, "relu: bool = false");
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvSelectPositions", RowsCompute, KReluCreate<true>, KReluDelete, status)) return;
    names.push_back("MePropConvSelectPositions");
  }
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvSparseGradInput");
    TF_OpDefinitionBuilderAddInput(op, "indices: int32");
    TF_OpDefinitionBuilderAddInput(op, "values: float");
    TF_OpDefinitionBuilderAddInput(op, "filter: float");
    TF_OpDefinitionBuilderAddOutput(op, "dx: float");
    TF_OpDefinitionBuilderAddAttr(op, "input_h: int");
    TF_OpDefinitionBuilderAddAttr(op, "input_w: int");
    TF_OpDefinitionBuilderAddAttr(op, "output_h: int");
    TF_OpDefinitionBuilderAddAttr(op, "output_w: int");
    AddGeometryAttrs(op);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvSparseGradInput", InputCompute, InputCreate, AttrsDelete, status)) return;
    names.push_back("MePropConvSparseGradInput");
  }
  {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropConvSparseGradFilter");
    TF_OpDefinitionBuilderAddInput(op, "indices: int32");
    TF_OpDefinitionBuilderAddInput(op, "values: float");
    TF_OpDefinitionBuilderAddInput(op, "x: float");
    TF_OpDefinitionBuilderAddOutput(op, "dw: float");
    TF_OpDefinitionBuilderAddAttr(op, "filter_h: int");
    TF_OpDefinitionBuilderAddAttr(op, "filter_w: int");
    TF_OpDefinitionBuilderAddAttr(op, "out_channels: int");
    TF_OpDefinitionBuilderAddAttr(op, "output_h: int");
    TF_OpDefinitionBuilderAddAttr(op, "output_w: int");
    AddGeometryAttrs(op);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, "MePropConvSparseGradFilter", FilterCompute, FilterCreate, AttrsDelete, status)) return;
    names.push_back("MePropConvSparseGradFilter");
  }
}

}  // namespace
MEPROP_REGISTER_OPS(RegisterConvSparse);
}  // namespace conv
}  // namespace meprop
