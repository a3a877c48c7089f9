// hamon completion bash: a bash completion script, made from the command line's own definition
// (every subcommand and option the app knows), so it never falls behind the commands.
#include <CLI/CLI.hpp>

#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"

namespace hamon::cli {
namespace {

struct Level {
  std::string path;                // the subcommands that lead here, space-separated
  std::vector<std::string> words;  // what may come next: subcommands, then options
};

void walk(const CLI::App& app, const std::string& path, std::vector<Level>& levels,
          std::set<std::string>& valued) {
  Level level{path, {}};
  // Option groups are nameless subcommands to CLI11: not words anyone types.
  const auto subs =
      app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
  for (const auto* sub : subs) level.words.push_back(sub->get_name());
  for (const auto* opt : app.get_options()) {
    if (!opt->nonpositional()) continue;
    for (const auto& l : opt->get_lnames()) {
      level.words.push_back("--" + l);
      if (opt->get_expected_max() != 0) valued.insert("--" + l);
    }
    for (const auto& s : opt->get_snames()) {
      level.words.push_back("-" + s);
      if (opt->get_expected_max() != 0) valued.insert("-" + s);
    }
  }
  levels.push_back(level);
  for (const auto* sub : subs) {
    walk(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), levels, valued);
  }
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Names are the app's own (letters, digits, '-'): nothing in them needs quoting beyond "…".
std::string bash_script(const CLI::App& root) {
  std::vector<Level> levels;
  std::set<std::string> valued;
  walk(root, "", levels, valued);
  std::string s =
      "# bash completion for hamon (made by `hamon completion bash`)\n"
      "_hamon() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path='' next i\n"
      "  # The subcommands typed so far; option values and other words are passed over.\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    next=\"$path${path:+ }${COMP_WORDS[i]}\"\n"
      "    case \"$next\" in\n";
  for (const auto& l : levels) {
    if (!l.path.empty()) s += "      \"" + l.path + "\") path=$next ;;\n";
  }
  s += "    esac\n"
       "  done\n"
       "  # An option that takes a value: a file name is the likeliest.\n"
       "  case \"$prev\" in\n";
  if (!valued.empty()) {
    std::string alternatives;
    for (const auto& v : valued) alternatives += (alternatives.empty() ? "" : "|") + v;
    s += "    " + alternatives + ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
  }
  s += "  esac\n"
       "  local words=''\n"
       "  case \"$path\" in\n";
  for (const auto& l : levels) {
    s += "    \"" + l.path + "\") words=\"" + joined(l.words) + "\" ;;\n";
  }
  s += "  esac\n"
       "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
       "}\n"
       "complete -o default -F _hamon hamon\n";
  return s;
}

}  // namespace

void add_completion(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("completion", "print a shell completion script (bash)");
  static std::string shell;
  cmd->add_option("SHELL", shell, "the shell: bash")->required()->check(CLI::IsMember({"bash"}));
  cmd->callback([&app, &exit_code] {
    std::cout << bash_script(app);
    exit_code = exit_ok;
  });
}

}  // namespace hamon::cli
