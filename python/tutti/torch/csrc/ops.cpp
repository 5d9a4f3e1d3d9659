// SPDX-License-Identifier: BSD-3-Clause
//
// The operations, each: check the tensors (nothing is touched when they
// are refused), post the tutti call(s), return the Work.  Reductions use
// the tensor's type; everything else moves bytes (TUTTI_UINT8), so every
// dtype works there.  Lists of tensors that tutti wants as one buffer go
// through staging (allgather and reduce_scatter lists) or through
// alltoallv with displacements relative to the lowest tensor address
// (gather, scatter, uneven all-gather, all-to-all lists: no copies).
#include "backend.hpp"

#include <algorithm>
#include <numeric>
#include <sstream>

namespace tutti_torch {

namespace {

char* base_of(const at::Tensor& t) {
  return static_cast<char*>(t.data_ptr());
}

// Byte offsets of each tensor from the lowest address among them: tutti's
// alltoallv takes one base pointer and a displacement per peer.
char* lowest(const std::vector<at::Tensor>& ts) {
  char* lo = nullptr;
  for (auto& t : ts)
    if (t.numel() && (!lo || base_of(t) < lo)) lo = base_of(t);
  return lo;
}

size_t offset_from(const at::Tensor& t, const char* lo) {
  return t.numel() ? static_cast<size_t>(base_of(t) - lo) : 0;
}

// PREMUL_SUM: t *= factor (in place on the tensor it is given)
void premultiply(at::Tensor& t, const Reduction& red) {
  if (red.factor_tensor.defined()) t.mul_(red.factor_tensor);
  else t.mul_(red.factor);
}

} // namespace

WorkPtr TuttiBackend::allreduce(std::vector<at::Tensor>& tensors, const AllreduceOptions& opts) {
  static const char* call = "allreduce";
  at::Tensor t = single(tensors, call);
  check_tensor(t, call, false);
  Reduction red = reduction(t, opts.reduceOp, call);
  check_open(call);
  if (red.premul) premultiply(t, red);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::ALLREDUCE, "tutti:all_reduce", tensors, tensors);
  work->keep = tensors;
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_iallreduce(t.data_ptr(), t.data_ptr(), red.count, red.dtype, red.op, comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

// One flat all-reduce per datatype (in order of first appearance: the
// same on every rank), copied back into the tensors when it completes.
WorkPtr TuttiBackend::allreduce_coalesced(std::vector<at::Tensor>& tensors, const AllreduceCoalescedOptions& opts) {
  static const char* call = "allreduce_coalesced";
  if (tensors.empty()) invalid(call, "an empty list of tensors");
  std::vector<at::ScalarType> types;
  std::vector<Reduction> reds;
  for (auto& t : tensors) {
    check_tensor(t, call, false);
    Reduction red = reduction(t, opts.reduceOp, call);
    if (std::find(types.begin(), types.end(), t.scalar_type()) == types.end()) {
      types.push_back(t.scalar_type());
      reds.push_back(red);
    }
  }
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::ALLREDUCE_COALESCED, "tutti:all_reduce_coalesced",
                                        tensors, tensors);
  std::vector<at::Tensor> flats;
  std::vector<std::vector<at::Tensor>> members(types.size());
  for (size_t k = 0; k < types.size(); k++) {
    std::vector<at::Tensor> views;
    for (auto& t : tensors)
      if (t.scalar_type() == types[k]) {
        members[k].push_back(t);
        views.push_back(t.reshape({-1}));
      }
    at::Tensor flat = at::cat(views);
    Reduction red = reduction(flat, opts.reduceOp, call);
    if (red.premul) premultiply(flat, red);
    reds[k] = red;
    flats.push_back(flat);
  }
  work->keep = flats;
  work->keep.insert(work->keep.end(), tensors.begin(), tensors.end());
  work->finalize = [flats, members]() {
    for (size_t k = 0; k < flats.size(); k++) {
      int64_t at = 0;
      for (auto& t : members[k]) {
        t.copy_(flats[k].narrow(0, at, t.numel()).view_as(t));
        at += t.numel();
      }
    }
  };
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    for (size_t k = 0; k < flats.size(); k++) {
      tutti_request_t q = nullptr;
      tutti_result_t r = tutti_iallreduce(flats[k].data_ptr(), flats[k].data_ptr(), reds[k].count, reds[k].dtype,
                                          reds[k].op, comm_, &q);
      if (r != TUTTI_SUCCESS) return r;
      reqs.push_back(q);
    }
    return TUTTI_SUCCESS;
  });
}

