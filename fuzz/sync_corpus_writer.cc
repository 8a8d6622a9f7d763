// Writes the sync decoder fuzzer's seed corpus (SampleCorpus() of
// statesync/wire/wire_samples.h) into a folder, one file per seed:
//   build/fuzz/sync_corpus_writer fuzz/corpus/sync_decode
// statesync_wire_test checks that the committed corpus is up to date.

#include <cstdio>
#include <fstream>
#include <string>

#include "statesync/wire/wire_samples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  for (const auto& [name, bytes] : hafw::statesync::SampleCorpus()) {
    std::string path = dir;
    path += '/';
    path += name;
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    if (!file) {
      std::fprintf(stderr, "sync_corpus_writer: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
  }
  return 0;
}
