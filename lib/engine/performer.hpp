#pragma once
// How an action is carried out. The live performer prepares the kind's real Operation; the
// dry-run performer prepares one that only says what it would do. Dry-run is this one
// substitution, not an `if` inside every kind.
#include <memory>

#include "core/kind.hpp"

namespace drctl {

class Performer {
 public:
  virtual ~Performer() = default;
  virtual std::unique_ptr<Operation> prepare(const Kind& kind, const Spec& spec) const = 0;
  virtual bool live() const = 0;
};

class LivePerformer : public Performer {
 public:
  std::unique_ptr<Operation> prepare(const Kind& kind, const Spec& spec) const override {
    return kind.prepare(spec);
  }
  bool live() const override { return true; }
};

class DryRunPerformer : public Performer {
 public:
  std::unique_ptr<Operation> prepare(const Kind& kind, const Spec& spec) const override;
  bool live() const override { return false; }
};

}  // namespace drctl