WorkPtr TuttiBackend::broadcast(std::vector<at::Tensor>& tensors, const BroadcastOptions& opts) {
  static const char* call = "broadcast";
  at::Tensor t = single(tensors, call);
  check_tensor(t, call, false);
  if (opts.rootTensor != 0) invalid(call, "rootTensor must be 0 (one tensor per process)");
  check_open(call);
  int root = static_cast<int>(opts.rootRank);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::BROADCAST, "tutti:broadcast", tensors, tensors);
  work->keep = tensors;
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_ibroadcast(t.data_ptr(), t.data_ptr(), nbytes(t), TUTTI_UINT8, root, comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

WorkPtr TuttiBackend::reduce(std::vector<at::Tensor>& tensors, const ReduceOptions& opts) {
  static const char* call = "reduce";
  at::Tensor t = single(tensors, call);
  check_tensor(t, call, false);
  if (opts.rootTensor != 0) invalid(call, "rootTensor must be 0 (one tensor per process)");
  Reduction red = reduction(t, opts.reduceOp, call);
  check_open(call);
  int root = static_cast<int>(opts.rootRank);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::REDUCE, "tutti:reduce", tensors, tensors);
  // PREMUL_SUM scales a copy: a rank's tensor off the root stays as it was
  at::Tensor src = t;
  if (red.premul) {
    src = t.clone();
    premultiply(src, red);
  }
  work->keep = {t, src};
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_ireduce(src.data_ptr(), t.data_ptr(), red.count, red.dtype, red.op, root, comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

WorkPtr TuttiBackend::_allgather_base(at::Tensor& output, at::Tensor& input, const AllgatherOptions& opts) {
  static const char* call = "_allgather_base";
  check_tensor(output, call, true);
  check_tensor(input, call, true);
  if (output.scalar_type() != input.scalar_type()) invalid(call, "the output and input dtypes differ");
  if (nbytes(output) != nbytes(input) * static_cast<size_t>(size_)) {
    std::ostringstream s;
    s << "the output holds " << output.numel() << " elements, not " << size_ << " x the input's " << input.numel();
    invalid(call, s.str());
  }
  check_open(call);
  // in place when the input is this rank's block of the output; any other
  // overlap: from a copy
  at::Tensor in = input;
  if (overlap(input, output) && base_of(input) != base_of(output) + rank_ * nbytes(input)) in = input.clone();
  std::vector<at::Tensor> outs = {output};
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::_ALLGATHER_BASE, "tutti:_all_gather_base", outs,
                                        std::vector<at::Tensor>{input});
  work->keep = {output, in};
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_iallgather(in.data_ptr(), output.data_ptr(), nbytes(in), TUTTI_UINT8, comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

// Equal sizes: one all-gather into a flat staging buffer (kept for the next
// call: Staging), copied out on completion, or straight into the outputs
// when they are consecutive in memory.  (Straight into scattered outputs
// through alltoallv was measured slower from 256 KiB: its p-1 concurrent
// pairs, against the ring's one neighbour at a time.)
// Sizes that differ per rank (uneven): alltoallv straight into the outputs.
WorkPtr TuttiBackend::allgather(std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
                                const AllgatherOptions& opts) {
  static const char* call = "allgather";
  at::Tensor in = single(inputs, call);
  check_tensor(in, call, true);
  if (outputs.size() != 1 || outputs[0].size() != static_cast<size_t>(size_)) {
    std::ostringstream s;
    s << "the outputs must be one list of " << size_ << " tensors";
    invalid(call, s.str());
  }
  std::vector<at::Tensor>& outs = outputs[0];
  check_list(outs, in, call, false, true);
  if (outs[rank_].numel() != in.numel()) {
    std::ostringstream s;
    s << "this rank's output tensor has " << outs[rank_].numel() << " elements, its input " << in.numel();
    invalid(call, s.str());
  }
  bool even = true, consecutive = true;
  for (int q = 0; q < size_; q++) {
    even = even && outs[q].numel() == in.numel();
    consecutive = consecutive && base_of(outs[q]) == base_of(outs[0]) + q * nbytes(in);
  }
  // in place only into consecutive outputs, the input being this rank's
  // block (tutti's in-place layout); any other overlap: from a copy
  bool inplace = even && consecutive && in.numel() > 0 && base_of(in) == base_of(outs[rank_]);
  if (!inplace)
    for (auto& o : outs)
      if (overlap(o, in)) {
        in = in.clone();
        break;
      }
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::ALLGATHER, "tutti:all_gather", outputs, inputs);
  work->keep = outs;
  work->keep.push_back(in);
  if (even && !(consecutive && in.numel() > 0)) {
    at::Tensor flat = staging_->get(static_cast<int64_t>(size_) * in.numel(), in.options());
    work->keep.push_back(flat);
    std::vector<at::Tensor> dst = outs;
    auto staging = staging_;
    work->finalize = [flat, dst, staging]() {
      int64_t n = dst.empty() ? 0 : dst[0].numel();
      for (size_t q = 0; q < dst.size(); q++) dst[q].copy_(flat.narrow(0, q * n, n).view_as(dst[q]));
      staging->put(flat);
    };
    return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
      tutti_request_t q = nullptr;
      tutti_result_t r = tutti_iallgather(in.data_ptr(), flat.data_ptr(), nbytes(in), TUTTI_UINT8, comm_, &q);
      if (r == TUTTI_SUCCESS) reqs.push_back(q);
      return r;
    });
  }
  if (even) {
    return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
      tutti_request_t q = nullptr;
      tutti_result_t r = tutti_iallgather(in.data_ptr(), outs[0].data_ptr(), nbytes(in), TUTTI_UINT8, comm_, &q);
      if (r == TUTTI_SUCCESS) reqs.push_back(q);
      return r;
    });
  }
  // uneven: my input to everyone, rank q's into outs[q]
  std::vector<size_t> sc(size_, nbytes(in)), sd(size_, 0), rc(size_), rd(size_);
  char* lo = lowest(outs);
  for (int q = 0; q < size_; q++) {
    rc[q] = nbytes(outs[q]);
    rd[q] = offset_from(outs[q], lo);
  }
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    return post_alltoallv(in.data_ptr(), sc, sd, lo, rc, rd, reqs);
  });
}

