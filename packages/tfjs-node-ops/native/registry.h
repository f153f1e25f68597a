// Each op file registers itself with MEPROP_REGISTER_OPS(fn): the module's init (module.cc) runs every
// registration once, when Node loads the addon, and reports the op names (or the first failure) to JavaScript.
#pragma once
#include <string>
#include <vector>

#include "tf_c_api.h"

namespace meprop {

// Registers op definitions and CPU kernels; appends the op names to `names`; on failure sets `status`.
using RegisterFn = void (*)(std::vector<std::string>& names, TF_Status* status);

int AddRegistration(RegisterFn fn);
const std::vector<RegisterFn>& Registrations();

// Shape function for ops whose output shapes are computed by the kernel (eager execution only needs these).
void UnknownShape(TF_ShapeInferenceContext* ctx, TF_Status* status);

// Registers `op` (built by the caller) and a CPU kernel for it; returns false (with `status` set) on failure.
bool RegisterOpAndKernel(TF_OpDefinitionBuilder* op, const char* name, void (*compute)(void*, TF_OpKernelContext*),
                         void* (*create)(TF_OpKernelConstruction*), void (*destroy)(void*), TF_Status* status);

// Fails the kernel with an InvalidArgument message.
void Fail(TF_OpKernelContext* ctx, const std::string& message);

}  // namespace meprop

#define MEPROP_CONCAT2(a, b) a##b
#define MEPROP_CONCAT(a, b) MEPROP_CONCAT2(a, b)
#define MEPROP_REGISTER_OPS(fn) static const int MEPROP_CONCAT(meprop_reg_, __LINE__) = ::meprop::AddRegistration(fn)
