// The XML reader; see xml.h. A recursive-descent parser over the whole document in memory.
#include "meter_oracle/xml.h"

#include <cstdint>

namespace nanum::oracle {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// An element as read, before its prefix is resolved.
struct RawAttr {
  std::string qname, value;
};

class Parser {
 public:
  explicit Parser(std::string_view doc) : in_(doc) {}

  Status Document(XmlElement* root) {
    if (in_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a UTF-8 byte order mark
    NANUM_RETURN_IF_ERROR(Misc(true));
    if (Eof() || Peek() != '<') return Error("expected the root element");
    std::vector<std::map<std::string, std::string>> scopes;
    scopes.push_back({{"xml", "http://www.w3.org/XML/1998/namespace"}});
    NANUM_RETURN_IF_ERROR(Element(root, &scopes, 1));
    NANUM_RETURN_IF_ERROR(Misc(false));
    if (!Eof()) return Error("content after the root element");
    return Status::OK();
  }

 private:
  bool Eof() const { return pos_ >= in_.size(); }
  char Peek() const { return in_[pos_]; }
  bool StartsWith(std::string_view s) const { return in_.substr(pos_, s.size()) == s; }
  void SkipSpace() {
    while (!Eof() && IsSpace(Peek())) ++pos_;
  }

  Status Error(std::string_view what) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < in_.size(); ++i) {
      if (in_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return Status::InvalidArgument("XML: " + std::string(what) + " at line " + std::to_string(line) + ", column " +
                                   std::to_string(column));
  }

  // Whitespace, comments and processing instructions around the root. `prolog`: the XML
  // declaration may come first, and a DOCTYPE is refused.
  Status Misc(bool prolog) {
    for (;;) {
      SkipSpace();
      if (StartsWith("<?")) {
        NANUM_RETURN_IF_ERROR(Skip("<?", "?>", "processing instruction"));
      } else if (StartsWith("<!--")) {
        NANUM_RETURN_IF_ERROR(Skip("<!--", "-->", "comment"));
      } else if (StartsWith("<!")) {
        return Error(prolog ? "DOCTYPE declarations are not accepted" : "unexpected markup");
      } else {
        return Status::OK();
      }
    }
  }

  Status Skip(std::string_view open, std::string_view close, std::string_view what) {
    const std::size_t end = in_.find(close, pos_ + open.size());
    if (end == std::string_view::npos) return Error("unterminated " + std::string(what));
    pos_ = end + close.size();
    return Status::OK();
  }

  Status Name(std::string* out) {
    if (Eof() || !IsNameStart(Peek())) return Error("expected a name");
    const std::size_t start = pos_;
    while (!Eof() && IsNameChar(Peek())) ++pos_;
    out->assign(in_.substr(start, pos_ - start));
    return Status::OK();
  }

  // Character data up to `stop` (exclusive), with references decoded.
  Status Text(char stop, std::string* out) {
    while (!Eof() && Peek() != stop) {
      const char c = Peek();
      if (c == '&') {
        NANUM_RETURN_IF_ERROR(Reference(out));
      } else if (c == '<') {
        return Error("'<' in an attribute value");
      } else {
        out->push_back(c);
        ++pos_;
      }
    }
    return Status::OK();
  }

  Status Reference(std::string* out) {
    const std::size_t end = in_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) return Error("unterminated character reference");
    const std::string_view ref = in_.substr(pos_ + 1, end - pos_ - 1);
    if (ref == "lt") {
      out->push_back('<');
    } else if (ref == "gt") {
      out->push_back('>');
    } else if (ref == "amp") {
      out->push_back('&');
    } else if (ref == "quot") {
      out->push_back('"');
    } else if (ref == "apos") {
      out->push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return Error("bad character reference");
      std::uint32_t cp = 0;
      for (char d : digits) {
        std::uint32_t v;
        if (d >= '0' && d <= '9') {
          v = static_cast<std::uint32_t>(d - '0');
        } else if (hex && d >= 'a' && d <= 'f') {
          v = static_cast<std::uint32_t>(d - 'a' + 10);
        } else if (hex && d >= 'A' && d <= 'F') {
          v = static_cast<std::uint32_t>(d - 'A' + 10);
        } else {
          return Error("bad character reference");
        }
        cp = cp * (hex ? 16 : 10) + v;
        if (cp > 0x10ffff) return Error("bad character reference");
      }
      if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) return Error("bad character reference");
      AppendUtf8(cp, out);
    } else {
      return Error("unknown entity &" + std::string(ref) + ";");
    }
    pos_ = end + 1;
    return Status::OK();
  }

  static std::string_view Prefix(std::string_view qname) {
    const auto colon = qname.find(':');
    return colon == std::string_view::npos ? std::string_view() : qname.substr(0, colon);
  }
  static std::string_view Local(std::string_view qname) {
    const auto colon = qname.find(':');
    return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
  }

