// The tail of a meProp convolution's forward on `tensorflow`, after TensorFlow's Conv2D:
//
//   MePropBiasAct(z [..., C], bias [C]; relu) -> y = relu(z + bias) (or z + bias)
//
// One pass over z, in place when TensorFlow can hand z's buffer to the output, where tfjs-node's FusedConv2D
// runs AddV2 with broadcasting and then Relu (two passes, two new tensors). NaN propagates as tfjs's relu does
// (max(NaN, 0) is NaN there; here z + bias > 0 is false for NaN, so the NaN is kept explicitly).
#include "conv_common.h"

extern "C" {
TF_Tensor* TF_ForwardInputOrAllocateOutput(TF_OpKernelContext* context, int* candidate_input_indices,
                                           int num_candidate_input_indices, int output_index, int64_t* output_dims,
                                           int output_num_dims, int* forwarded_input, TF_Status* status);
}

namespace meprop {
namespace conv {
namespace {

inline VecF Relu(VecF v) { return v > 0 ? v : (v != v ? v : Splat(0.0f)); }

void ActCompute(void* p, TF_OpKernelContext* ctx) {
  const bool relu = static_cast<KReluAttrs*>(p)->relu;
  Tensors io(ctx);
  TF_Tensor* z_t = io.Input(0, TF_FLOAT, "z");
  if (!z_t) return;
  TF_Tensor* b_t = io.Input(1, TF_FLOAT, "bias");
  if (!b_t) return;
  std::vector<int64_t> zd = Dims(z_t);
  const std::vector<int64_t> bd = Dims(b_t);
  if (zd.empty() || bd.size() != 1 || bd[0] != zd.back())
    return Fail(ctx, "MePropBiasAct: bias must be [C] for z [..., C], got " + ShapeText(bd) + " and " + ShapeText(zd));
  const int64_t C = zd.back(), rows = C == 0 ? 0 : TF_TensorElementCount(z_t) / C;
  TF_Status* st = TF_NewStatus();
  int candidate = 0, forwarded = -1;
  TF_Tensor* y_t =
      TF_ForwardInputOrAllocateOutput(ctx, &candidate, 1, 0, zd.data(), static_cast<int>(zd.size()), &forwarded, st);
  if (TF_GetCode(st) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, st);
    TF_DeleteStatus(st);
    if (y_t) TF_DeleteTensor(y_t);
    return;
  }
  TF_DeleteStatus(st);
  const float* z = static_cast<const float*>(TF_TensorData(z_t));
  const float* b = static_cast<const float*>(TF_TensorData(b_t));
  float* y = static_cast<float*>(TF_TensorData(y_t));
  const int64_t Cv = C / kLanes * kLanes;
  for (int64_t r = 0; r < rows; r++) {
    const float* zr = z + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < Cv; c += kLanes) {
      const VecF v = LoadV(zr + c) + LoadV(b + c);
      StoreV(yr + c, relu ? Relu(v) : v);
    }
    for (int64_t c = Cv; c < C; c++) {
      const float v = zr[c] + b[c];
      yr[c] = relu && !(v > 0) && v == v ? 0.0f : v;
    }
  }
  TF_DeleteTensor(y_t);
}

void RegisterConvForward(std::vector<std::string>& names, TF_Status* status) {
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropBiasAct");
  TF_OpDefinitionBuilderAddInput(op, "z: float");
  TF_OpDefinitionBuilderAddInput(op, "bias: float");
  TF_OpDefinitionBuilderAddOutput(op, "y: float");
  TF_OpDefinitionBuilderAddAttr(op, "relu: bool = false");
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
  if (RegisterOpAndKernel(op, "MePropBiasAct", ActCompute, KReluCreate<false>, KReluDelete, status)) names.push_back("MePropBiasAct");
}

}  // namespace
MEPROP_REGISTER_OPS(RegisterConvForward);
}  // namespace conv
}  // namespace meprop
