// adashta hub: for whoever hosts a plugin hub: make one, make a publisher key, publish.
#include <iostream>

#include "adashta/plugins/hub_keys.hpp"
#include "adashta/plugins/hub_publish.hpp"
#include "args.hpp"
#include "commands.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kHelp = R"(Usage: adashta hub init DIR
       adashta hub keygen --out FILE [--label LABEL]
       adashta hub publish DIR PLUGIN_FOLDER --key FILE

A plugin hub is a folder with index.json and the packages' tarballs; serve it with any
static HTTP server (or use the folder itself) and `adashta plugin install --hub URL NAME`
installs from it (docs/plugins.md, "Hubs" and "Publishing").

  init DIR          makes DIR with an empty index.json
  keygen            makes a publisher key: FILE is the secret key (mode 0600, keep it to
                    yourself), FILE.pub its keyring line, which those who install your
                    plugins add to their trusted-keys (or pass with --trust FILE.pub)
  publish DIR PLUGIN_FOLDER
                    packs PLUGIN_FOLDER (its adashta-plugin.json names it and its version)
                    into DIR/NAME-VERSION.tgz, signs it with --key and adds it to the
                    index; a version already on the hub with other content is refused

Options:
  --out FILE        keygen: where the secret key goes (refuses to overwrite)
  --label LABEL     keygen: a name kept beside the key (default: FILE's name)
  --key FILE        publish: the secret key from `adashta hub keygen`
  --help            this text
)";

constexpr Flag kFlags[] = {{"out", true}, {"label", true}, {"key", true}, {"help", false}};

int usage() {
    std::cerr << kHelp;
    return 2;
}

int keygen(const Args& args) {
    if (args.positional.size() != 1) return usage();
    if (!args.has("out"))
        return fail(make_error(Errc::bad_option, "hub keygen: give --out FILE, where the secret key goes"));
    const std::string file = args.value("out");
    const std::string label = args.value("label", file.substr(file.rfind('/') + 1));
    const plugins::SigningKey key = plugins::SigningKey::generate();
    if (auto saved = key.save(file, label); !saved) return fail(saved.error());
    std::cout << "key id: " << key.key_id() << "\n"
              << "wrote " << file << " (secret, 0600) and " << file << ".pub (its keyring line)\n"
              << "keyring line: " << plugins::keyring_line(key.public_key(), label) << "\n";
    return 0;
}

int publish(const Args& args) {
    if (args.positional.size() != 3) return usage();
    if (!args.has("key"))
        return fail(make_error(Errc::bad_option, "hub publish: give --key FILE, the secret key from `adashta hub "
                                                 "keygen` (packages on a hub are signed)"));
    auto key = plugins::SigningKey::load(args.value("key"));
    if (!key) return fail(key.error());
    auto v = plugins::publish(args.positional[1], args.positional[2], *key);
    if (!v) return fail(v.error());
    std::cout << "published " << v->name << " " << v->version << ": " << args.positional[1] << "/" << v->file
              << " (" << v->size << " bytes, sha256 " << v->sha256 << ", signed by key " << v->key << ")\n";
    return 0;
}

}  // namespace

int cmd_hub(int argc, char** argv) {
    auto args = parse_args(argc, argv, kFlags, "hub");
    if (!args) return fail(args.error());
    if (args->has("help")) {
        std::cout << kHelp;
        return 0;
    }
    if (args->positional.empty()) return usage();
    const std::string& sub = args->positional[0];
    if (sub == "init") {
        if (args->positional.size() != 2) return usage();
        if (auto made = plugins::init_hub(args->positional[1]); !made) return fail(made.error());
        std::cout << "made the hub " << args->positional[1] << " (an empty index.json); publish into it with "
                  << "`adashta hub publish " << args->positional[1] << " PLUGIN_FOLDER --key FILE`\n";
        return 0;
    }
    if (sub == "keygen") return keygen(*args);
    if (sub == "publish") return publish(*args);
    constexpr std::string_view kSubcommands[] = {"init", "keygen", "publish"};
    std::string detail = "hub: unknown subcommand \"" + sub + "\"";
    if (auto close = nearest(sub, kSubcommands)) detail += " (did you mean " + std::string{*close} + "?)";
    return fail(make_error(Errc::bad_option, detail + "; run `adashta hub --help`"));
}

}  // namespace adashta::cli
