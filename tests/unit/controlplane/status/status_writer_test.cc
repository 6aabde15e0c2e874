// What the status writer writes on a weft.dev resource, and when it leaves it alone.
#include "controlplane/status/status_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace weft::controlplane {
namespace {

ResourceOutcome accepted(int64_t generation) {
  ResourceOutcome outcome;
  outcome.id = ObjectId{ObjectKind::kTrafficRoute, "shop", "canary"};
  outcome.plural = "trafficroutes";
  outcome.generation = generation;
  outcome.accepted = true;
  return outcome;
}

TEST(StatusWriterTest, NewResourceGetsAcceptedWithItsGeneration) {
  const ResourceOutcome outcome = accepted(2);
  const AcceptedCondition desired = desiredCondition(outcome, "2026-11-28T10:00:00Z");
  EXPECT_EQ(desired.status, "True");
  EXPECT_EQ(desired.reason, "Accepted");
  EXPECT_EQ(desired.observed_generation, 2);
  EXPECT_EQ(desired.last_transition_time, "2026-11-28T10:00:00Z");
  EXPECT_TRUE(statusNeedsWrite(outcome, desired));

  const auto patch = boost::json::parse(statusPatch(outcome, desired)).as_object();
  const auto& status = patch.at("status").as_object();
  EXPECT_EQ(status.at("observedGeneration").as_int64(), 2);
  const auto& condition = status.at("conditions").as_array().at(0).as_object();
  EXPECT_EQ(condition.at("type").as_string(), "Accepted");
  EXPECT_EQ(condition.at("status").as_string(), "True");
  EXPECT_EQ(condition.at("observedGeneration").as_int64(), 2);
  EXPECT_EQ(condition.at("lastTransitionTime").as_string(), "2026-11-28T10:00:00Z");
}

TEST(StatusWriterTest, StatusAlreadyRightIsNotWrittenAgain) {
  ResourceOutcome outcome = accepted(3);
  AcceptedCondition written = desiredCondition(outcome, "2026-11-28T10:00:00Z");
  outcome.current = written;
  outcome.status_observed_generation = 3;
  const AcceptedCondition desired = desiredCondition(outcome, "2026-11-28T11:00:00Z");
  EXPECT_EQ(desired.last_transition_time, "2026-11-28T10:00:00Z");
  EXPECT_FALSE(statusNeedsWrite(outcome, desired));
}

TEST(StatusWriterTest, NewGenerationIsWrittenWithoutMovingTheTransitionTime) {
  ResourceOutcome outcome = accepted(3);
  outcome.current = desiredCondition(outcome, "2026-11-28T10:00:00Z");
  outcome.status_observed_generation = 3;
  outcome.generation = 4;  // the spec was edited, and is still valid
  const AcceptedCondition desired = desiredCondition(outcome, "2026-11-28T11:00:00Z");
  EXPECT_TRUE(statusNeedsWrite(outcome, desired));
  EXPECT_EQ(desired.observed_generation, 4);
  EXPECT_EQ(desired.last_transition_time, "2026-11-28T10:00:00Z");
}

TEST(StatusWriterTest, RefusalNamesEveryFieldAndMovesTheTransitionTime) {
  ResourceOutcome outcome = accepted(5);
  outcome.current = desiredCondition(outcome, "2026-11-28T10:00:00Z");
  outcome.status_observed_generation = 5;
  outcome.accepted = false;
  outcome.errors = {"spec.rules[0].backends[0].weight: must be at most 100",
                    "spec.hosts: must not be empty"};
  const AcceptedCondition desired = desiredCondition(outcome, "2026-11-28T11:00:00Z");
  EXPECT_EQ(desired.status, "False");
  EXPECT_EQ(desired.reason, "Invalid");
  EXPECT_NE(desired.message.find("spec.rules[0].backends[0].weight: must be at most 100; "
                                 "spec.hosts: must not be empty"),
            std::string::npos)
      << desired.message;
  EXPECT_EQ(desired.last_transition_time, "2026-11-28T11:00:00Z");
  EXPECT_TRUE(statusNeedsWrite(outcome, desired));
}

TEST(StatusWriterTest, HugeRefusalIsCutToABoundedMessage) {
  ResourceOutcome outcome = accepted(1);
  outcome.accepted = false;
  outcome.errors.assign(1000, std::string(100, 'x'));
  const AcceptedCondition desired = desiredCondition(outcome, "2026-11-28T11:00:00Z");
  EXPECT_LT(desired.message.size(), 4200u);
}

}  // namespace
}  // namespace weft::controlplane
