#include "engine/performer.hpp"

#include "util/secrets.hpp"

namespace drctl {
namespace {

class DescribedOperation : public Operation {
 public:
  explicit DescribedOperation(std::string description) : m_description(std::move(description)) {}
  Outcome run(const AttemptContext&) override {
    Outcome outcome =
        Outcome::fail(Status::skipped, "dry run: would " + redact(m_description), Changed::no);
    return outcome;
  }

 private:
  std::string m_description;
};

}  // namespace

std::unique_ptr<Operation> DryRunPerformer::prepare(const Kind& kind, const Spec& spec) const {
  return std::make_unique<DescribedOperation>(kind.describe(spec));
}

}  // namespace drctl
