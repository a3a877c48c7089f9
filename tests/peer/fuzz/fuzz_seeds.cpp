// Writes a seed corpus for the peer fuzz targets into two directories: valid conversations, so
// that the fuzzers start from inputs that reach past the handshake. Usage:
//   peer_fuzz_seeds FRAMES_DIR HANDSHAKE_DIR
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <fstream>
#include <string>
#include <vector>

#include "hamon/peer/bytes.hpp"
#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/payload.hpp"
#include "hamon/peer/session.hpp"
#include "hamon/peer/snapshot.hpp"

namespace {

using namespace hamon::peer;
using Bytes = std::vector<std::uint8_t>;

SharedKey cluster_key() {  // the fuzz targets' key
  std::array<std::uint8_t, key_size> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 13 + 1);
  return SharedKey(k);
}

Nonce nonce(std::uint8_t seed) {
  Nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(seed + i);
  return n;
}

Session session(End end, const char* self, const char* peer) {
  auto s = Session::create(end, SessionConfig{"fuzz", self, {peer}, 5}, cluster_key(),
                           nonce(end == End::initiator ? 1 : 2));
  if (!s) throw std::runtime_error(s.error().message);
  return std::move(s).value();
}

void save(const std::string& dir, const std::string& name, std::uint8_t first, const Bytes& b) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.put(static_cast<char>(first));
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<Message> sample_messages() {
  Table table;
  table.state_seq = 3;
  table.tenants.push_back(TenantRecord{"acme", TenantRole::active, 4, 0});
  for (int i = 0; i < 3; ++i) {
    table.processes.push_back(ProcessRecord{"acme", "p" + std::to_string(i), ProcessState::running,
                                            true, i == 0, 100 + i, 7, 1});
  }
  std::vector<Message> out{Heartbeat{1, 2, 3, 3}};
  for (SnapshotChunk& c : split_snapshot(table)) out.emplace_back(std::move(c));
  out.emplace_back(Delta{4, {}, {table.processes[1]}});
  out.emplace_back(Resync{4});
  out.emplace_back(Goodbye{0, "bye"});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FRAMES_DIR HANDSHAKE_DIR\n", argv[0]);
    return 100;
  }
  const std::string frames_dir = argv[1];
  const std::string handshake_dir = argv[2];

  Session a = session(End::initiator, "a", "b");
  Session b = session(End::responder, "b", "a");
  Bytes hello, welcome, rest;
  a.write_hello(hello);
  {
    FrameDecoder dec;
    dec.feed(hello);
    auto h = dec.next();
    if (!h || !*h || !b.receive(**h, welcome)) return 1;
    FrameDecoder back;
    back.feed(welcome);
    auto w = back.next();
    Bytes none;
    if (!w || !*w || !a.receive(**w, none)) return 1;
  }
  for (const Message& m : sample_messages()) {
    if (!a.write(m, rest)) return 1;
  }
  Bytes conversation = hello;
  conversation.insert(conversation.end(), rest.begin(), rest.end());

  save(frames_dir, "conversation", 7, conversation);
  save(frames_dir, "welcome", 1, welcome);
  save(handshake_dir, "responder", 0, conversation);
  save(handshake_dir, "initiator", 1, welcome);
  // Mode 2: {u8 type, u8 tweak, u16 length, payload} per frame, signed by the target.
  Bytes records;
  Writer w(records);
  for (const Message& m : sample_messages()) {
    Bytes payload;
    if (!encode_payload(m, payload)) return 1;
    w.u8(static_cast<std::uint8_t>(static_cast<int>(type_of(m)) - 1));
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(payload.size()));
    w.bytes(payload);
  }
  save(handshake_dir, "signed", 2, records);
  return 0;
}
