// berth: the command-line client of berthd. It talks the Engine API over
// HTTP and links nothing of the daemon.
#include "cli_version.hpp"
#include "command.hpp"

#include <Poco/Net/SSLManager.h>

#include <csignal>

int main(int argc, char** argv) {
  using namespace berth::cli;
  Context ctx;
  CLI::App app{"A self-sufficient runtime for containers", "berth"};
  app.set_version_flag("-v,--version",
                       std::string("berth version ") + kCliVersion + ", build " + kCliGitCommit);
  app.require_subcommand(1);
  app.add_option("-H,--host", ctx.globals.host, "Daemon socket to connect to (BERTH_HOST)");
  app.add_flag("--tls", ctx.globals.tls, "Use TLS; implied by --tlsverify");
  app.add_flag("--tlsverify", ctx.globals.tls_verify, "Use TLS and verify the remote");
  app.add_option("--tlscacert", ctx.globals.tls_ca, "Trust certs signed only by this CA");
  app.add_option("--tlscert", ctx.globals.tls_cert, "Path to TLS certificate file");
  app.add_option("--tlskey", ctx.globals.tls_key, "Path to TLS key file");
  app.add_flag("-D,--debug", ctx.globals.debug, "Enable debug mode");
  app.add_option("-l,--log-level", ctx.globals.log_level,
                 "Set the logging level (debug, info, warn, error, fatal)");

  add_version_command(app, ctx);
  add_info_command(app, ctx);
  add_plugin_command(app, ctx);
  add_image_commands(app, ctx);
  add_container_commands(app, ctx);
  add_network_commands(app, ctx);
  add_volume_commands(app, ctx);
  add_login_commands(app, ctx);
  add_system_commands(app, ctx);
  add_builder_commands(app, ctx);

  // A daemon that answers early and closes while a tar is still being
  // uploaded must give an error, not kill the CLI.
  std::signal(SIGPIPE, SIG_IGN);
  Poco::Net::initializeSSL();
  int code = 0;
  try {
    app.parse(pflag_args(app, argc, argv));
  } catch (const CLI::CallForHelp& e) {
    code = app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    code = app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    code = app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Docker's usage errors: the message, a pointer to --help, exit 125.
    std::string command = "berth";
    for (const CLI::App* sub = &app; sub != nullptr;) {
      auto subs = sub->get_subcommands();
      sub = subs.empty() ? nullptr : subs.front();
      if (sub != nullptr) command += " " + sub->get_name();
    }
    std::cerr << "berth: " << e.what() << "\nSee '" << command << " --help'.\n";
    code = 125;
  } catch (const CliError& e) {
    // An empty message only carries an exit status (a container's).
    if (*e.what() != '\0') std::cerr << e.what() << "\n";
    code = e.exit_code();
  }
  Poco::Net::uninitializeSSL();
  return code;
}