// gather / scatter: alltoallv in bytes where only the root's blocks are
// not empty (no staging).
WorkPtr TuttiBackend::gather(std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
                             const GatherOptions& opts) {
  static const char* call = "gather";
  at::Tensor in = single(inputs, call);
  check_tensor(in, call, true);
  int root = static_cast<int>(opts.rootRank);
  if (root < 0 || root >= size_) invalid(call, "root rank out of range");
  std::vector<at::Tensor> outs;
  if (rank_ == root) {
    if (outputs.size() != 1 || outputs[0].size() != static_cast<size_t>(size_)) {
      std::ostringstream s;
      s << "the root's outputs must be one list of " << size_ << " tensors";
      invalid(call, s.str());
    }
    outs = outputs[0];
    check_list(outs, in, call, false, true);
    if (outs[rank_].numel() != in.numel()) invalid(call, "the root's own output tensor is not the input's size");
    for (auto& o : outs)
      if (overlap(o, in)) in = in.clone();
  } else if (!outputs.empty() && !(outputs.size() == 1 && outputs[0].empty())) {
    invalid(call, "only the root passes output tensors");
  }
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::GATHER, "tutti:gather", outputs, inputs);
  work->keep = outs;
  work->keep.push_back(in);
  std::vector<size_t> sc(size_, 0), sd(size_, 0), rc(size_, 0), rd(size_, 0);
  sc[root] = nbytes(in);
  char* lo = nullptr;
  if (rank_ == root) {
    lo = lowest(outs);
    for (int q = 0; q < size_; q++) {
      rc[q] = nbytes(outs[q]);
      rd[q] = offset_from(outs[q], lo);
    }
  }
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    return post_alltoallv(in.data_ptr(), sc, sd, lo, rc, rd, reqs);
  });
}

