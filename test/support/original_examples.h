// The INI-era READMEs' example configurations (reference Appendix A) for the
// tests that run them: each is a [Logging] section to syslog and an openHAB
// connection named openHAB, then the section of its class. The openHAB
// double's URL replaces http://localhost:8080; nothing else changes.
#pragma once

#include <fmt/format.h>

#include <string>

namespace sr::test {

inline std::string original_openhab_head(const std::string& url) {
  return fmt::format(R"([Logging]
Syslog = YES
Level = INFO

[Connection1]
Class = openhab_rest.rest_conn.OpenhabREST
Name = openHAB
URL = {}
RefreshItem = Test_Refresh
Level = INFO
)",
                     url);
}

}  // namespace sr::test
