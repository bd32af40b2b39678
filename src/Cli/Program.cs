// The `cochlea` command line: dispatches the first argument to a command.
using Cochlea.Cli;

return Commands.Run(args);