WorkPtr TuttiBackend::scatter(std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
                              const ScatterOptions& opts) {
  static const char* call = "scatter";
  at::Tensor out = single(outputs, call);
  check_tensor(out, call, true);
  int root = static_cast<int>(opts.rootRank);
  if (root < 0 || root >= size_) invalid(call, "root rank out of range");
  std::vector<at::Tensor> ins;
  if (rank_ == root) {
    if (inputs.size() != 1 || inputs[0].size() != static_cast<size_t>(size_)) {
      std::ostringstream s;
      s << "the root's inputs must be one list of " << size_ << " tensors";
      invalid(call, s.str());
    }
    ins = inputs[0];
    check_list(ins, out, call, false, true);
    if (ins[rank_].numel() != out.numel()) invalid(call, "the root's own input tensor is not the output's size");
    for (size_t q = 0; q < ins.size(); q++)
      if (overlap(ins[q], out)) ins[q] = ins[q].clone();
  } else if (!inputs.empty() && !(inputs.size() == 1 && inputs[0].empty())) {
    invalid(call, "only the root passes input tensors");
  }
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::SCATTER, "tutti:scatter", outputs,
                                        rank_ == root ? c10::optional<std::vector<at::Tensor>>(ins) : c10::nullopt);
  work->keep = ins;
  work->keep.push_back(out);
  std::vector<size_t> sc(size_, 0), sd(size_, 0), rc(size_, 0), rd(size_, 0);
  rc[root] = nbytes(out);
  char* lo = nullptr;
  if (rank_ == root) {
    lo = lowest(ins);
    for (int q = 0; q < size_; q++) {
      sc[q] = nbytes(ins[q]);
      sd[q] = offset_from(ins[q], lo);
    }
  }
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    return post_alltoallv(lo, sc, sd, out.data_ptr(), rc, rd, reqs);
  });
}