  Status Element(XmlElement* e, std::vector<std::map<std::string, std::string>>* scopes, int depth) {
    if (depth > kMaxXmlDepth) return Error("elements nested too deeply");
    if (++elements_ > kMaxXmlElements) return Error("too many elements");
    ++pos_;  // '<'
    std::string qname;
    NANUM_RETURN_IF_ERROR(Name(&qname));
    std::vector<RawAttr> attrs;
    std::map<std::string, std::string> scope;
    bool empty = false;
    for (;;) {
      const std::size_t before = pos_;
      SkipSpace();
      if (Eof()) return Error("unterminated start tag <" + qname + ">");
      if (StartsWith("/>")) {
        pos_ += 2;
        empty = true;
        break;
      }
      if (Peek() == '>') {
        ++pos_;
        break;
      }
      if (pos_ == before) return Error("expected whitespace before an attribute");
      RawAttr a;
      NANUM_RETURN_IF_ERROR(Name(&a.qname));
      SkipSpace();
      if (Eof() || Peek() != '=') return Error("expected '=' after attribute " + a.qname);
      ++pos_;
      SkipSpace();
      if (Eof() || (Peek() != '"' && Peek() != '\'')) return Error("expected a quoted attribute value");
      const char quote = Peek();
      ++pos_;
      NANUM_RETURN_IF_ERROR(Text(quote, &a.value));
      if (Eof()) return Error("unterminated attribute value");
      ++pos_;
      for (const RawAttr& b : attrs) {
        if (b.qname == a.qname) return Error("duplicate attribute " + a.qname);
      }
      if (a.qname == "xmlns") {
        scope[""] = a.value;
      } else if (Prefix(a.qname) == "xmlns") {
        if (a.value.empty()) return Error("a namespace prefix cannot be undeclared");
        scope[std::string(Local(a.qname))] = a.value;
      }
      attrs.push_back(std::move(a));
    }
    // Resolve this element's name in its own scope and its parents'.
    scopes->push_back(std::move(scope));
    const std::string prefix(Prefix(qname));
    bool found = false;
    for (auto it = scopes->rbegin(); it != scopes->rend(); ++it) {
      auto p = it->find(prefix);
      if (p != it->end()) {
        e->ns = p->second;
        found = true;
        break;
      }
    }
    if (!found && !prefix.empty()) return Error("undeclared namespace prefix " + prefix);
    e->name = std::string(Local(qname));
    for (RawAttr& a : attrs) {
      if (a.qname == "xmlns" || Prefix(a.qname) == "xmlns") continue;
      if (!e->attributes.emplace(std::string(Local(a.qname)), std::move(a.value)).second) {
        return Error("duplicate attribute " + std::string(Local(a.qname)));
      }
    }
    if (!empty) NANUM_RETURN_IF_ERROR(Content(e, qname, scopes, depth));
    scopes->pop_back();
    return Status::OK();
  }

  Status Content(XmlElement* e, const std::string& qname, std::vector<std::map<std::string, std::string>>* scopes,
                 int depth) {
    for (;;) {
      if (Eof()) return Error("unclosed element <" + qname + ">");
      if (StartsWith("</")) {
        pos_ += 2;
        std::string close;
        NANUM_RETURN_IF_ERROR(Name(&close));
        if (close != qname) return Error("</" + close + "> closes <" + qname + ">");
        SkipSpace();
        if (Eof() || Peek() != '>') return Error("expected '>'");
        ++pos_;
        return Status::OK();
      }
      if (StartsWith("<!--")) {
        NANUM_RETURN_IF_ERROR(Skip("<!--", "-->", "comment"));
      } else if (StartsWith("<![CDATA[")) {
        const std::size_t end = in_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return Error("unterminated CDATA section");
        e->text.append(in_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (StartsWith("<?")) {
        NANUM_RETURN_IF_ERROR(Skip("<?", "?>", "processing instruction"));
      } else if (StartsWith("<!")) {
        return Error("unexpected markup");
      } else if (Peek() == '<') {
        e->children.emplace_back();
        NANUM_RETURN_IF_ERROR(Element(&e->children.back(), scopes, depth + 1));
      } else if (Peek() == '&') {
        NANUM_RETURN_IF_ERROR(Reference(&e->text));
      } else {
        e->text.push_back(Peek());
        ++pos_;
      }
    }
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
};

}  // namespace

const XmlElement* XmlElement::Child(std::string_view local) const {
  for (const XmlElement& c : children) {
    if (c.name == local && c.ns == ns) return &c;
  }
  return nullptr;
}

Status ParseXml(std::string_view doc, XmlElement* root) {
  *root = XmlElement();
  return Parser(doc).Document(root);
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace nanum::oracle
