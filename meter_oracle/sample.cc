// The edge conversions; see sample.h.
#include "meter_oracle/sample.h"

#include <cmath>
#include <limits>

namespace nanum::oracle {
namespace {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

}  // namespace

std::uint64_t Pow10(int p) {
  std::uint64_t v = 1;
  for (int i = 0; i < p; ++i) v *= 10;
  return v;
}

std::uint64_t RegisterWh(const Scaled& kwh) {
  if (kwh.raw <= 0 || kwh.divisor == 0) return 0;
  const u128 wh = static_cast<u128>(kwh.raw) * kwh.multiplier * 1000 / kwh.divisor;
  return wh > std::numeric_limits<std::uint64_t>::max() ? std::numeric_limits<std::uint64_t>::max()
                                                          : static_cast<std::uint64_t>(wh);
}

std::int64_t Milli(const Scaled& v) {
  if (v.divisor == 0) return 0;
  const i128 num = static_cast<i128>(v.raw) * static_cast<i128>(v.multiplier) * 1000;
  const i128 div = static_cast<i128>(v.divisor);
  const i128 q = (num >= 0 ? num + div / 2 : num - div / 2) / div;  // to nearest, halves away from zero
  if (q > std::numeric_limits<std::int64_t>::max()) return std::numeric_limits<std::int64_t>::max();
  if (q < std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(q);
}

bool FromNumber(double value, std::uint64_t divisor, Scaled* out) {
  if (!std::isfinite(value) || divisor == 0) return false;
  const double scaled = std::round(value * static_cast<double>(divisor));
  if (std::fabs(scaled) > 9.0e15) return false;  // beyond a double's exact integers
  *out = Scaled{static_cast<std::int64_t>(scaled), 1, divisor};
  return true;
}

Scaled PowerOfTen(std::int64_t raw, int p) {
  if (p >= 0) return Scaled{raw, Pow10(p), 1};
  return Scaled{raw, 1, Pow10(-p)};
}

}  // namespace nanum::oracle
