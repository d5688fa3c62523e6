#include "adashta/plugins/json_schema.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <string>

namespace adashta::plugins::json_schema {

namespace {

// What a failed keyword means, in words a plugin's user reads in a start-up error.
std::string explain(std::string_view keyword) {
    struct Phrase {
        std::string_view keyword, words;
    };
    static constexpr Phrase kPhrases[] = {
        {"type", "has the wrong type"},
        {"required", "lacks a member the schema requires"},
        {"additionalProperties", "has a member the schema does not allow"},
        {"enum", "is not one of the values the schema allows"},
        {"maximum", "is above the schema's maximum"},
        {"minimum", "is below the schema's minimum"},
        {"maxLength", "is longer than the schema allows"},
        {"minLength", "is shorter than the schema allows"},
        {"pattern", "does not match the schema's pattern"},
        {"maxItems", "has more items than the schema allows"},
        {"minItems", "has fewer items than the schema allows"},
        {"uniqueItems", "has items that repeat"},
        {"multipleOf", "is not a multiple the schema allows"},
    };
    for (const auto& p : kPhrases)
        if (p.keyword == keyword) return std::string{p.words};
    return "fails the schema's \"" + std::string{keyword} + "\"";
}

template <class Pointer>
std::string fragment(const Pointer& pointer) {
    rapidjson::StringBuffer out;
    pointer.StringifyUriFragment(out);
    return out.GetString();
}

Result<rapidjson::Document> parse(std::string_view text, std::string_view what) {
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError())
        return make_error(Errc::bad_plugin, std::string{what} + " is not JSON (byte " +
                                                std::to_string(doc.GetErrorOffset()) + ": " +
                                                rapidjson::GetParseError_En(doc.GetParseError()) + ")");
    return doc;
}

}  // namespace

Status check_schema(std::string_view schema) {
    auto doc = parse(schema, "the schema");
    if (!doc) return doc.error();
    if (!doc->IsObject())
        return make_error(Errc::bad_plugin,
                          "must be a JSON Schema object, e.g. {\"type\": \"object\", \"properties\": {}}");
    // RapidJSON fetches no remote schemas: a $ref outside the document would be ignored.
    const rapidjson::Value* ref = doc->HasMember("$ref") ? &(*doc)["$ref"] : nullptr;
    if (ref && ref->IsString() && ref->GetString()[0] != '#')
        return make_error(Errc::bad_plugin, "\"$ref\" must point into the schema itself (\"#/...\")");
    return {};
}

Status validate(std::string_view schema, std::string_view instance, std::string_view where) {
    auto schema_doc = parse(schema, std::string{where} + ": the schema");
    if (!schema_doc) return schema_doc.error();
    auto doc = parse(instance, where);
    if (!doc) return doc.error();
    const rapidjson::SchemaDocument compiled(*schema_doc);
    rapidjson::SchemaValidator validator(compiled);
    if (doc->Accept(validator)) return {};
    std::string at = fragment(validator.GetInvalidDocumentPointer());  // "#/port"
    if (!at.empty() && at[0] == '#') at.erase(0, 1);
    return make_error(Errc::bad_plugin, std::string{where} + at + ": " +
                                            explain(validator.GetInvalidSchemaKeyword()) + " (" +
                                            fragment(validator.GetInvalidSchemaPointer()) + ")");
}

}  // namespace adashta::plugins::json_schema
