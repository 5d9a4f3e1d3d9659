// SPDX-License-Identifier: BSD-3-Clause
//
// The backend's lifecycle: rendezvous through PyTorch's store, the two
// communicators, posting, close (destroy or abort).  The operations are in
// ops.cpp.
#include "backend.hpp"

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace tutti_torch {

TuttiBackend::TuttiBackend(int rank, int size, tutti_comm_t comm, tutti_comm_t p2p, std::chrono::milliseconds timeout)
    : Base(rank, size),
      comm_(comm),
      p2p_(p2p),
      failure_(std::make_shared<Failure>()),
      coll_(comm, true, failure_, "collectives"),
      pt2pt_(p2p, false, failure_, "point-to-point"),
      timeout_s_(static_cast<double>(timeout.count()) / 1000.0) {}

TuttiBackend::~TuttiBackend() {
  close(false);
}

// Every member of the group calls this, in the same order for every group.
c10::intrusive_ptr<TuttiBackend> TuttiBackend::create(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                      int size, std::chrono::milliseconds timeout) {
  double secs = static_cast<double>(timeout.count()) / 1000.0;
  if (!(secs > 0)) secs = 1800.0;
  // A generation per creation in this store's prefix: a group re-created
  // under the same name (destroy_process_group, then init again) or a
  // reused store never hands out an earlier id.
  int64_t n = store->add("tutti/creations", 1);
  int64_t gen = (n - 1) / size;
  std::string key = "tutti/unique_id/" + std::to_string(gen);
  tutti_config_t cfg = TUTTI_CONFIG_INIT;
  cfg.init_timeout = secs;
  cfg.timeout = secs;
  cfg.progress_thread = 1; // waits run on the engines' threads, beside the training's computation
  tutti_unique_id_t id;
  if (rank == 0) {
    tutti_result_t r = tutti_get_unique_id_config(&id, &cfg);
    if (r != TUTTI_SUCCESS) raise(r, "init (rank 0: unique id)", tutti_comm_last_error(nullptr));
    std::vector<uint8_t> v(reinterpret_cast<uint8_t*>(id.internal),
                           reinterpret_cast<uint8_t*>(id.internal) + sizeof(id.internal));
    store->set(key, v);
  } else {
    std::vector<uint8_t> v = store->get(key); // waits: the store's timeout
    if (v.size() != sizeof(id.internal)) {
      std::ostringstream s;
      s << "the store's key " << key << " holds " << v.size() << " bytes, not a tutti unique id ("
        << sizeof(id.internal) << ")";
      raise(TUTTI_ERR_INVALID_ARGUMENT, "init", s.str());
    }
    std::memcpy(id.internal, v.data(), sizeof(id.internal));
  }
  tutti_comm_t comm = nullptr, p2p = nullptr;
  tutti_result_t r = tutti_comm_init_rank_config(&comm, size, id, rank, &cfg);
  if (r != TUTTI_SUCCESS) raise(r, "init", tutti_comm_last_error(nullptr));
  // point-to-point on a communicator of its own (the same ranks)
  r = tutti_comm_split(comm, 0, rank, &p2p);
  if (r != TUTTI_SUCCESS) {
    std::string why = tutti_comm_last_error(comm);
    tutti_comm_abort(comm);
    raise(r, "init (point-to-point communicator)", why);
  }
  return c10::make_intrusive<TuttiBackend>(rank, size, comm, p2p, timeout);
}

void TuttiBackend::close(bool abort) {
  if (closed_.exchange(true)) return;
  {
    // no post is half-way: later ones see closed_
    std::lock_guard<std::mutex> g(post_mu_);
  }
  if (abort) {
    tutti_comm_abort(p2p_);
    tutti_comm_abort(comm_);
  }
  // the engines finish what is queued (after an abort: at once, ABORTED)
  pt2pt_.stop();
  coll_.stop();
  if (!abort) {
    tutti_comm_destroy(p2p_);
    tutti_comm_destroy(comm_);
  }
}

std::string TuttiBackend::describe() {
  char buf[512];
  if (closed_ || tutti_comm_describe(comm_, buf, sizeof(buf)) != TUTTI_SUCCESS) return "closed";
  return buf;
}

void TuttiBackend::check_open(const char* call) {
  if (closed_) raise(TUTTI_ERR_INVALID_USAGE, call, "the process group was shut down or aborted");
  if (auto e = failure_->get()) std::rethrow_exception(e);
}

WorkPtr TuttiBackend::post(Engine& eng, const c10::intrusive_ptr<Work>& work, const char* call,
                           const std::function<tutti_result_t(std::vector<tutti_request_t>&)>& fn) {
  Entry e;
  e.work = work;
  e.call = call;
  std::lock_guard<std::mutex> g(post_mu_);
  check_open(call);
  tutti_result_t r = fn(e.reqs);
  if (r != TUTTI_SUCCESS) {
    std::string detail = tutti_comm_last_error(eng.comm());
    if (e.reqs.empty()) {
      // nothing runs: bad input leaves the group usable; a broken
      // communicator reports its first failure
      if (r == TUTTI_ERR_INVALID_USAGE)
        if (auto first = failure_->get()) std::rethrow_exception(first);
      raise(r, call, detail);
    }
    // some requests of the call run: they finish, then the work fails
    e.post_error = make_error(r, call, detail);
  }
  eng.push(std::move(e));
  return work;
}

tutti_result_t TuttiBackend::post_alltoallv(const void* sbase, const std::vector<size_t>& sc,
                                            const std::vector<size_t>& sd, void* rbase, const std::vector<size_t>& rc,
                                            const std::vector<size_t>& rd, std::vector<tutti_request_t>& reqs) {
  tutti_request_t q = nullptr;
  tutti_result_t r = tutti_ialltoallv(sbase, sc.data(), sd.data(), rbase, rc.data(), rd.data(), TUTTI_UINT8, comm_, &q);
  if (r == TUTTI_SUCCESS) reqs.push_back(q);
  return r;
}

} // namespace tutti_torch
