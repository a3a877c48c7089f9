#include "hamon/peer/payload.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>

#include "hamon/engine/names.hpp"
#include "hamon/peer/bytes.hpp"

namespace hamon::peer {
namespace {

using base::Errc;

constexpr std::uint8_t flag_ready = 1;
constexpr std::uint8_t flag_critical = 2;
constexpr std::uint8_t known_flags = flag_ready | flag_critical;
constexpr std::uint8_t tenant_flag_asks = 1;
// The smallest encodings, which bound how many records a payload can claim to hold.
constexpr std::size_t min_tenant_record_size = 1 + 1 + 1 + 8 + 4;
constexpr std::size_t min_process_record_size = 1 + 1 + 1 + 1 + 1 + 1 + 4 + 8 + 4;

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// --- encoding ---------------------------------------------------------------------------------

class Encoder {
 public:
  explicit Encoder(std::vector<std::uint8_t>& out) : w_(out) {}

  void name(std::string_view what, std::string_view s, bool process = false) {
    const bool valid = process ? engine::is_valid_process_name(s) : engine::is_valid_name(s);
    if (!valid && error_.empty()) {
      error_ = std::string(what) + ": invalid name '" + std::string(s.substr(0, 64)) + "' (" +
               std::string(engine::name_rule) + ")";
    }
    w_.str8(s.substr(0, 255));
  }
  void check(bool good, std::string_view why) {
    if (!good && error_.empty()) error_ = std::string(why);
  }
  void tenant(const TenantRecord& t) {
    name("tenant", t.name);
    check(static_cast<std::uint8_t>(t.role) <= max_tenant_role, "tenant role out of range");
    w_.u8(static_cast<std::uint8_t>(t.role));
    w_.u64(t.epoch);
    w_.u32(t.critical_failures);
    w_.u8(t.asks ? tenant_flag_asks : 0);
  }
  void process(const ProcessRecord& p) {
    name("process group", p.group);
    name("process", p.name, true);
    check(static_cast<std::uint8_t>(p.state) <= max_process_state, "process state out of range");
    check(p.pid >= 0, "negative pid");
    w_.u8(static_cast<std::uint8_t>(p.state));
    w_.u8(static_cast<std::uint8_t>((p.ready ? flag_ready : 0) | (p.critical ? flag_critical : 0)));
    w_.u32(static_cast<std::uint32_t>(p.pid));
    w_.u64(p.incarnation);
    w_.u32(p.restarts);
  }
  template <class Record, class F>
  void list(std::string_view what, const std::vector<Record>& records, F each) {
    if (records.size() > 0xffff) {
      check(false, std::to_string(records.size()) + " " + std::string(what) + " records");
    }
    w_.u16(static_cast<std::uint16_t>(records.size()));
    for (const Record& r : records) (this->*each)(r);
  }

  void operator()(const Hello& m) { greeting(m.cluster, m.node, m.nonce); }
  void operator()(const Welcome& m) { greeting(m.cluster, m.node, m.nonce); }
  void operator()(const Heartbeat& m) {
    w_.u64(m.sent_ns);
    w_.u64(m.echo_sent_ns);
    w_.u64(m.echo_held_ns);
    w_.u64(m.state_seq);
  }
  void operator()(const SnapshotChunk& m) {
    w_.u64(m.state_seq);
    w_.u32(m.index);
    w_.u32(m.count);
    list("tenant", m.tenants, &Encoder::tenant);
    list("process", m.processes, &Encoder::process);
  }
  void operator()(const Delta& m) {
    w_.u64(m.state_seq);
    list("tenant", m.tenants, &Encoder::tenant);
    list("process", m.processes, &Encoder::process);
  }
  void operator()(const Resync& m) { w_.u64(m.state_seq); }
  void operator()(const Goodbye& m) {
    check(m.text.size() <= max_goodbye_text && printable(m.text),
          "goodbye text must be at most 255 printable ASCII characters");
    check(m.reason == 0 || is_reason(m.reason), "goodbye reason out of range");
    w_.u16(m.reason);
    w_.str8(std::string_view(m.text).substr(0, max_goodbye_text));
  }

  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  void greeting(const std::string& cluster, const std::string& node, const Nonce& nonce) {
    name("cluster", cluster);
    name("node", node);
    w_.bytes(nonce);
  }

  Writer w_;
  std::string error_;
};

// --- decoding ---------------------------------------------------------------------------------

// Where a field is, for a message built only when the field is wrong: "process 3 group".
struct Where {
  const char* record = "";  // "cluster", "process", ...
  std::size_t index = 0;    // 1-based in its list; 0: not in a list
  const char* field = "";   // " group", or ""

  [[nodiscard]] std::string str() const {
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict overlap for
    // `"literal" + std::string&&` (its bug 105651).
    std::string s = record;
    if (index != 0) s.append(" ").append(std::to_string(index));
    return s.append(field);
  }
};

class Decoder {
 public:
  Decoder(FrameType type, std::span<const std::uint8_t> payload) : type_(type), r_(payload) {}

