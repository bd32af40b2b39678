// Bench entry point. `compare <what> [--json]` runs a side-by-side comparison against an anchor
// library (see Compare/CompareRegistry.cs for what exists); anything else goes to BenchmarkDotNet.
using BenchmarkDotNet.Running;
using Cochlea.Bench.Compare;

namespace Cochlea.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare") return CompareRunner.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
