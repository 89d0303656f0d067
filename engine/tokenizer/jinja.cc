#include "engine/tokenizer/jinja.h"

#include <utility>

#include "common/status_macros.h"
#include "engine/tokenizer/jinja_parser.h"
#include "engine/tokenizer/jinja_renderer.h"

namespace baton::engine::tokenizer {

absl::StatusOr<std::unique_ptr<JinjaTemplate>> JinjaTemplate::Parse(std::string_view source) {
  ASSIGN_OR_RETURN(std::vector<jinja::Node> nodes, jinja::ParseTemplate(source));
  return std::unique_ptr<JinjaTemplate>(new JinjaTemplate(std::move(nodes)));
}

absl::StatusOr<std::string> JinjaTemplate::Render(const JinjaValue& context) const {
  return jinja::RenderTemplate(nodes_, context);
}

}  // namespace baton::engine::tokenizer