WorkPtr TuttiBackend::_reduce_scatter_base(at::Tensor& output, at::Tensor& input, const ReduceScatterOptions& opts) {
  static const char* call = "_reduce_scatter_base";
  check_tensor(output, call, true);
  check_tensor(input, call, true);
  if (output.scalar_type() != input.scalar_type()) invalid(call, "the output and input dtypes differ");
  if (nbytes(input) != nbytes(output) * static_cast<size_t>(size_)) {
    std::ostringstream s;
    s << "the input holds " << input.numel() << " elements, not " << size_ << " x the output's " << output.numel();
    invalid(call, s.str());
  }
  Reduction red = reduction(output, opts.reduceOp, call);
  check_open(call);
  at::Tensor in = input;
  bool inplace = base_of(output) == base_of(input) + rank_ * nbytes(output);
  if (red.premul) {
    in = input.clone(); // the input stays as it was
    premultiply(in, red);
    inplace = false;
  } else if (!inplace && overlap(input, output)) {
    in = input.clone();
  }
  std::vector<at::Tensor> outs = {output};
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::_REDUCE_SCATTER_BASE, "tutti:_reduce_scatter_base",
                                        outs, std::vector<at::Tensor>{input});
  work->keep = {output, input, in};
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r =
        tutti_ireduce_scatter(in.data_ptr(), output.data_ptr(), red.count, red.dtype, red.op, comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

WorkPtr TuttiBackend::reduce_scatter(std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
                                     const ReduceScatterOptions& opts) {
  static const char* call = "reduce_scatter";
  at::Tensor out = single(outputs, call);
  check_tensor(out, call, true);
  if (inputs.size() != 1 || inputs[0].size() != static_cast<size_t>(size_)) {
    std::ostringstream s;
    s << "the inputs must be one list of " << size_ << " tensors";
    invalid(call, s.str());
  }
  check_list(inputs[0], out, call, true, false);
  Reduction red = reduction(out, opts.reduceOp, call);
  check_open(call);
  // (a copy: the inputs stay as they were)
  at::Tensor flat = staging_->get(static_cast<int64_t>(size_) * out.numel(), out.options());
  for (int q = 0; q < size_; q++) flat.narrow(0, q * out.numel(), out.numel()).copy_(inputs[0][q].reshape({-1}));
  if (red.premul) premultiply(flat, red);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::REDUCE_SCATTER, "tutti:reduce_scatter", outputs,
                                        inputs[0]);
  work->keep = {out, flat};
  auto staging = staging_;
  work->finalize = [flat, staging]() { staging->put(flat); };
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_ireduce_scatter(flat.data_ptr(), out.data_ptr(), red.count, red.dtype, red.op, comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

// Split sizes count rows (dimension 0); none: equal blocks.
WorkPtr TuttiBackend::alltoall_base(at::Tensor& output, at::Tensor& input, std::vector<int64_t>& outputSplitSizes,
                                    std::vector<int64_t>& inputSplitSizes, const AllToAllOptions& opts) {
  static const char* call = "alltoall_base";
  check_tensor(output, call, true);
  check_tensor(input, call, true);
  if (output.scalar_type() != input.scalar_type()) invalid(call, "the output and input dtypes differ");
  auto layout = [&](const at::Tensor& t, const std::vector<int64_t>& splits, const char* which, std::vector<size_t>& c,
                    std::vector<size_t>& d) {
    c.assign(size_, 0);
    d.assign(size_, 0);
    size_t total = nbytes(t);
    if (splits.empty()) {
      if (t.dim() == 0 || total % size_ != 0 || t.size(0) % size_ != 0) {
        std::ostringstream s;
        s << "the " << which << " (" << t.sizes() << ") cannot be cut into " << size_
          << " equal blocks along dimension 0: pass split sizes";
        invalid(call, s.str());
      }
      for (int q = 0; q < size_; q++) {
        c[q] = total / size_;
        d[q] = q * c[q];
      }
      return;
    }
    if (splits.size() != static_cast<size_t>(size_)) {
      std::ostringstream s;
      s << which << " split sizes has " << splits.size() << " entries, not " << size_;
      invalid(call, s.str());
    }
    if (t.dim() == 0) invalid(call, std::string("a 0-dimensional ") + which + " with split sizes");
    size_t row = t.size(0) ? total / static_cast<size_t>(t.size(0)) : 0;
    int64_t rows = 0;
    for (int q = 0; q < size_; q++) {
      if (splits[q] < 0) invalid(call, std::string("a negative ") + which + " split size");
      c[q] = static_cast<size_t>(splits[q]) * row;
      d[q] = static_cast<size_t>(rows) * row;
      rows += splits[q];
    }
    if (rows != t.size(0)) {
      std::ostringstream s;
      s << "the " << which << " split sizes add up to " << rows << " rows, the tensor has " << t.size(0);
      invalid(call, s.str());
    }
  };
  std::vector<size_t> sc, sd, rc, rd;
  layout(input, inputSplitSizes, "input", sc, sd);
  layout(output, outputSplitSizes, "output", rc, rd);
  check_open(call);
  at::Tensor in = input;
  bool inplace = base_of(input) == base_of(output) && sc == rc;
  if (!inplace && overlap(input, output)) in = input.clone();
  std::vector<at::Tensor> outs = {output};
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::ALLTOALL_BASE, "tutti:all_to_all", outs,
                                        std::vector<at::Tensor>{input});
  work->keep = {output, in};
  bool equal = inputSplitSizes.empty() && outputSplitSizes.empty();
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    if (equal) {
      tutti_request_t q = nullptr;
      tutti_result_t r =
          tutti_ialltoall(inplace ? output.data_ptr() : in.data_ptr(), output.data_ptr(), sc[0], TUTTI_UINT8, comm_, &q);
      if (r == TUTTI_SUCCESS) reqs.push_back(q);
      return r;
    }
    return post_alltoallv(inplace ? output.data_ptr() : in.data_ptr(), sc, sd, output.data_ptr(), rc, rd, reqs);
  });
}

