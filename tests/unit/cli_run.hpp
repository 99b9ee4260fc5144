// Runs a berth command line in-process for the CLI's unit tests: parses
// `berth <args>` on an app the test set up, with `input` as stdin, and
// captures stdout, stderr and the error it failed with.
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "command.hpp"

namespace berth::cli::test_support {

// What a command line did: its output, the message and exit code it failed
// with (empty and 0 when it succeeded).
struct Outcome {
  std::string out, err, error;
  int code = 0;
};

inline Outcome run_cli(CLI::App& app, const std::vector<std::string>& args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  struct Redirect {
    std::streambuf* in;
    std::streambuf* out;
    std::streambuf* err;
    ~Redirect() {
      std::cin.rdbuf(in);
      std::cout.rdbuf(out);
      std::cerr.rdbuf(err);
    }
  } redirect{std::cin.rdbuf(in.rdbuf()), std::cout.rdbuf(out.rdbuf()), std::cerr.rdbuf(err.rdbuf())};
  std::vector<const char*> argv{"berth"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Outcome o;
  try {
    app.parse(pflag_args(app, static_cast<int>(argv.size()), argv.data()));
  } catch (const CliError& e) {
    o.error = e.what();
    o.code = e.exit_code();
  } catch (const CLI::ParseError& e) {
    o.error = e.what();
    o.code = 125;
  }
  std::cout.flush();
  std::cerr.flush();
  o.out = out.str();
  o.err = err.str();
  return o;
}

}  // namespace berth::cli::test_support
