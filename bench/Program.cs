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
        if (args.Length > 0 && args[0] == "gpu-audit") return GpuStepAudit.Run(args[1..]);
        if (args.Length > 1 && args[0] == "lab" && args[1] == "gemm") return Lab.GemmLab.Run(args[2..]);
        if (args.Length > 1 && args[0] == "lab" && args[1] == "gemmpack") return Lab.GemmPackLab.Run(args[2..]);
        if (args.Length > 1 && args[0] == "lab" && args[1] == "conv") return Lab.ConvLab.Run(args[2..]);
        if (args.Length > 1 && args[0] == "lab" && args[1] == "kws") return Lab.KwsLab.Run(args[2..]);
        if (args.Length > 1 && args[0] == "lab" && args[1] == "features") return Lab.FeaturesLab.Run(args[2..]);
        if (args.Length > 1 && args[0] == "lab" && args[1] == "resnet") return Lab.ResNetLab.Run(args[2..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
