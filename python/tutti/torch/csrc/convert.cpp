// SPDX-License-Identifier: BSD-3-Clause
#include "convert.hpp"

#include <c10/util/Exception.h>

#include <sstream>
#include <stdexcept>

namespace tutti_torch {

void check_tensor(const at::Tensor& t, const char* call, bool need_contiguous) {
  if (!t.defined()) invalid(call, "an undefined tensor");
  if (!t.device().is_cpu())
    invalid(call, "a tensor on " + t.device().str() +
                      ": the tutti backend moves CPU tensors (for a mixed job: "
                      "init_process_group(\"cpu:tutti,cuda:nccl\"))");
  if (t.is_sparse() || t.layout() != at::kStrided)
    invalid(call, "a sparse (or otherwise non-strided) tensor: tutti moves dense tensors");
  if (need_contiguous ? !t.is_contiguous() : !t.is_non_overlapping_and_dense())
    invalid(call, std::string("a ") + (need_contiguous ? "non-contiguous" : "non-dense (strided or overlapping)") +
                      " tensor: this call needs a contiguous one (call .contiguous() first)");
}

const at::Tensor& single(const std::vector<at::Tensor>& ts, const char* call) {
  if (ts.size() != 1) {
    std::ostringstream s;
    s << "a list of " << ts.size() << " tensors: tutti takes exactly one per call (one device per process)";
    invalid(call, s.str());
  }
  return ts[0];
}

void check_list(const std::vector<at::Tensor>& ts, const at::Tensor& like, const char* call, bool same_numel,
                bool need_contiguous) {
  for (size_t k = 0; k < ts.size(); k++) {
    check_tensor(ts[k], call, need_contiguous);
    if (ts[k].scalar_type() != like.scalar_type()) {
      std::ostringstream s;
      s << "tensor " << k << " of the list is " << ts[k].scalar_type() << ", not " << like.scalar_type();
      invalid(call, s.str());
    }
    if (same_numel && ts[k].numel() != like.numel()) {
      std::ostringstream s;
      s << "tensor " << k << " of the list has " << ts[k].numel() << " elements, not " << like.numel()
        << " (the sizes must match)";
      invalid(call, s.str());
    }
  }
}

size_t nbytes(const at::Tensor& t) {
  return static_cast<size_t>(t.numel()) * t.element_size();
}

bool overlap(const at::Tensor& a, const at::Tensor& b) {
  auto x = reinterpret_cast<uintptr_t>(a.data_ptr()), y = reinterpret_cast<uintptr_t>(b.data_ptr());
  size_t m = nbytes(a), n = nbytes(b);
  return m && n && x < y + n && y < x + m;
}

static const char* op_name(const c10d::ReduceOp& op) {
  switch (op.op_) {
    case c10d::ReduceOp::SUM: return "SUM";
    case c10d::ReduceOp::AVG: return "AVG";
    case c10d::ReduceOp::PRODUCT: return "PRODUCT";
    case c10d::ReduceOp::MIN: return "MIN";
    case c10d::ReduceOp::MAX: return "MAX";
    case c10d::ReduceOp::BAND: return "BAND";
    case c10d::ReduceOp::BOR: return "BOR";
    case c10d::ReduceOp::BXOR: return "BXOR";
    case c10d::ReduceOp::PREMUL_SUM: return "PREMUL_SUM";
    default: return "an unknown ReduceOp";
  }
}

Reduction reduction(const at::Tensor& t, const c10d::ReduceOp& rop, const char* call) {
  Reduction r;
  r.count = static_cast<size_t>(t.numel());
  bool boolean = false, complex = false, floating = true;
  switch (t.scalar_type()) {
    case at::kFloat: r.dtype = TUTTI_FLOAT32; break;
    case at::kDouble: r.dtype = TUTTI_FLOAT64; break;
    case at::kHalf: r.dtype = TUTTI_FLOAT16; break;
    case at::kBFloat16: r.dtype = TUTTI_BFLOAT16; break;
    case at::kComplexFloat: r.dtype = TUTTI_FLOAT32; complex = true; break;
    case at::kComplexDouble: r.dtype = TUTTI_FLOAT64; complex = true; break;
    case at::kComplexHalf: r.dtype = TUTTI_FLOAT16; complex = true; break;
    default:
      floating = false;
      switch (t.scalar_type()) {
        case at::kChar: r.dtype = TUTTI_INT8; break;
        case at::kByte: r.dtype = TUTTI_UINT8; break;
        case at::kShort: r.dtype = TUTTI_INT16; break;
        case at::kInt: r.dtype = TUTTI_INT32; break;
        case at::kLong: r.dtype = TUTTI_INT64; break;
        case at::kBool: r.dtype = TUTTI_UINT8; boolean = true; break;
#ifdef TUTTI_TORCH_UINT_TYPES
        case at::kUInt16: r.dtype = TUTTI_UINT16; break;
        case at::kUInt32: r.dtype = TUTTI_UINT32; break;
        case at::kUInt64: r.dtype = TUTTI_UINT64; break;
#endif
        default: {
          std::ostringstream s;
          s << "a tensor of " << t.scalar_type() << ", which tutti cannot reduce (it can move it: broadcast, "
            << "all-gather, all-to-all, send/recv)";
          invalid(call, s.str());
        }
      }
  }
  if (complex) r.count *= 2; // (real, imaginary) pairs: only sums are elementwise on them
  auto refuse = [&](const char* why) {
    invalid(call, std::string("ReduceOp ") + op_name(rop) + " on a tensor of " + c10::toString(t.scalar_type()) +
                      ": " + why);
  };
  switch (rop.op_) {
    case c10d::ReduceOp::SUM: r.op = boolean ? TUTTI_MAX : TUTTI_SUM; break; // bool: logical or (NCCL's rule)
    case c10d::ReduceOp::AVG:
      if (boolean) refuse("the average of booleans is not a boolean");
      r.op = TUTTI_AVG;
      break;
    case c10d::ReduceOp::PRODUCT:
      if (complex) refuse("complex products are not elementwise on the real parts");
      r.op = boolean ? TUTTI_MIN : TUTTI_PROD; // bool: logical and
      break;
    case c10d::ReduceOp::MIN:
    case c10d::ReduceOp::MAX:
      if (complex) refuse("complex numbers are not ordered");
      r.op = rop.op_ == c10d::ReduceOp::MIN ? TUTTI_MIN : TUTTI_MAX;
      break;
    case c10d::ReduceOp::BAND:
    case c10d::ReduceOp::BOR:
    case c10d::ReduceOp::BXOR:
      if (floating) refuse("the bitwise ops need an integer or bool tensor");
      r.op = rop.op_ == c10d::ReduceOp::BAND ? TUTTI_BAND : rop.op_ == c10d::ReduceOp::BOR ? TUTTI_BOR : TUTTI_BXOR;
      break;
    case c10d::ReduceOp::PREMUL_SUM: {
      if (!floating) refuse("PREMUL_SUM scales by a real factor: it needs a floating-point tensor");
      auto* sup = dynamic_cast<c10d::NCCLPreMulSumSupplement*>(rop.supplement_.get());
      if (!sup) refuse("no factor (make it with torch.distributed._make_nccl_premul_sum)");
      r.op = TUTTI_SUM;
      r.premul = true;
      if (!sup->tensor_factors.empty()) {
        r.factor_tensor = sup->tensor_factors[0];
        if (!r.factor_tensor.device().is_cpu() || r.factor_tensor.numel() != 1)
          refuse("the factor must be a CPU tensor of one element");
      } else {
        r.factor = sup->double_factor;
      }
      break;
    }
    default: refuse("not a reduction tutti knows");
  }
  return r;
}

std::exception_ptr make_error(tutti_result_t r, const std::string& call, const std::string& detail) {
  std::string msg = "tutti " + call + ": ";
  if (r == TUTTI_ERR_TIMEOUT) msg += "Timed out ";
  msg += std::string("(") + tutti_result_name(r) + ") " + detail;
#ifdef TUTTI_TORCH_DIST_BACKEND_ERROR
  // torch.distributed.DistBackendError in Python (a RuntimeError)
  return std::make_exception_ptr(c10::DistBackendError(c10::SourceLocation{__func__, __FILE__, __LINE__}, msg));
#else
  return std::make_exception_ptr(std::runtime_error(msg));
#endif
}

void raise(tutti_result_t r, const std::string& call, const std::string& detail) {
  std::rethrow_exception(make_error(r, call, detail));
}

void invalid(const std::string& call, const std::string& what) {
  // a RuntimeError in Python, as gloo's and NCCL's argument checks raise
  throw std::runtime_error("tutti " + call + ": " + what);
}

} // namespace tutti_torch
