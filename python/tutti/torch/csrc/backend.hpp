// SPDX-License-Identifier: BSD-3-Clause
//
// tutti as a torch.distributed backend: a c10d::ProcessGroup on PyTorch
// 1.x, a c10d::Backend on 2.x (PyTorch wraps it in its own ProcessGroup),
// one source for both.  Two tutti communicators per group: one for the
// collectives, one (split from it at creation) for send / recv, so that
// point-to-point never waits behind a collective nor a collective behind
// it, as PyTorch expects; each has its engine (engine.hpp).
#pragma once

#include "engine.hpp"

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tutti_torch {

#if TORCH_VERSION_MAJOR >= 2
using Base = c10d::Backend;
#else
using Base = c10d::ProcessGroup;
#endif

using c10d::AllgatherOptions;
using c10d::AllreduceCoalescedOptions;
using c10d::AllreduceOptions;
using c10d::AllToAllOptions;
using c10d::BarrierOptions;
using c10d::BroadcastOptions;
using c10d::GatherOptions;
using c10d::ReduceOptions;
using c10d::ReduceScatterOptions;
using c10d::ScatterOptions;
using WorkPtr = c10::intrusive_ptr<c10d::Work>;

class TuttiBackend : public Base {
 public:
  // Takes the communicators (comm: collectives, p2p: point-to-point).
  TuttiBackend(int rank, int size, tutti_comm_t comm, tutti_comm_t p2p, std::chrono::milliseconds timeout);
  ~TuttiBackend() override;

  // The creator PyTorch calls on every member of a new group: rank 0
  // publishes a unique id in the store under a generation key, every rank
  // joins it (timeout: the group's), then the point-to-point split.
  static c10::intrusive_ptr<TuttiBackend> create(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                 std::chrono::milliseconds timeout);

  const std::string getBackendName() const override { return "tutti"; }

  WorkPtr broadcast(std::vector<at::Tensor>& tensors, const BroadcastOptions& opts = BroadcastOptions()) override;
  WorkPtr allreduce(std::vector<at::Tensor>& tensors, const AllreduceOptions& opts = AllreduceOptions()) override;
  WorkPtr allreduce_coalesced(std::vector<at::Tensor>& tensors,
                              const AllreduceCoalescedOptions& opts = AllreduceCoalescedOptions()) override;
  WorkPtr reduce(std::vector<at::Tensor>& tensors, const ReduceOptions& opts = ReduceOptions()) override;
  WorkPtr allgather(std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
                    const AllgatherOptions& opts = AllgatherOptions()) override;
  WorkPtr _allgather_base(at::Tensor& output, at::Tensor& input,
                          const AllgatherOptions& opts = AllgatherOptions()) override;
  WorkPtr gather(std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
                 const GatherOptions& opts = GatherOptions()) override;
  WorkPtr scatter(std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
                  const ScatterOptions& opts = ScatterOptions()) override;
  WorkPtr reduce_scatter(std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
                         const ReduceScatterOptions& opts = ReduceScatterOptions()) override;
  WorkPtr _reduce_scatter_base(at::Tensor& output, at::Tensor& input,
                               const ReduceScatterOptions& opts = ReduceScatterOptions()) override;
  WorkPtr alltoall_base(at::Tensor& output, at::Tensor& input, std::vector<int64_t>& outputSplitSizes,
                        std::vector<int64_t>& inputSplitSizes,
                        const AllToAllOptions& opts = AllToAllOptions()) override;
  WorkPtr alltoall(std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& inputs,
                   const AllToAllOptions& opts = AllToAllOptions()) override;
  WorkPtr send(std::vector<at::Tensor>& tensors, int dstRank, int tag) override;
  WorkPtr recv(std::vector<at::Tensor>& tensors, int srcRank, int tag) override;
  WorkPtr barrier(const BarrierOptions& opts = BarrierOptions()) override;
#ifdef TUTTI_TORCH_BACKEND_SHUTDOWN
  void shutdown() override { close(false); }
#endif
#ifdef TUTTI_TORCH_BACKEND_ABORT
  void abort() override { close(true); }
#endif

  // Ends the group: abort = false waits for what is queued (each within
  // the deadline) then destroys the communicators; abort = true ends every
  // pending operation with TUTTI_ERR_ABORTED first.  Idempotent.
  void close(bool abort);
  // One line: ranks, nodes, transports (tutti_comm_describe).
  std::string describe();
  double timeout_seconds() const { return timeout_s_; }
  // The collectives' communicator (benchmarks: tutti's own call on it).
  tutti_comm_t comm() const { return comm_; }

 private:
  // Posts the requests `post` makes (under the posting lock, so the queue
  // is in posting order) and queues them on the engine; throws the
  // group's first failure if it failed before.
  WorkPtr post(Engine& eng, const c10::intrusive_ptr<Work>& work, const char* call,
               const std::function<tutti_result_t(std::vector<tutti_request_t>&)>& fn);
  // alltoallv in bytes (gather, scatter, uneven all-gather, all-to-all lists).
  tutti_result_t post_alltoallv(const void* sbase, const std::vector<size_t>& sc, const std::vector<size_t>& sd,
                                void* rbase, const std::vector<size_t>& rc, const std::vector<size_t>& rd,
                                std::vector<tutti_request_t>& reqs);
  void check_open(const char* call);

  tutti_comm_t comm_, p2p_;
  std::shared_ptr<Failure> failure_;
  Engine coll_, pt2pt_;
  std::shared_ptr<Staging> staging_ = std::make_shared<Staging>();
  std::mutex post_mu_;
  std::atomic<bool> closed_{false};
  double timeout_s_;
};

} // namespace tutti_torch