WorkPtr TuttiBackend::alltoall(std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& inputs,
                               const AllToAllOptions& opts) {
  static const char* call = "alltoall";
  if (outputs.size() != static_cast<size_t>(size_) || inputs.size() != static_cast<size_t>(size_)) {
    std::ostringstream s;
    s << "the input and output lists must hold " << size_ << " tensors each (they hold " << inputs.size() << " and "
      << outputs.size() << ")";
    invalid(call, s.str());
  }
  check_list(inputs, inputs[0], call, false, true);
  check_list(outputs, inputs[0], call, false, true);
  check_open(call);
  std::vector<at::Tensor> ins = inputs;
  for (auto& i : ins)
    for (auto& o : outputs)
      if (overlap(i, o)) i = i.clone();
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::ALLTOALL, "tutti:all_to_all", outputs, inputs);
  work->keep = ins;
  work->keep.insert(work->keep.end(), outputs.begin(), outputs.end());
  std::vector<size_t> sc(size_), sd(size_), rc(size_), rd(size_);
  char *slo = lowest(ins), *rlo = lowest(outputs);
  for (int q = 0; q < size_; q++) {
    sc[q] = nbytes(ins[q]);
    sd[q] = offset_from(ins[q], slo);
    rc[q] = nbytes(outputs[q]);
    rd[q] = offset_from(outputs[q], rlo);
  }
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    return post_alltoallv(slo, sc, sd, rlo, rc, rd, reqs);
  });
}

WorkPtr TuttiBackend::barrier(const BarrierOptions& opts) {
  static const char* call = "barrier";
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::BARRIER, "tutti:barrier", std::vector<at::Tensor>{},
                                        c10::nullopt);
  return post(coll_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_ibarrier(comm_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

// Point-to-point on its own communicator; the tag is not matched (messages
// between two ranks match in posting order, which is what the tags of
// PyTorch's own uses amount to).
WorkPtr TuttiBackend::send(std::vector<at::Tensor>& tensors, int dstRank, int tag) {
  static const char* call = "send";
  at::Tensor t = single(tensors, call);
  check_tensor(t, call, true);
  if (dstRank < 0 || dstRank >= size_ || dstRank == rank_) invalid(call, "the destination must be another rank");
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::SEND, "tutti:send", tensors, tensors);
  work->keep = tensors;
  return post(pt2pt_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_isend(t.data_ptr(), nbytes(t), TUTTI_UINT8, dstRank, p2p_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

WorkPtr TuttiBackend::recv(std::vector<at::Tensor>& tensors, int srcRank, int tag) {
  static const char* call = "recv";
  at::Tensor t = single(tensors, call);
  check_tensor(t, call, true);
  if (srcRank < 0 || srcRank >= size_ || srcRank == rank_)
    invalid(call, "the source must be another rank (tutti has no receive from any source)");
  check_open(call);
  auto work = c10::make_intrusive<Work>(rank_, c10d::OpType::RECV, "tutti:recv", tensors, c10::nullopt);
  work->keep = tensors;
  work->source_rank = srcRank;
  return post(pt2pt_, work, call, [&](std::vector<tutti_request_t>& reqs) {
    tutti_request_t q = nullptr;
    tutti_result_t r = tutti_irecv(t.data_ptr(), nbytes(t), TUTTI_UINT8, srcRank, p2p_, &q);
    if (r == TUTTI_SUCCESS) reqs.push_back(q);
    return r;
  });
}

} // namespace tutti_torch
