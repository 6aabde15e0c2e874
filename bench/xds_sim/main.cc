// weft-xds-sim: N simulated proxies on N xDS streams from one process, to load a control plane
// the way a mesh of N sidecars does. Each proxy subscribes, follows the references of what it
// receives, ACKs every response and reconnects with weft-proxy's backoff. A small line
// protocol on stdin (or --commands) waits for all of them to be synced and measures how long
// an endpoint change takes to reach every proxy that should get it; answers are JSON lines on
// stdout (bench/xds_sim/control_commands.h). bench/xds_scale.py drives it.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/xds_sim/simulator.h"
#include "common/app/command_line.h"

namespace {

// One node per line: "<namespace> <workload-name> [<node-id>]"; '#' starts a comment. The id
// defaults to "<workload-name>-sim<line>.<namespace>", unique even when two proxies front the
// same workload.
bool readNodes(const std::string& path, size_t limit, std::vector<weft::v1::Node>& nodes,
               std::string& error) {
  std::ifstream file(path);
  if (!file) {
    error = "cannot read " + path;
    return false;
  }
  std::string line;
  size_t number = 0;
  while (std::getline(file, line) && (limit == 0 || nodes.size() < limit)) {
    ++number;
    const std::string text = line.substr(0, line.find('#'));
    std::istringstream words(text);
    std::string namespace_;
    std::string workload;
    std::string id;
    if (!(words >> namespace_)) {
      continue;
    }
    if (!(words >> workload)) {
      error = path + ":" + std::to_string(number) + ": expected <namespace> <workload-name>";
      return false;
    }
    if (!(words >> id)) {
      id = workload + "-sim" + std::to_string(nodes.size()) + "." + namespace_;
    }
    weft::v1::Node node;
    node.set_id(id);
    node.set_namespace_(namespace_);
    node.set_workload_name(workload);
    node.set_proxy_version("weft-xds-sim");
    nodes.push_back(std::move(node));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weft-xds-sim", "many simulated proxies on xDS streams, for control-plane scale tests",
      "weft-xds-sim --server 127.0.0.1:<port> --nodes <file> [options]"};
  std::string server;
  std::string nodes_path;
  std::string mode_text = "sotw";
  std::string commands;
  size_t proxies = 0;
  size_t per_channel = 100;
  unsigned backoff_base_ms = 500;
  unsigned backoff_max_ms = 30000;
  po::options_description options("Options");
  options.add_options()("server", po::value(&server),
                        "host:port of the control plane's xDS server")(
      "nodes", po::value(&nodes_path),
      "file with one proxy per line: <namespace> <workload-name> [<node-id>]")(
      "proxies", po::value(&proxies)->default_value(proxies),
      "simulate only the first N nodes of the file (0: all)")(
      "streams-per-channel", po::value(&per_channel)->default_value(per_channel),
      "streams multiplexed on one gRPC channel (one TCP connection)")(
      "mode", po::value(&mode_text)->default_value(mode_text),
      "discovery variant: sotw (state of the world, the only one simulated so far)")(
      "backoff-base-ms", po::value(&backoff_base_ms)->default_value(backoff_base_ms),
      "reconnect backoff: first nominal delay (equal jitter: half to all of it)")(
      "backoff-max-ms", po::value(&backoff_max_ms)->default_value(backoff_max_ms),
      "reconnect backoff: cap of the nominal delay")(
      "commands", po::value(&commands),
      "control commands separated by ';' instead of stdin; the simulator ends after the last");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  const std::optional<weft::xds_sim::Mode> mode = weft::xds_sim::parseMode(mode_text);
  if (!mode) {
    std::cerr << "weft-xds-sim: --mode must be sotw\n";
    return 2;
  }
  if (server.empty() || nodes_path.empty()) {
    std::cerr << "weft-xds-sim: --server and --nodes are required (see --help)\n";
    return 2;
  }
  weft::xds_sim::SimulatorOptions sim;
  sim.server = server;
  sim.mode = *mode;
  sim.streams_per_channel = per_channel;
  sim.backoff.base = std::chrono::milliseconds(backoff_base_ms);
  sim.backoff.max = std::chrono::milliseconds(backoff_max_ms);
  if (std::string error; !readNodes(nodes_path, proxies, sim.nodes, error)) {
    std::cerr << "weft-xds-sim: " << error << "\n";
    return 2;
  }
  if (sim.nodes.empty()) {
    std::cerr << "weft-xds-sim: no nodes in " << nodes_path << "\n";
    return 2;
  }

  boost::asio::io_context loop;
  auto work = boost::asio::make_work_guard(loop);
  weft::xds_sim::Simulator simulator(
      loop, std::move(sim), [](const std::string& line) { std::cout << line << std::endl; },
      [&] {
        work.reset();
        loop.stop();
      });
  simulator.start();
  struct CommandInput {
    std::mutex mutex;
    boost::asio::io_context* loop = nullptr;  // guarded by mutex
  };
  auto input = std::make_shared<CommandInput>();
  input->loop = &loop;

  if (values.count("commands") != 0) {
    std::string script = commands + ";quit";
    boost::asio::post(loop, [&simulator, script] {
      std::istringstream lines(script);
      for (std::string line; std::getline(lines, line, ';');) {
        simulator.command(line);
      }
    });
  } else {
    // A blocking reader: commands go to the loop as they come; EOF quits. The thread may still
    // be blocked in read when main returns, so it reaches the loop only through `input`, which
    // main clears first.
    std::thread([input, &simulator] {
      auto post = [&](std::string line) {
        std::lock_guard lock(input->mutex);
        if (input->loop != nullptr) {
          boost::asio::post(*input->loop, [&simulator, line] { simulator.command(line); });
        }
      };
      for (std::string line; std::getline(std::cin, line);) {
        post(line);
      }
      post("quit");
    }).detach();
  }
  loop.run();
  {
    std::lock_guard lock(input->mutex);
    input->loop = nullptr;
  }
  return 0;
}