  std::string name(const Where& where, bool process = false) {
    std::string s = r_.str8();
    const bool valid = process ? engine::is_valid_process_name(s) : engine::is_valid_name(s);
    if (r_.ok() && !valid) fail(where.str() + ": invalid name");
    return s;
  }
  TenantRecord tenant(const Where& where) {
    TenantRecord t;
    t.name = name(where);
    const std::uint8_t role = r_.u8();
    if (role > max_tenant_role) {
      fail(where.str() + ": role " + std::to_string(role) + " is not a role");
    }
    t.role = static_cast<TenantRole>(role);
    t.epoch = r_.u64();
    t.critical_failures = r_.u32();
    const std::uint8_t flags = r_.u8();
    if ((flags & ~tenant_flag_asks) != 0) {
      fail(where.str() + ": tenant flags " + std::to_string(flags) + " has unknown bits");
    }
    t.asks = (flags & tenant_flag_asks) != 0;
    return t;
  }
  ProcessRecord process(const Where& where) {
    ProcessRecord p;
    p.group = name({where.record, where.index, " group"});
    p.name = name(where, true);
    const std::uint8_t state = r_.u8();
    if (state > max_process_state) {
      fail(where.str() + ": state " + std::to_string(state) + " is not a process state");
    }
    p.state = static_cast<ProcessState>(state);
    const std::uint8_t flags = r_.u8();
    if ((flags & ~known_flags) != 0) {
      fail(where.str() + ": unknown flag bits " + std::to_string(flags & ~known_flags));
    }
    p.ready = (flags & flag_ready) != 0;
    p.critical = (flags & flag_critical) != 0;
    p.pid = static_cast<std::int32_t>(r_.u32());
    if (p.pid < 0) fail(where.str() + ": negative pid " + std::to_string(p.pid));
    p.incarnation = r_.u64();
    p.restarts = r_.u32();
    return p;
  }
  template <class Record, class F>
  std::vector<Record> list(const char* what, std::size_t min_size, F each) {
    const std::size_t n = r_.u16();
    std::vector<Record> out;
    // A count is only a claim: reserve no more than the bytes left could hold.
    out.reserve(std::min(n, r_.remaining() / min_size));
    for (std::size_t i = 0; i < n && r_.ok() && error_.empty(); ++i) {
      out.push_back((this->*each)(Where{what, i + 1}));
    }
    return out;
  }

  Message hello() {
    Hello h;
    h.cluster = name({"cluster"});
    h.node = name({"node"});
    r_.bytes(h.nonce);
    return h;
  }
  Message welcome() {
    Welcome w;
    w.cluster = name({"cluster"});
    w.node = name({"node"});
    r_.bytes(w.nonce);
    return w;
  }
  Message heartbeat() {
    Heartbeat h;
    h.sent_ns = r_.u64();
    h.echo_sent_ns = r_.u64();
    h.echo_held_ns = r_.u64();
    h.state_seq = r_.u64();
    return h;
  }
  Message snapshot() {
    SnapshotChunk s;
    s.state_seq = r_.u64();
    s.index = r_.u32();
    s.count = r_.u32();
    if (r_.ok() && (s.count == 0 || s.index >= s.count)) {
      fail("chunk " + std::to_string(s.index) + " of " + std::to_string(s.count));
    }
    s.tenants = list<TenantRecord>("tenant", min_tenant_record_size, &Decoder::tenant);
    s.processes = list<ProcessRecord>("process", min_process_record_size, &Decoder::process);
    return s;
  }
  Message delta() {
    Delta d;
    d.state_seq = r_.u64();
    d.tenants = list<TenantRecord>("tenant", min_tenant_record_size, &Decoder::tenant);
    d.processes = list<ProcessRecord>("process", min_process_record_size, &Decoder::process);
    return d;
  }
  Message resync() { return Resync{r_.u64()}; }
  Message goodbye() {
    Goodbye g;
    g.reason = r_.u16();
    if (r_.ok() && g.reason != 0 && !is_reason(g.reason)) {
      fail("reason " + std::to_string(g.reason) + " is not a reason");
    }
    g.text = r_.str8();
    if (r_.ok() && !printable(g.text)) fail("text is not printable ASCII");
    return g;
  }

  Checked<Message> decode() {
    Message m = [&] {
      switch (type_) {
        case FrameType::hello: return hello();
        case FrameType::welcome: return welcome();
        case FrameType::heartbeat: return heartbeat();
        case FrameType::snapshot: return snapshot();
        case FrameType::delta: return delta();
        case FrameType::resync: return resync();
        case FrameType::goodbye: return goodbye();
      }
      return Message{Resync{}};
    }();
    const std::string what{to_string(type_)};
    if (!error_.empty()) return reject(Reason::malformed, what + ": " + error_);
    if (!r_.ok()) return reject(Reason::malformed, what + ": the payload ends inside a field");
    if (!r_.done()) {
      return reject(Reason::malformed,
                    what + ": " + std::to_string(r_.remaining()) + " bytes after the last field");
    }
    return m;
  }

 private:
  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }

  FrameType type_;
  Reader r_;
  std::string error_;  // the first field found wrong
};

}  // namespace

std::size_t encoded_size(const TenantRecord& t) noexcept {
  return 1 + t.name.size() + 1 + 8 + 4 + 1;
}

std::size_t encoded_size(const ProcessRecord& p) noexcept {
  return 1 + p.group.size() + 1 + p.name.size() + 1 + 1 + 4 + 8 + 4;
}

base::Status encode_payload(const Message& m, std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  Encoder e(out);
  std::visit(e, m);
  std::string error = e.error();
  const std::size_t size = out.size() - start;
  if (error.empty() && size > max_payload) {
    error = std::to_string(size) + " bytes, above the maximum payload of " +
            std::to_string(max_payload);
  }
  if (!error.empty()) {
    out.resize(start);
    return base::Error{Errc::bad_argument,
                       "cannot encode a " + std::string(to_string(type_of(m))) + ": " + error};
  }
  return base::ok();
}

Checked<Message> decode_payload(FrameType type, std::span<const std::uint8_t> payload) {
  return Decoder(type, payload).decode();
}

FrameType type_of(const Message& m) noexcept {
  // The alternatives are in FrameType order, from hello = 1.
  return static_cast<FrameType>(m.index() + 1);
}

}  // namespace hamon::peer
