// Network namespaces for the tests that need a wire of their own: the Dash
// button frames and the SSDP search (test/integration/test_wire.cpp, the
// Dash benchmark). Everything is created inside namespaces that belong to
// processes of the test, so it all disappears with them: nothing named,
// nothing on the machine's own interfaces, nothing to clean up after a
// crash.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sr::test {

// Moves the calling process into a new network namespace with only its
// loopback interface, up. Call it before any thread starts (threads made
// later inherit the namespace; earlier ones stay outside). False, with
// `why`, when the kernel refuses (no CAP_SYS_ADMIN: not root) or a tool is
// missing: the caller then skips (exit 77) and says why.
bool enter_new_netns(std::string& why);

// The full path of a system tool (ip, nsenter, setpriv), or "" when absent.
std::string find_tool(const std::string& name);

// Runs `ip ARGS...` in this process's namespace, or with `in_pid` in that
// process's (through nsenter); throws with ip's stderr when it fails.
void ip(const std::vector<std::string>& args, pid_t in_pid = 0);

// The index of interface `name` in this namespace (0 when there is none).
unsigned interface_index(const std::string& name);

}  // namespace sr::test
