// SHA-256 (FIPS 180-4) of a byte string, small and dependency-free: report.json's "model.sha256"
// names the exact model file a report belongs to.
#pragma once

#include <string>
#include <string_view>

namespace qm {

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace qm
