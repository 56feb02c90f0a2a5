// A classic BPF interpreter for tests: runs a socket filter on a frame the
// way the kernel's sk_run_filter does (net/core/filter.c, Documentation/
// networking/filter.rst), for the instructions socket filters use: loads
// (absolute, indirect, MSH, immediate, the pkttype ancillary word),
// ALU with constants, conditional and unconditional jumps, returns. A load
// past the end of the frame ends the program with 0 (drop), as in the
// kernel; an instruction outside that set throws, so a filter that grows
// one fails its test instead of being judged wrongly.
//
// Written from the documentation, not from dash_frame.cpp: the unit test
// and fuzz_dash_frame use it to check the filter DashSensor attaches.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sr::test {

// The number of bytes the filter accepts (0: dropped).
inline uint32_t run_cbpf(const std::vector<sock_filter>& program, std::span<const uint8_t> packet,
                         uint32_t pkttype) {
  uint32_t a = 0, x = 0;
  constexpr uint32_t kAncillary = static_cast<uint32_t>(SKF_AD_OFF);
  auto load = [&](uint32_t offset, uint32_t size, bool& ok) -> uint32_t {
    if (offset >= kAncillary && size == 4) {
      if (offset == kAncillary + SKF_AD_PKTTYPE) return pkttype;
      throw std::logic_error("ancillary load " + std::to_string(offset - kAncillary) + " not modelled");
    }
    if (offset > packet.size() || packet.size() - offset < size) {
      ok = false;
      return 0;
    }
    uint32_t value = 0;
    for (uint32_t i = 0; i < size; ++i) value = value << 8 | packet[offset + i];
    return value;
  };
  auto size_of = [](uint16_t code) -> uint32_t {
    switch (BPF_SIZE(code)) {
      case BPF_W: return 4;
      case BPF_H: return 2;
      case BPF_B: return 1;
    }
    throw std::logic_error("bad load size");
  };
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& in = program[pc];
    bool ok = true;
    switch (BPF_CLASS(in.code)) {
      case BPF_LD:
        switch (BPF_MODE(in.code)) {
          case BPF_ABS: a = load(in.k, size_of(in.code), ok); break;
          case BPF_IND: a = load(x + in.k, size_of(in.code), ok); break;
          case BPF_IMM: a = in.k; break;
          default: throw std::logic_error("LD mode not modelled");
        }
        break;
      case BPF_LDX:
        if (in.code == (BPF_LDX | BPF_B | BPF_MSH))
          x = 4 * (load(in.k, 1, ok) & 0x0f);
        else if (in.code == (BPF_LDX | BPF_W | BPF_IMM))
          x = in.k;
        else
          throw std::logic_error("LDX mode not modelled");
        break;
      case BPF_ALU:
        if (BPF_SRC(in.code) != BPF_K) throw std::logic_error("ALU X not modelled");
        switch (BPF_OP(in.code)) {
          case BPF_AND: a &= in.k; break;
          case BPF_OR: a |= in.k; break;
          case BPF_ADD: a += in.k; break;
          case BPF_SUB: a -= in.k; break;
          case BPF_RSH: a = in.k >= 32 ? 0 : a >> in.k; break;
          case BPF_LSH: a = in.k >= 32 ? 0 : a << in.k; break;
          default: throw std::logic_error("ALU op not modelled");
        }
        break;
      case BPF_JMP: {
        if (BPF_OP(in.code) == BPF_JA) {
          pc += in.k;
          break;
        }
        if (BPF_SRC(in.code) != BPF_K) throw std::logic_error("JMP X not modelled");
        bool taken = false;
        switch (BPF_OP(in.code)) {
          case BPF_JEQ: taken = a == in.k; break;
          case BPF_JGT: taken = a > in.k; break;
          case BPF_JGE: taken = a >= in.k; break;
          case BPF_JSET: taken = (a & in.k) != 0; break;
          default: throw std::logic_error("JMP op not modelled");
        }
        pc += taken ? in.jt : in.jf;
        break;
      }
      case BPF_RET:
        if (BPF_RVAL(in.code) == BPF_K) return in.k;
        if (BPF_RVAL(in.code) == BPF_A) return a;
        throw std::logic_error("RET X not modelled");
      default: throw std::logic_error("instruction class not modelled");
    }
    if (!ok) return 0;
  }
  throw std::logic_error("the program ran off its end (the kernel refuses such a filter)");
}

}  // namespace sr::test
