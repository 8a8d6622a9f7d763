// The fuzzer's seed corpus (fuzz/corpus/sync_decode) is what SampleCorpus()
// encodes today, and every seed decodes without error, so the fuzzer starts
// from valid frames of every type. Regenerate after changing the samples or
// the encoding: build/fuzz/sync_corpus_writer fuzz/corpus/sync_decode

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "statesync/wire/wire_samples.h"
#include "statesync/wire/wire_test_util.h"

namespace hafw::statesync {
namespace {

std::string CorpusDir() {
  const char* source = std::getenv("HAFW_SOURCE_DIR");
  return std::string(source != nullptr ? source : ".") + "/fuzz/corpus/sync_decode";
}

TEST(WireCorpusTest, SeedsAreUpToDateAndDecode) {
  const auto corpus = SampleCorpus();
  ASSERT_GE(corpus.size(), 7U);
  for (const auto& [name, bytes] : corpus) {
    SCOPED_TRACE(name);
    std::ifstream file(CorpusDir() + "/" + name, std::ios::binary);
    ASSERT_TRUE(file.good()) << "missing seed " << CorpusDir() << "/" << name;
    const std::vector<uint8_t> stored((std::istreambuf_iterator<char>(file)),
                                      std::istreambuf_iterator<char>());
    EXPECT_EQ(stored, bytes) << "stale seed: regenerate with sync_corpus_writer";
    const DecodeRun run = DecodeStream(bytes);
    EXPECT_FALSE(run.failure.has_value());
    EXPECT_GE(run.messages.size(), 1U);
    EXPECT_EQ(run.buffered, 0U);
  }
}

}  // namespace
}  // namespace hafw::statesync
