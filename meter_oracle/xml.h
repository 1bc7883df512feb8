// A small, strict, namespace-aware XML reader for the IEEE 2030.5 documents the oracle
// accepts. It builds a tree of elements (namespace URI, local name, attributes, text).
//
// What it accepts: XML 1.0 elements, attributes, character data, CDATA sections, comments,
// processing instructions (skipped), the five predefined entities and numeric character
// references, and namespace declarations (default and prefixed). What it refuses, with the
// line and column: DOCTYPE declarations (so no entity expansion, internal or external),
// unknown entities, undeclared prefixes, mismatched or unclosed tags, duplicate attributes,
// text outside the root, nesting deeper than kMaxDepth, more than kMaxElements elements.
// Callers bound the document's size before parsing.
//
// Thread safety: plain functions and values.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace nanum::oracle {

struct XmlElement {
  std::string ns;    // namespace URI, "" if none
  std::string name;  // local name
  std::map<std::string, std::string> attributes;  // by local name; xmlns declarations left out
  std::string text;  // character data directly inside, whitespace kept
  std::vector<XmlElement> children;

  // The first child with this local name (in this element's namespace), or null.
  const XmlElement* Child(std::string_view local) const;
};

inline constexpr int kMaxXmlDepth = 32;
inline constexpr std::size_t kMaxXmlElements = 20'000;

// Errors: kInvalidArgument "XML: <what> at line L, column C".
Status ParseXml(std::string_view doc, XmlElement* root);

// Escapes text for element content or a double-quoted attribute.
std::string XmlEscape(std::string_view text);

}  // namespace nanum::oracle
