// adashta keys: makes and shows the CURVE key pairs mesh members authenticate with.
#include <iostream>

#include "adashta/mesh/keys.hpp"
#include "args.hpp"
#include "commands.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kHelp = R"(Usage: adashta keys new FILE [--name NAME]
       adashta keys show FILE

Mesh members (edges, server nodes, the CLI's tools) prove who they are with CURVE key
pairs, and accept only the keys in their allow-list (docs/security.md).

  new FILE      makes a key pair: FILE holds the public key (hand it out, list it in the
                allow-list), FILE_secret both keys (mode 0600; give it to that member only,
                as --mesh-key or ADASHTA_MESH_KEY). Refuses to overwrite FILE.
  show FILE     prints the public key (Z85) of FILE or FILE_secret

Options:
  --name NAME   a label kept in the key file (default: FILE's name)
  --help        this text

Allow-list lines (--mesh-allow FILE): KEY ROLES [tcp://HOST:PORT] [# NAME], where ROLES is
edge, node and tool joined by commas, and the endpoint (for members others dial as seeds)
lets them find the key of the seed they dial.
)";

constexpr Flag kFlags[] = {{"name", true}, {"help", false}};

}  // namespace

int cmd_keys(int argc, char** argv) {
    auto args = parse_args(argc, argv, kFlags, "keys");
    if (!args) return fail(args.error());
    if (args->has("help")) {
        std::cout << kHelp;
        return 0;
    }
    if (args->positional.size() != 2 ||
        (args->positional[0] != "new" && args->positional[0] != "show")) {
        std::cerr << kHelp;
        return 2;
    }
    const std::string& file = args->positional[1];
    if (args->positional[0] == "new") {
        if (std::FILE* existing = std::fopen(file.c_str(), "r")) {
            std::fclose(existing);
            return fail(make_error(Errc::bad_key, "\"" + file +
                                                      "\" exists; remove it first or pick "
                                                      "another name (keys are not overwritten)"));
        }
        const mesh::KeyPair pair = mesh::KeyPair::generate();
        const std::string name = args->value("name", file.substr(file.rfind('/') + 1));
        if (auto saved = pair.save(file, name); !saved) return fail(saved.error());
        std::cout << "public key: " << pair.public_key << "\n"
                  << "wrote " << file << " (public) and " << file << "_secret (secret, 0600)\n"
                  << "allow-list line: " << pair.public_key << " node  # " << name << "\n";
        return 0;
    }
    auto public_key = mesh::read_public_key(file);
    if (!public_key) return fail(public_key.error());
    std::cout << *public_key << "\n";
    return 0;
}

}  // namespace adashta::cli
