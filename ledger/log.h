// Structured logs: one line per event in logfmt (ts=… level=… msg="…" key=value …) on
// stderr, which systemd's journal and any log shipper take as they are. Levels below the
// configured one are dropped. Thread-safe: a line is written with one call.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace nanum {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kFatal = 4 };

// "debug", "info", "warn", "error"; false for anything else.
bool ParseLevel(std::string_view name, Level* out);
void SetLogLevel(Level level);

using Field = std::pair<std::string_view, std::string>;
void Log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

}  // namespace nanum
