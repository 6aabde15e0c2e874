#include "proxy/init/command_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

extern char** environ;

namespace weft::proxy::init {
namespace {

void closeBoth(int fds[2]) {
  close(fds[0]);
  close(fds[1]);
}

}  // namespace

CommandResult runCommand(const std::vector<std::string>& args, std::string_view input) {
  CommandResult result;
  if (args.empty()) {
    result.output = "no command";
    return result;
  }
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.output = "pipe failed";
    return result;
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    closeBoth(in_pipe);
    result.output = "pipe failed";
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (spawned != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    result.output = args[0] + ": cannot be run (" + std::string(strerror(spawned)) + ")";
    return result;
  }
  // A tool that exits without reading its input must not kill us with SIGPIPE.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);
  while (!input.empty()) {
    const ssize_t written = write(in_pipe[1], input.data(), input.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    input.remove_prefix(static_cast<size_t>(written));
  }
  close(in_pipe[1]);
  sigaction(SIGPIPE, &previous, nullptr);
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(out_pipe[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    result.output.append(buffer, static_cast<size_t>(got));
  }
  close(out_pipe[0]);
  int status = 0;
  pid_t waited = 0;
  do {
    waited = waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited != pid) {
    // (SIGCHLD ignored by whoever started us reaps the child itself: no status to read.)
    result.output.append(args[0] + ": its exit status could not be read (" +
                         std::string(strerror(errno)) + ")\n");
    return result;
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace weft::proxy::init
